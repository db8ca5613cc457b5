"""The Bedrock adapter against a strict fake of Bedrock Runtime built from contracts/bedrock.json, reached by
boto3 itself through AWS_ENDPOINT_URL_BEDROCK_RUNTIME (SigV4-signed InvokeModel over loopback HTTP).

Over every aspect ratio the API offers x 1-4 variations x seeds x negative prompts x reference photos
(3000x4000 JPEGs): no request reaches the fake in a shape Bedrock refuses, each job gets the right number
of images in the requested shape, what the model claims (seed, negative prompt, guidance, references)
reaches its field, and every mapping is named in the adjustments. Then the vendor's faults."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest
from PIL import Image

from avatarsmith.backends.contracts import load_contract
from tests.fakes.vendors.bedrock import BedrockVendorFake, bedrock_fake
from tests.integration.vendor_matrix import Case, build_spec, configure, matrix, reference_photos, run

MODELS = {
    # public model id: (Bedrock model id, its region in the catalog)
    "nova-canvas": ("amazon.nova-canvas-v1:0", "us-east-1"),
    "titan-image-v2": ("amazon.titan-image-generator-v2:0", "us-east-1"),
    "reality4": ("stability.sd3-5-large-v1:0", "us-west-2"),
}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    with bedrock_fake(monkeypatch) as fake:
        configure(monkeypatch, "bedrock=eu-central-1")  # the deployment default: no image model there
        yield fake


def _sent_images(body: dict[str, Any]) -> list[bytes]:
    if "image" in body:
        return [base64.b64decode(body["image"])]
    params = body.get("imageVariationParams") or {}
    return [base64.b64decode(i) for i in params.get("images", [])]


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("case", matrix(references=True), ids=lambda c: c.id)
def test_every_accepted_request_reaches_bedrock_in_an_accepted_shape(
    fake: BedrockVendorFake, model: str, case: Case
) -> None:
    model_id, region = MODELS[model]
    spec = build_spec(model, case)
    outputs, adjustments = run("bedrock", spec, reference_photos(case.references))

    assert fake.violations == [], fake.violations
    assert len(outputs) == case.variations
    assert [o.index for o, _ in outputs] == list(range(case.variations))
    for out, final in outputs:
        assert out.error_code is None and final is not None
        assert final.size == (spec.output.width, spec.output.height)
    calls = fake.invocations
    assert {c["model"] for c in calls} == {model_id} and {c["region"] for c in calls} == {region}
    body = calls[-1]["body"]
    if model == "reality4":  # one call per variation, each with its own seed
        assert len(calls) == case.variations
        assert [c["body"]["seed"] for c in calls] == [
            spec.variation_seed(i) or 4_294_967_294 for i in range(case.variations)
        ]
        assert body["prompt"] and (body.get("negative_prompt") == case.negative)
        if case.references:
            assert body["mode"] == "image-to-image" and "aspect_ratio" not in body
            ref = Image.open(io.BytesIO(_sent_images(body)[0]))
            want = spec.output.width / spec.output.height
            assert abs(ref.width / ref.height - want) < 0.01, (
                "the reference was cropped to the requested shape"
            )
        else:
            assert body["mode"] == "text-to-image"
            if case.ratio in ("4:3", "3:4"):
                assert body["aspect_ratio"] == {"4:3": "5:4", "3:4": "4:5"}[case.ratio]
                assert any("cropped/resized" in a for a in adjustments), adjustments
    else:  # Nova / Titan: all variations in one call
        assert len(calls) == 1
        config = body["imageGenerationConfig"]
        assert config["numberOfImages"] == case.variations and config["cfgScale"] == 6
        assert config["seed"] == case.seed % (858_993_460 if model == "nova-canvas" else 2_147_483_647)
        if config["seed"] != case.seed:
            assert any(a.startswith(f"seed {case.seed} sent as") for a in adjustments), adjustments
        params = body["imageVariationParams" if case.references else "textToImageParams"]
        assert body["taskType"] == ("IMAGE_VARIATION" if case.references else "TEXT_IMAGE")
        assert params.get("negativeText") == case.negative
        if (config["width"], config["height"]) != (spec.output.width, spec.output.height):
            assert any(
                a.startswith(f"generated at {config['width']}x{config['height']}") for a in adjustments
            )
    if case.references:
        sent = _sent_images(body)
        assert len(sent) == (1 if model == "reality4" else case.references)
        limits = load_contract("bedrock")["models"][model_id.split(":")[0]]["references"]
        for data in sent:
            w, h = Image.open(io.BytesIO(data)).size
            assert max(w, h) <= limits["max_side"] and len(data) <= limits["max_bytes"]
        assert any("reference images scaled and re-encoded" in a for a in adjustments), adjustments


def test_out_of_range_values_are_mapped_and_named(
    fake: BedrockVendorFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long composed prompt, a guidance beyond cfgScale, six references: mapped, said, accepted."""
    spec = build_spec("titan-image-v2", Case("16:9", 2, 5, "x" * 400, 0), prompt="a knight " * 55)
    spec = spec.model_copy(update={"guidance_scale": 15.0, "reference_images": spec.reference_images})
    _, adjustments = run("bedrock", spec, [])
    assert fake.violations == []
    body = fake.invocations[-1]["body"]
    assert len(body["textToImageParams"]["text"]) <= 512 and body["imageGenerationConfig"]["cfgScale"] == 10
    assert (body["imageGenerationConfig"]["width"], body["imageGenerationConfig"]["height"]) == (1152, 640)
    assert "guidance_scale 15 sent as cfgScale 10" in adjustments
    assert any(a.startswith("prompt shortened to 512") for a in adjustments), adjustments


