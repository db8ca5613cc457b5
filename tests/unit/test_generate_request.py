"""The generate request: every seed's example is accepted as written and normalised the same way."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from avatarsmith.models.api import GenerateAvatarRequest

PI_EXAMPLE = {
    "prompt": "confident founder vibe for a fintech app, modest professional outfit",
    "hints": {
        "filter_culture": "middle_east",
        "avatar_composition": "Portrait",
        "art_direction": "Ultra Realistic",
    },
    "output": {"aspect_ratio": "auto", "resolution": "1K", "thinking_intensity": "minimal"},
    "client_reference_id": "workflow-run-123-step-7",
    "metadata": {"workflow": "lead-enrichment", "customer_id": "cus_123"},
}
KONPRO_EXAMPLE = {
    "name": "John Doe",
    "age": "Young Adult",
    "gender": "Man",
    "ethnicity": "East Asian",
    "orientation": "square",
    "pose": "close_up",
    "style": "Realistic",
    "appearance": "A confident young man with short black hair and brown eyes",
    "callback_url": "https://example.com/callback",
    "callback_id": "avatarGen123",
}
PERCIFY_EXAMPLE = {
    "prompt": "cyberpunk warrior, neon lights, futuristic city, dramatic lighting",
    "model": "flux",
    "negative_prompt": "blurry, low quality, distorted, extra limbs",
    "aspect_ratio": "16:9",
    "guidance_scale": 7.5,
    "seed": 42,
    "num_variations": 2,
    "style": "cyberpunk",
}
AI302_EXAMPLE = {
    "image": "data:image/png;base64,iVBORw0KGgo=",
    "style": 1,
    "person_type": "female",
    "custom_prompt": "",
    "num": 1,
    "width": 1024,
    "height": 768,
    "model": "gpt-4o-mini",
}


def test_pi_example_is_accepted_and_auto_aspect_uses_the_default_square() -> None:
    request = GenerateAvatarRequest.model_validate(PI_EXAMPLE)
    attributes = request.merged_attributes()
    output = request.output_spec(attributes)
    assert (output.width, output.height) == (1024, 1024)
    assert request.hint_map()["thinking_intensity"] == "minimal"
    assert request.client_reference_id == "workflow-run-123-step-7"


def test_konpro_example_maps_labels_to_attributes() -> None:
    request = GenerateAvatarRequest.model_validate(KONPRO_EXAMPLE)
    attributes = request.merged_attributes()
    assert attributes.gender == "male"
    assert attributes.age == "young_adult"
    assert attributes.ethnicity == "east_asian"
    assert attributes.pose == "close_up"
    assert attributes.name == "John Doe"
    assert request.style_name() == "realistic"
    assert request.description() == KONPRO_EXAMPLE["appearance"]


def test_percify_example_with_top_level_aspect_ratio() -> None:
    request = GenerateAvatarRequest.model_validate(PERCIFY_EXAMPLE)
    output = request.output_spec(request.merged_attributes())
    assert (output.width, output.height) == (1024, 576)
    assert request.variations() == 2
    assert request.style_name() == "cyberpunk"


def test_302_example_integer_style_person_type_and_lenient_sizes() -> None:
    request = GenerateAvatarRequest.model_validate(AI302_EXAMPLE)
    attributes = request.merged_attributes()
    assert attributes.gender == "female"
    assert request.style_name() == "professional"
    assert request.reference_inputs() == [AI302_EXAMPLE["image"]]
    assert (request.output_spec(attributes).width, request.output_spec(attributes).height) == (1024, 768)


def test_302_out_of_range_values_are_treated_as_documented() -> None:
    request = GenerateAvatarRequest.model_validate({"prompt": "x", "num": 9, "width": 99999, "height": 5})
    output = request.output_spec(request.merged_attributes())
    assert request.variations() == 1
    assert (output.width, output.height) == (1024, 1024)


def test_302_custom_prompt_makes_style_ignored() -> None:
    request = GenerateAvatarRequest.model_validate({"custom_prompt": "a wizard", "style": 4})
    assert request.style_name() is None


def test_orientation_and_resolution_set_the_size() -> None:
    request = GenerateAvatarRequest.model_validate(
        {"prompt": "x", "attributes": {"orientation": "vertical"}, "output": {"resolution": "2K"}}
    )
    output = request.output_spec(request.merged_attributes())
    assert (output.width, output.height) == (1152, 2048)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"prompt": "x" * 5001}, "prompt"),
        ({"prompt": "x", "reference_images": ["aGk="] * 7}, "reference_images"),
        ({"prompt": "x", "metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"prompt": "x", "metadata": {"k": "v" * 501}}, "metadata.k"),
        ({"prompt": "x", "seed": 2_147_483_648}, "seed"),
        ({"prompt": "x", "seed": -1}, "seed"),
        ({"prompt": "x", "output": {"aspect_ratio": "2:1"}}, "output.aspect_ratio"),
        ({"prompt": "x", "aspect_ratio": "5:4"}, "aspect_ratio"),
        ({"prompt": "x", "num_variations": 5}, "num_variations"),
        ({"prompt": "x", "guidance_scale": 25}, "guidance_scale"),
        ({"prompt": "x", "output": {"width": 5000}}, "output.width"),
        ({"prompt": "x", "output": {"format": "gif"}}, "output.format"),
        ({"prompt": "x", "style": "watercolour"}, "style"),
        ({"prompt": "x", "gender": "robot"}, "gender"),
        ({"prompt": "x", "pose": "upside_down"}, "pose"),
        ({"prompt": "x", "client_reference_id": "c" * 201}, "client_reference_id"),
        ({"prompt": "x", "unknown_field": 1}, "unknown_field"),
        ({"prompt": "x", "callback_url": "not a url"}, "callback_url"),
    ],
)
def test_out_of_limit_input_is_a_validation_error_naming_the_field(body: dict, loc: str) -> None:
    with pytest.raises(ValidationError) as info:
        GenerateAvatarRequest.model_validate(body)
    locs = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert loc in locs


def test_two_description_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="one field only"):
        GenerateAvatarRequest.model_validate({"prompt": "a", "appearance": "b"})
