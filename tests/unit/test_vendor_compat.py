"""Vendor mappings in the layer: 302.AI's form read as its JSON body, Pi's hints as steering, Percify's
aliases, and the composer keeping the user's text within a model's prompt limit."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from avatarsmith import catalog
from avatarsmith.compat import ai302, konpro, pi
from avatarsmith.errors import CapabilityUnsupportedError, InvalidRequestError
from avatarsmith.logic.jobs import check_backend_limits
from avatarsmith.logic.prompting import compose_within, prompt_budget
from avatarsmith.models.api import GenerateAvatarRequest
from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
BOUNDARY = "b0und4ry"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _form(*parts: tuple[str, bytes, str | None, str | None]) -> bytes:
    out = b""
    for name, value, filename, media_type in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"Content-Disposition: {disposition}\r\n".encode()
        if media_type:
            out += f"Content-Type: {media_type}\r\n".encode()
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def test_form_fields_become_the_json_body_with_the_image_as_a_data_url() -> None:
    body = ai302.form_to_body(
        _form(
            ("image", PNG, "me.png", "application/octet-stream"),
            ("style", b"1", None, None),
            ("person_type", b"female", None, None),
            ("num", b"9", None, None),
            ("width", b"1024", None, None),
            ("height", b" 768 ", None, None),
            ("custom_prompt", b"", None, None),
            ("model", b"gpt-4o-mini", None, None),
        ),
        CONTENT_TYPE,
    )
    assert body == {
        "image": "data:image/png;base64," + base64.b64encode(PNG).decode(),
        "style": "1",
        "person_type": "female",
        "num": 9,
        "width": 1024,
        "height": 768,
        "model": "gpt-4o-mini",
    }
    request = GenerateAvatarRequest.model_validate(body)
    assert request.variations() == 1 and request.style_name() == "professional"


def test_form_image_may_be_a_url_or_data_url_string() -> None:
    for value in ("https://example.com/me.jpg", "data:image/png;base64,iVBORw0KGgo="):
        body = ai302.form_to_body(_form(("image", value.encode(), None, None)), CONTENT_TYPE)
        assert body == {"image": value}


@pytest.mark.parametrize(
    ("form", "content_type", "message"),
    [
        (_form(("style", b"1", "s.txt", "text/plain")), CONTENT_TYPE, "text field"),
        (_form(("image", b"", "me.png", "image/png")), CONTENT_TYPE, "empty"),
        (_form(("num", b"1", None, None), ("num", b"2", None, None)), CONTENT_TYPE, "more than once"),
        (b"--x\r\nnot a form", "multipart/form-data", "boundary"),
        (_form(("num", b"\xff\xfe", None, "text/plain; charset=utf-8")), CONTENT_TYPE, "not text"),
    ],
)
def test_unreadable_forms_are_invalid_requests(form: bytes, content_type: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        ai302.form_to_body(form, content_type)


def test_pi_hints_steer_style_pose_and_culture_and_leave_the_prompt() -> None:
    body = pi.native_body(
        pi.PiGenerateRequest.model_validate(
            {
                "prompt": "founder",
                "hints": {
                    "art_direction": "Ultra Realistic",
                    "avatar_composition": "Portrait",
                    "filter_culture": "middle_east",
                    "mood": "calm",
                },
            }
        )
    )
    request = GenerateAvatarRequest.model_validate(body)
    attributes = request.merged_attributes()
    assert request.style_name() == "realistic"
    assert (attributes.pose, attributes.ethnicity) == ("close_up", "middle_east")
    assert request.hint_map() == {"mood": "calm"}


def test_pi_hints_yield_to_explicit_fields_and_unknown_values_stay_hints() -> None:
    request = GenerateAvatarRequest.model_validate(
        {
            "prompt": "x",
            "style": "noir",
            "pose": "full_body",
            "hints": {"art_direction": "Watercolour", "avatar_composition": "Half Body"},
        }
    )
    assert request.style_name() == "noir" and request.merged_attributes().pose == "full_body"
    assert request.hint_map() == {"art_direction": "Watercolour"}


def test_pi_requires_a_non_empty_prompt() -> None:
    for body in ({}, {"prompt": ""}, {"prompt": "  "}, {"prompt": "x" * 5001}):
        with pytest.raises(ValidationError):
            pi.PiGenerateRequest.model_validate(body)


def test_konpro_appearance_is_at_most_1000_characters() -> None:
    konpro.KonProGenerateRequest.model_validate({"appearance": "a" * 1000})
    with pytest.raises(ValidationError):
        konpro.KonProGenerateRequest.model_validate({"appearance": "a" * 1001})


def test_percify_aliases() -> None:
    request = GenerateAvatarRequest.model_validate({"prompt": "x", "cfg_scale": 9, "num_images": 3})
    assert request.guidance() == 9 and request.variations() == 3
    with pytest.raises(ValidationError, match="not both"):
        GenerateAvatarRequest.model_validate({"prompt": "x", "cfg_scale": 9, "guidance_scale": 9})
    with pytest.raises(ValidationError):
        GenerateAvatarRequest.model_validate({"prompt": "x", "num_images": 5})


def _spec(prompt: str, negative: str | None = None, **attributes: str) -> GenerationSpec:
    return GenerationSpec(
        prompt=prompt,
        negative_prompt=negative,
        model="avatarsmith-studio",
        style="professional",
        attributes=Attributes(**attributes),  # type: ignore[arg-type]
        hints={"mood": "calm"},
        output=OutputSpec(width=512, height=512),
        seed=1,
    )


def test_the_name_is_never_written_into_the_prompt() -> None:
    prompt, notes = compose_within(_spec("a chef", name="John Doe", gender="male"))
    assert "John Doe" not in prompt and "man" in prompt and notes == []


def test_composer_leaves_out_its_additions_to_fit_and_says_so() -> None:
    text = "y" * 4990
    prompt, notes = compose_within(_spec(text, pose="close_up"), 5000)
    assert text in prompt and len(prompt) <= 5000
    assert "left out" in notes[0] and "hints" in notes[0] and "style" in notes[0]
    full, _ = compose_within(_spec(text, pose="close_up"))
    assert "Professional style" in full and "mood: calm" in full


def test_default_model_takes_5000_and_a_lower_limit_is_capability_unsupported() -> None:
    studio = catalog.find_model(catalog.DEFAULT_MODEL, include_test=False)
    assert studio is not None
    check_backend_limits(studio, _spec("p" * 5000, "n" * 5000))
    titan = catalog.find_route("titan-image-v2", "bedrock")
    assert titan is not None
    with pytest.raises(CapabilityUnsupportedError, match=r"titan-image-v2.*512"):
        check_backend_limits(titan, _spec("p" * 513))
    assert prompt_budget(titan, _spec("p", "n" * 100)) == 512  # a separate negative prompt
    openai = catalog.find_route("gpt-image-1", "openai")
    assert openai is not None and "negative_prompt" not in openai.capabilities
    folded = openai.max_prompt_chars - len(". Avoid: ") - 100  # the negative is folded into the prompt
    assert prompt_budget(openai, _spec("p", "n" * 100)) == folded


def test_the_openapi_document_describes_the_vendor_routes() -> None:
    from routes.docs import openapi_document

    from functions.api.app import app

    spec = openapi_document(app)
    paths = spec["paths"]
    for path, method in (
        ("/api/v1/avatars/generate", "post"),
        ("/api/v1/jobs/{job_id}", "get"),
        ("/api/v1/avatars/save", "post"),
        ("/api/v1/avatars", "get"),
        ("/api/v1/avatars/{avatar_id}", "get"),
        ("/v1/photo_avatar/photo/generate", "post"),
    ):
        assert method in paths[path], path
    pi_body = paths["/api/v1/avatars/generate"]["post"]["requestBody"]["content"]["application/json"]
    assert pi_body["schema"]["$ref"].endswith("/PiGenerateRequest")
    schemas = spec["components"]["schemas"]
    appearance = schemas["KonProGenerateRequest"]["properties"]["appearance"]
    assert {"type": "string", "maxLength": 1000} in appearance["anyOf"]
    assert {"expand", "limit", "offset"} <= {
        p["name"]
        for op in (paths["/api/v1/jobs/{job_id}"]["get"], paths["/api/v1/avatars"]["get"])
        for p in op["parameters"]
    }


def test_the_published_openapi_document_has_the_form_data_variant() -> None:
    from routes.docs import openapi_document

    from functions.api.app import app

    documented = openapi_document(app)
    content = documented["paths"]["/v1/avatars/generate"]["post"]["requestBody"]["content"]
    form = content["multipart/form-data"]["schema"]
    assert {"image", "style", "person_type", "custom_prompt", "num", "width", "height", "model"} <= set(
        form["properties"]
    )
    assert {"type": "string", "format": "binary"} in form["properties"]["image"]["oneOf"]


# --- the vendors' exact answers (issue 26) --------------------------------------------------------------
def test_pi_job_ids_are_uuids_of_the_same_128_bits_both_ways() -> None:
    from avatarsmith.ids import id_as_uuid, job_id_as_uuid, job_id_from_pi, new_job_id

    for _ in range(200):
        job_id = new_job_id()
        shown = job_id_as_uuid(job_id)
        assert str(uuid.UUID(shown)) == shown  # the 8-4-4-4-12 form Pi documents
        assert job_id_from_pi(shown) == job_id
        assert job_id_from_pi(shown.upper()) == job_id and job_id_from_pi(shown.replace("-", "")) == job_id
        assert job_id_from_pi(job_id) == job_id  # ours is still taken
    earlier = new_job_id()
    time.sleep(0.002)
    later = new_job_id()
    assert job_id_as_uuid(earlier) < job_id_as_uuid(later)  # time order survives
    assert id_as_uuid("job_short") is None and id_as_uuid("job_" + "!" * 26) is None
    assert job_id_from_pi("not-a-uuid") == "not-a-uuid"  # looked up as given: not found


def test_pi_answers_show_the_uuid() -> None:
    from avatarsmith.ids import job_id_as_uuid

    job = _completed_job()
    accepted = pi.present_accepted(job)
    assert accepted["data"]["job_id"] == job_id_as_uuid(job.id)
    uuid.UUID(accepted["data"]["job_id"])


def _completed_job() -> Any:
    from tests.integration.stored_fixtures import completed_job

    return completed_job("ten_01m97000000000000000000000")


@pytest.mark.parametrize("body", [{"prompt": ""}, {"prompt": "   "}, {"prompt": "\n\t"}])
def test_a_blank_prompt_is_an_invalid_prompt_on_native_and_pi_requests(body: dict[str, str]) -> None:
    for model in (GenerateAvatarRequest, pi.PiGenerateRequest):
        with pytest.raises(ValidationError) as caught:
            model.model_validate(body)
        error = caught.value.errors()[0]
        assert error["type"] == "invalid_prompt" and error["loc"] == ("prompt",)
        assert "Invalid Prompt" in error["msg"]
    # 302.AI's custom_prompt and KonPro's appearance are optional: empty means not given
    assert GenerateAvatarRequest.model_validate({"custom_prompt": "", "style": 1}).style_name() is not None
    assert GenerateAvatarRequest.model_validate({"appearance": ""}).description() is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"3", 3), (b" 2 ", 2), (b"99", 99), (b"-1", -1), (b"abc", "abc"), (b"1.5", "1.5"), (b"+4", 4)],
)
def test_form_numbers_are_read_as_numbers_and_junk_is_left_for_validation(
    value: bytes, expected: Any
) -> None:
    body = ai302.form_to_body(_form(("num", value, None, None), ("seed", b"42", None, None)), CONTENT_TYPE)
    assert body["num"] == expected and body["seed"] == 42


def test_a_form_number_of_5000_digits_is_a_400_naming_the_field() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        ai302.form_to_body(_form(("num", b"9" * 5000, None, None)), CONTENT_TYPE)
    assert caught.value.param == "num" and caught.value.status_code == 400


def test_form_out_of_range_values_fall_back_as_302ai_documents() -> None:
    body = ai302.form_to_body(
        _form(("num", b"99", None, None), ("width", b"99999", None, None), ("height", b"1", None, None)),
        CONTENT_TYPE,
    )
    request = GenerateAvatarRequest.model_validate({**body, "prompt": "x"})
    spec = request.output_spec(request.merged_attributes())
    assert request.variations() == 1 and (spec.width, spec.height) == (1024, 1024)


@pytest.mark.parametrize("value", [True, "2", 1.0, 2.5])
def test_json_integers_are_strict_where_an_integer_is_documented(value: Any) -> None:
    for field in ("num_variations", "num_images", "num", "seed", "width", "deadline_seconds"):
        with pytest.raises(ValidationError) as caught:
            GenerateAvatarRequest.model_validate({"prompt": "x", field: value})
        assert caught.value.errors()[0]["loc"][0] == field
