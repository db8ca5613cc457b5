"""The offline studio (renderer studio-3): attributes and keywords mapped to the drawn person, the
negative prompt's veto, guidance_scale tiers. Photo avatars: tests/unit/test_photo_avatars.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec
from avatarsmith.renderer.imaging import finalize
from avatarsmith.renderer.simple import SKIN_TONES, describe_person, render_variation

ASTRONAUT = (Path(__file__).resolve().parents[1] / "fixtures" / "astronaut.jpg").read_bytes()
# Where the face is in the 512x512 public-domain astronaut portrait (a hand-checked bound, not a detector
# output): the face centre lies in this box.
FACE_CENTRE_BOX = (190, 80, 300, 180)


def _spec(**changes: object) -> GenerationSpec:
    base: dict[str, object] = {
        "model": "avatarsmith-studio",
        "seed": 7,
        "output": OutputSpec(width=256, height=256),
        "style": "realistic",
    }
    base.update(changes)
    return GenerationSpec(**base)


def _png(spec: GenerationSpec, references: list[bytes] | None = None, index: int = 0) -> bytes:
    return finalize(
        render_variation(spec, index, references or []), spec.output.width, spec.output.height, "png"
    )[0]


def _encoded(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# --- keywords and attributes ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prompt", "field", "expected"),
    [
        ("a man with sunglasses", "glasses", "sun"),
        ("a woman wearing reading glasses", "glasses", "clear"),
        ("a man with a beard", "beard", "short"),
        ("wizard with a long beard", "beard", "long"),
        ("a man with a moustache", "moustache", True),
        ("a woman in a hijab", "headwear", "hijab"),
        ("a man in a fedora", "headwear", "fedora"),
        ("a kid in a beanie", "headwear", "beanie"),
        ("a winking woman", "eye_state", "wink"),
        ("a laughing man", "mouth", "laugh"),
        ("a serious man", "mouth", "serious"),
        ("a smiling woman", "mouth", "smile"),
        ("a woman with her hair in a bun", "bun", True),
        ("a man with an afro", "afro", True),
        ("a bald man", "hair", None),
        ("a full body portrait of a woman", "pose", "full_body"),
        ("upper body shot of a man", "pose", "half_body"),
        ("an elderly woman", "senior", True),
        ("a little girl", "kid", True),
    ],
)
def test_prompt_keywords_map_to_the_person(prompt: str, field: str, expected: object) -> None:
    # Given a prompt naming a feature
    # When the person is described (across several seeds, so no seed can pass it by chance)
    for seed in range(5):
        person = describe_person(_spec(prompt=prompt, seed=seed), 0)
        # Then the feature is there
        assert getattr(person, field) == expected, (seed, person)


def test_hair_and_eye_colours_follow_the_prompt() -> None:
    person = describe_person(_spec(prompt="a woman with pink hair and green eyes"), 0)
    assert person.hair == (0xF0, 0x7F, 0xB0) and person.eyes == (0x4F, 0x8A, 0x4C)


@pytest.mark.parametrize(
    ("prompt", "negative", "field", "vetoed"),
    [
        ("man with a beard", "beard", "beard", None),
        ("woman with sunglasses", "sunglasses, blur", "glasses", None),
        ("man in a hat", "hat", "headwear", None),
        ("smiling woman", "smile", "mouth", "neutral"),
        ("man with a moustache", "moustache", "moustache", False),
    ],
)
def test_the_negative_prompt_vetoes_the_features_it_names(
    prompt: str, negative: str, field: str, vetoed: object
) -> None:
    # Given a prompt asking for a feature and a negative prompt naming it
    for seed in range(5):
        # When the person is described
        person = describe_person(_spec(prompt=prompt, negative_prompt=negative, seed=seed), 0)
        # Then the feature is not drawn
        assert getattr(person, field) == vetoed


def test_a_vetoed_feature_leaves_the_rest_of_the_image_untouched() -> None:
    # Given the same person with a beard, and with the beard vetoed
    vetoed = _spec(prompt="man with a beard", negative_prompt="beard", guidance_scale=15)
    plain = _spec(prompt="man with a", guidance_scale=15)
    # When both are rendered
    # Then the pixels are those of the person without the beard
    assert _png(vetoed) == _png(plain)
    assert _png(_spec(prompt="man with a beard", guidance_scale=15)) != _png(plain)


def test_structured_attributes_win_over_prompt_keywords() -> None:
    # Given attributes saying male senior East Asian and a prompt saying a young white girl
    attributes = Attributes(gender="male", age="senior", ethnicity="East Asian")
    conflicting = _spec(attributes=attributes, prompt="a little white girl")
    agreeing = _spec(attributes=attributes, prompt="a little white")
    # When both are described and rendered
    person = describe_person(conflicting, 0)
    # Then the attributes decided, and the conflicting words changed nothing
    assert person.masculine and person.senior and not person.kid
    assert _png(conflicting) == _png(agreeing)


def test_kid_person_type_draws_a_child_without_a_beard() -> None:
    person = describe_person(_spec(attributes=Attributes(person_type="kid"), prompt="boy with a beard"), 0)
    assert person.kid and person.beard is None and not person.senior


def test_ethnicity_attribute_picks_the_skin_tone_range() -> None:
    # Given many seeds for two ethnicities
    dark = {
        describe_person(_spec(seed=s, attributes=Attributes(ethnicity="Black")), 0).skin for s in range(12)
    }
    light = {
        describe_person(_spec(seed=s, attributes=Attributes(ethnicity="White")), 0).skin for s in range(12)
    }
    # Then the tones never overlap and the dark ones are darker
    assert not dark & light
    assert max(sum(c) for c in dark) < min(sum(c) for c in light)


def test_low_guidance_lets_the_seed_override_keywords_and_high_guidance_applies_all() -> None:
    # Given a prompt with two features, over many seeds
    kept_low = kept_high = 0
    for seed in range(40):
        low = describe_person(
            _spec(prompt="man with sunglasses and a beard", seed=seed, guidance_scale=2.5), 0
        )
        high = describe_person(
            _spec(prompt="man with sunglasses and a beard", seed=seed, guidance_scale=9), 0
        )
        kept_low += (low.glasses == "sun") + (low.beard is not None)
        kept_high += (high.glasses == "sun") + (high.beard is not None)
    # Then guidance 2.5 keeps roughly (2.5-1)/4 = 37% of keywords and guidance 9 keeps them all
    assert kept_high == 80
    assert 12 <= kept_low <= 48
    # And guidance 1 ignores every keyword: the image is the same as without them
    assert _png(_spec(prompt="man with glasses", guidance_scale=1)) == _png(
        _spec(prompt="man with", guidance_scale=1)
    )


def test_strict_guidance_adds_no_seeded_accessories() -> None:
    # Given seniors (who often get seeded glasses) over many seeds
    balanced = [describe_person(_spec(prompt="old woman", seed=s), 0) for s in range(30)]
    strict = [describe_person(_spec(prompt="old woman", seed=s, guidance_scale=15), 0) for s in range(30)]
    # Then the balanced tier gives some of them glasses and the strict tier none
    assert any(p.glasses for p in balanced)
    assert not any(p.glasses or p.headwear for p in strict)


@pytest.mark.parametrize(
    "prompt",
    [
        "a woman in a hijab",
        "a man in a fedora with a long beard",
        "a winking kid in a cap",
        "woman, afro, laughing",
    ],
)
@pytest.mark.parametrize("pose", ["close_up", "half_body", "full_body"])
def test_new_features_render_in_every_pose(prompt: str, pose: str) -> None:
    # Given a feature-heavy prompt in each pose at a portrait ratio
    spec = _spec(prompt=prompt, attributes=Attributes(pose=pose), output=OutputSpec(width=180, height=320))
    # When it is rendered
    image = render_variation(spec, 0, [])
    # Then it has exactly the size
    assert image.size == (180, 320)


def test_five_repeated_renders_are_byte_identical() -> None:
    spec = _spec(
        prompt="woman in a hijab, smiling", style="cyberpunk", output=OutputSpec(width=300, height=200)
    )
    assert len({_png(spec) for _ in range(5)}) == 1


def test_a_hint_can_carry_cultural_context() -> None:
    # Given Pi-style hints and no prompt
    spec = _spec(hints={"filter_culture": "middle_east", "avatar_composition": "upper body"})
    # When the person is described
    person = describe_person(spec, 0)
    # Then the hints picked the skin-tone range and the pose
    assert person.pose == "half_body"
    assert all(
        describe_person(_spec(seed=s, hints={"filter_culture": "middle_east"}), 0).skin in SKIN_TONES[2:5]
        for s in range(10)
    )
