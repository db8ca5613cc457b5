"""The offline studio (renderer studio-2): attributes and keywords mapped to the drawn person, the
negative prompt's veto, guidance_scale tiers, and photo avatars framed on the face OpenCV finds (or,
without OpenCV, where a portrait's face usually is)."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec
from avatarsmith.renderer import photo
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


@pytest.fixture
def without_opencv(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Simulate a deployment without the optional `studio` extra (the Lambda zip)."""
    monkeypatch.setattr(photo, "_import_cv2", lambda: None)
    monkeypatch.setattr(photo, "_local", photo.threading.local())
    yield
    photo._local = photo.threading.local()


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


# --- photo path ----------------------------------------------------------------------------------
def test_opencv_finds_the_astronauts_face() -> None:
    pytest.importorskip("cv2")
    # Given the public-domain astronaut portrait
    image = photo.decode_reference(ASTRONAUT, 0, (512, 512))
    # When a face is looked for
    face = photo.find_face(image)
    # Then one is found where the face is
    assert face is not None and face.detected
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    x0, y0, x1, y1 = FACE_CENTRE_BOX
    assert x0 <= cx <= x1 and y0 <= cy <= y1
    assert 60 <= face.h <= 160


def test_a_rotated_photo_is_turned_upright_before_looking_for_the_face() -> None:
    pytest.importorskip("cv2")
    # Given the portrait stored sideways with an EXIF orientation tag saying "rotate 90"
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = Image.open(io.BytesIO(ASTRONAUT)).transpose(Image.Transpose.ROTATE_90)
    data = _encoded(sideways, exif=exif.tobytes(), quality=92)
    # When the reference is chosen
    chosen = photo.choose_reference([data], (256, 256))
    # Then the face is found in the upright image
    assert chosen.face.detected
    assert chosen.image.size == (512, 512)


def test_pose_decides_how_much_of_the_person_the_crop_shows() -> None:
    pytest.importorskip("cv2")
    reference = photo.choose_reference([ASTRONAUT], (256, 256))
    widths = {}
    for pose in ("close_up", "half_body", "full_body"):
        x0, y0, x1, y1 = photo.frame_box(reference.image.size, reference.face, (256, 256), pose)
        widths[pose] = x1 - x0
        # the face is inside every crop
        assert x0 <= reference.face.x and reference.face.x + reference.face.w <= x1
        assert y0 <= reference.face.y and reference.face.y + reference.face.h <= y1
    assert widths["close_up"] < widths["half_body"] < widths["full_body"]


def test_the_largest_face_among_several_photos_is_chosen() -> None:
    pytest.importorskip("cv2")
    # Given a small copy of the portrait, a faceless photo, and the full-size portrait
    small = _encoded(Image.open(io.BytesIO(ASTRONAUT)).resize((256, 256)))
    faceless = _encoded(Image.frombytes("RGB", (800, 800), random.Random(3).randbytes(800 * 800 * 3)))
    # When the reference is chosen
    chosen = photo.choose_reference([small, faceless, ASTRONAUT], (256, 256))
    # Then it is the full-size portrait (the largest face), not the largest image
    assert chosen.index == 2 and chosen.face.detected


@pytest.mark.usefixtures("without_opencv")
def test_without_opencv_the_face_is_assumed_in_the_upper_centre() -> None:
    # Given no OpenCV
    assert not photo.face_detection_available()
    # When the astronaut is chosen and framed close up
    reference = photo.choose_reference([ASTRONAUT], (256, 256))
    # Then the face is assumed (not detected) in the upper centre, and the avatar still renders
    assert not reference.face.detected
    assert reference.face.y + reference.face.h / 2 == pytest.approx(512 * 0.36)
    image = render_variation(_spec(attributes=Attributes(pose="close_up")), 0, [ASTRONAUT])
    assert image.size == (256, 256)


def test_with_and_without_opencv_the_crop_differs_but_each_is_deterministic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("cv2")
    spec = _spec(style="noir", attributes=Attributes(pose="close_up"))
    detected = {_png(spec, [ASTRONAUT]) for _ in range(3)}
    monkeypatch.setattr(photo, "_import_cv2", lambda: None)
    monkeypatch.setattr(photo, "_local", photo.threading.local())
    assumed = {_png(spec, [ASTRONAUT]) for _ in range(3)}
    assert len(detected) == len(assumed) == 1
    assert detected != assumed


@pytest.mark.parametrize("style", ["anime", "pixar", "noir", "vintage", "cyberpunk", "cinematic", "fantasy"])
def test_each_style_changes_the_photo(style: str) -> None:
    # Given the portrait framed without a style and with one
    plain = render_variation(_spec(style=None), 0, [ASTRONAUT])
    styled = render_variation(_spec(style=style), 0, [ASTRONAUT])
    # Then the style visibly changed the pixels, at the same size
    assert styled.size == plain.size == (256, 256)
    difference = sum(abs(a - b) for a, b in zip(plain.tobytes(), styled.tobytes(), strict=True))
    assert difference / len(plain.tobytes()) > 4


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


def test_concurrent_photo_renders_in_threads_give_identical_bytes() -> None:
    # Given the local stack's situation: several jobs rendering photos at once in threads
    spec = _spec(style="cinematic", attributes=Attributes(pose="half_body"))
    expected = _png(spec, [ASTRONAUT])
    # When eight renders run on four threads
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _png(spec, [ASTRONAUT]), range(8)))
    # Then every one is byte-identical to the single-threaded render
    assert set(results) == {expected}