def test_a_wrong_key_is_an_auth_error_named_for_the_operator(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from avatarsmith.errors import BackendAuthError

    with bedrock_fake(monkeypatch, access_key_id="AKIATHEONETHEFAKEKNOWS") as fake:
        configure(monkeypatch, "bedrock")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGKEY00000000")
        spec = build_spec("nova-canvas", Case("1:1", 1, 1, None, 0))
        with caplog.at_level(logging.ERROR), pytest.raises(BackendAuthError) as raised:
            run("bedrock", spec, [])
        assert raised.value.code == "backend_auth_failed" and "bedrock" in raised.value.message
        assert "UnrecognizedClientException" in raised.value.message
        assert fake.count("invoke") == 1, "no retry inside the call"
        assert any(getattr(r, "backend", None) == "bedrock" for r in caplog.records)
        assert "AKIAWRONGKEY" not in caplog.text and "fake-secret" not in caplog.text


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ThrottlingException", "backend_throttled"),
        ("ServiceUnavailableException", "backend_unavailable"),
        ("InternalServerException", "backend_unavailable"),
        ("ModelTimeoutException", "backend_unavailable"),
        ("ModelNotReadyException", "backend_unavailable"),
        ("AccessDeniedException", "backend_auth_failed"),
        ("ServiceQuotaExceededException", "backend_quota_exhausted"),
        ("ResourceNotFoundException", "backend_model_not_found"),
    ],
)
def test_bedrock_errors_map_to_stable_codes(fake: BedrockVendorFake, code: str, expected: str) -> None:
    from avatarsmith.errors import WorkflowError

    fake.fail_aws(code, "scripted")
    with pytest.raises(WorkflowError) as raised:
        run("bedrock", build_spec("nova-canvas", Case("1:1", 1, 1, None, 0)), [])
    assert raised.value.code == expected
    assert fake.count("invoke") == 1, "the client retries nothing itself: the state machine does"
    assert fake.violations == []


def test_moderation_forms(fake: BedrockVendorFake) -> None:
    from avatarsmith.errors import ContentModeratedError

    fake.block("partial")
    outputs, _ = run("bedrock", build_spec("nova-canvas", Case("1:1", 3, 1, None, 0)), [])
    assert [o.error_code for o, _ in outputs] == [None, None, "content_moderated"]
    for mode in ("all", "input"):
        fake.block(mode)
        with pytest.raises(ContentModeratedError):
            run("bedrock", build_spec("titan-image-v2", Case("1:1", 2, 1, None, 0)), [])
    fake.block("filter")
    outputs, _ = run("bedrock", build_spec("reality4", Case("3:4", 2, 1, None, 0)), [])
    assert [o.error_code for o, _ in outputs] == ["content_moderated", None]
    assert fake.violations == []


def test_the_fake_refuses_what_bedrock_refuses(fake: BedrockVendorFake) -> None:
    """The fake is not a mirror of the adapter: the shapes the old adapter sent are refused."""
    import boto3

    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    cases = [
        (
            "amazon.nova-canvas-v1:0",
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "imageGenerationConfig": {"width": 500, "height": 500},
            },
        ),
        (
            "amazon.titan-image-generator-v2:0",
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "imageGenerationConfig": {"width": 1024, "height": 768},
            },
        ),
        (
            "amazon.nova-canvas-v1:0",
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x", "guidance": 3}},
        ),
        (
            "amazon.nova-canvas-v1:0",
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x", "negativeText": ""}},
        ),
        (
            "amazon.nova-canvas-v1:0",
            {
                "taskType": "IMAGE_VARIATION",
                "imageVariationParams": {"images": [base64.b64encode(reference_photos(1)[0]).decode()]},
            },
        ),
        (
            "amazon.nova-canvas-v1:0",
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "imageGenerationConfig": {"seed": 900_000_000},
            },
        ),
    ]
    from botocore.exceptions import ClientError

    for model, body in cases:
        with pytest.raises(ClientError) as raised:
            client.invoke_model(
                modelId=model, body=__import__("json").dumps(body), contentType="application/json"
            )
        assert raised.value.response["Error"]["Code"] == "ValidationException", body
    assert len(fake.violations) == len(cases)
    west = boto3.client("bedrock-runtime", region_name="eu-central-1")
    with pytest.raises(ClientError):
        west.invoke_model(
            modelId="stability.sd3-5-large-v1:0", body=b'{"prompt": "x"}', contentType="application/json"
        )
    assert "not offered in eu-central-1" in fake.violations[-1]
