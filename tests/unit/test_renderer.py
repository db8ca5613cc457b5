"""The offline renderer and the encoder: exact sizes, byte-identical output, style filters, and reference
images that must not take the process down."""

from __future__ import annotations

import hashlib
import io
import os
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from avatarsmith import catalog
from avatarsmith.errors import InvalidReferenceImageError
from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec
from avatarsmith.renderer.imaging import content_type_for, extension_for, finalize
from avatarsmith.renderer.simple import RENDERER_VERSION, load_reference, render_variation

ROOT = Path(__file__).resolve().parents[2]
STYLE_NAMES: list[str | None] = [None, "unknown-style", *(s.name for s in catalog.STYLES)]


def _spec(**changes: object) -> GenerationSpec:
    base: dict[str, object] = {
        "model": "avatarsmith-studio",
        "seed": 42,
        "output": OutputSpec(width=320, height=320),
        "style": "noir",
        "prompt": "smiling woman with red hair and glasses",
    }
    base.update(changes)
    return GenerationSpec(**base)


def _png(spec: GenerationSpec, index: int = 0, references: list[bytes] | None = None) -> bytes:
    image = render_variation(spec, index, references or [])
    return finalize(image, spec.output.width, spec.output.height, "png")[0]


def _encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _noisy(size: tuple[int, int], seed: int = 1) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def _png_claiming(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose IHDR (with a valid CRC) claims width x height."""
    data = bytearray(_encoded(Image.new("RGB", (1, 1), "white")))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


# --- size and styles -----------------------------------------------------------------------------
@pytest.mark.parametrize("style", STYLE_NAMES)
def test_every_style_renders_exactly_the_requested_size(style: str | None) -> None:
    # Given a non-square output in each style (and no style, and an unknown one)
    spec = _spec(style=style, output=OutputSpec(width=288, height=200))
    # When variation 0 is rendered
    image = render_variation(spec, 0, [])
    # Then it is an RGB image of exactly that size
    assert image.mode == "RGB"
    assert image.size == (288, 200)


@pytest.mark.parametrize(
    ("width", "height", "aspect", "pose"),
    [
        (256, 256, "1:1", "close_up"),
        (512, 288, "16:9", "half_body"),
        (288, 512, "9:16", "full_body"),
        (640, 480, "4:3", None),
        (480, 640, "3:4", "close_up"),
        (257, 131, None, "full_body"),
    ],
)
def test_sizes_aspects_and_poses_are_exact(
    width: int, height: int, aspect: str | None, pose: str | None
) -> None:
    # Given an output size, aspect ratio and pose
    spec = _spec(
        style="pixar",
        output=OutputSpec(width=width, height=height, aspect_ratio=aspect),
        attributes=Attributes(pose=pose, person_type="kid" if width == 257 else None),
    )
    # When it is rendered
    image = render_variation(spec, 0, [])
    # Then the image has exactly that size
    assert image.size == (width, height)


def test_style_aliases_and_ids_render_like_the_named_preset() -> None:
    # Given the same spec with a preset's name, id and alias
    named, by_id, alias = (_spec(style=s) for s in ("realistic", "6", "photorealistic"))
    # When each is rendered
    # Then all three produce the same bytes
    assert _png(named) == _png(by_id) == _png(alias)


def test_noir_is_greyscale() -> None:
    # Given a noir render of a colourful prompt
    image = render_variation(_spec(style="noir", prompt="woman with pink hair in a red dress"), 0, [])
    # When its channels are compared
    r, g, b = image.split()
    # Then every pixel is grey
    assert r.tobytes() == g.tobytes() == b.tobytes()


def test_cinematic_has_letterbox_bars() -> None:
    # Given a cinematic 16:9 render
    image = render_variation(_spec(style="cinematic", output=OutputSpec(width=320, height=180)), 0, [])
    # When the top and bottom rows are read
    # Then they are black bars
    assert image.getpixel((160, 0)) == (0, 0, 0)
    assert image.getpixel((160, 179)) == (0, 0, 0)
    assert image.getpixel((160, 90)) != (0, 0, 0)


def test_glasses_follow_the_prompt_unless_the_negative_prompt_forbids_them() -> None:
    # Given the same person with and without glasses in the negative prompt
    wanted = _spec(style="realistic", prompt="man with glasses")
    forbidden = _spec(style="realistic", prompt="man with glasses", negative_prompt="glasses, blur")
    plain = _spec(style="realistic", prompt="man with")
    # When they are rendered
    # Then the forbidden glasses are not drawn (same pixels as no glasses) and the wanted ones are
    assert _png(forbidden) == _png(plain)
    assert _png(wanted) != _png(plain)


# --- determinism ---------------------------------------------------------------------------------
def test_same_spec_and_seed_give_byte_identical_png_three_times() -> None:
    # Given one spec
    spec = _spec()
    # When it is rendered and encoded three times
    outputs = {_png(spec) for _ in range(3)}
    # Then the bytes are identical
    assert len(outputs) == 1


def test_same_spec_gives_identical_bytes_in_another_python_process() -> None:
    # Given a script that renders the same spec in a fresh interpreter (its own hash seed)
    script = (
        "import hashlib\n"
        "from avatarsmith.models.domain import GenerationSpec, OutputSpec\n"
        "from avatarsmith.renderer.simple import render_variation\n"
        "from avatarsmith.renderer.imaging import finalize\n"
        "spec = GenerationSpec(model='avatarsmith-studio', seed=42, output=OutputSpec(width=320, height=320),"
        " style='noir', prompt='smiling woman with red hair and glasses')\n"
        "for fmt in ('png', 'webp', 'jpeg'):\n"
        "    data = finalize(render_variation(spec, 1, []), 320, 320, fmt)[0]\n"
        "    print(hashlib.sha256(data).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "common"), "PYTHONHASHSEED": "random"}
    # When it runs twice in separate processes
    runs = [
        subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout.split()
        for _ in range(2)
    ]
    # Then both processes and this one produce the same bytes in every format
    here = [
        hashlib.sha256(finalize(render_variation(_spec(), 1, []), 320, 320, f)[0]).hexdigest()
        for f in ("png", "webp", "jpeg")
    ]
    assert runs[0] == runs[1] == here


def test_different_seeds_give_different_images() -> None:
    # Given the same spec with two seeds
    # When both are rendered
    # Then the bytes differ
    assert _png(_spec(seed=1)) != _png(_spec(seed=2))


def test_variation_i_is_rendered_from_seed_plus_i() -> None:
    # Given a spec with seed 42
    spec = _spec(seed=42, style="anime", prompt=None)
    # When variation 3 is rendered
    # Then it equals variation 0 of the same spec with seed 45, and differs from variation 0
    assert _png(spec, 3) == _png(_spec(seed=45, style="anime", prompt=None), 0)
    assert _png(spec, 3) != _png(spec, 0)


def test_the_renderer_version_is_stable() -> None:
    assert RENDERER_VERSION == "studio-3"


# --- encoding ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "pil_format"), [("png", "PNG"), ("webp", "WEBP"), ("jpeg", "JPEG")])
@pytest.mark.parametrize(("width", "height"), [(512, 512), (640, 360), (300, 600)])
def test_each_format_decodes_to_the_right_size_with_a_256_thumbnail(
    fmt: str, pil_format: str, width: int, height: int
) -> None:
    # Given a rendered image
    spec = _spec(style="vintage", output=OutputSpec(width=width, height=height, format=fmt))
    image = render_variation(spec, 0, [])
    # When it is finalized in the format
    data, thumb = finalize(image, width, height, fmt)
    # Then both decode in that format; the image has the size, the thumbnail a 256 long side and the aspect
    decoded, small = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(thumb))
    assert (decoded.format, decoded.size) == (pil_format, (width, height))
    assert small.format == pil_format and max(small.size) == 256
    assert abs(small.width / small.height - width / height) < 0.02
    # And encoding again gives the same bytes
    assert finalize(image, width, height, fmt) == (data, thumb)


def test_finalize_accepts_encoded_bytes_crops_to_size_and_strips_metadata() -> None:
    # Given a backend's JPEG of another size, with EXIF and an ICC profile
    exif = Image.Exif()
    exif[0x010E] = "secret description"
    source = _encoded(_noisy((900, 600)), "JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 128)
    # When it is finalized to 400x400 PNG and WebP
    for fmt in ("png", "webp", "jpeg"):
        data, _ = finalize(source, 400, 400, fmt)
        out = Image.open(io.BytesIO(data))
        # Then it is exactly 400x400 with no metadata carried over
        assert out.size == (400, 400)
        assert not out.info.get("exif") and not out.info.get("icc_profile")
        assert b"secret description" not in data


def test_finalize_flattens_transparency_onto_white() -> None:
    # Given a fully transparent RGBA image
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    # When it is finalized
    data, _ = finalize(image, 300, 300, "png")
    # Then the RGB output is white, not black
    assert Image.open(io.BytesIO(data)).convert("RGB").getpixel((10, 10)) == (255, 255, 255)


def test_content_types_and_extensions() -> None:
    assert [content_type_for(f) for f in ("png", "webp", "jpeg")] == ["image/png", "image/webp", "image/jpeg"]
    assert [extension_for(f) for f in ("png", "webp", "jpeg")] == ["png", "webp", "jpg"]
    with pytest.raises(ValueError, match="unsupported image format"):
        extension_for("gif")


# --- reference photos ----------------------------------------------------------------------------
def test_a_reference_photo_is_cropped_to_size_and_styled() -> None:
    # Given a landscape reference photo
    photo = _encoded(_noisy((800, 500)), "JPEG", quality=90)
    # When a portrait 9:16 noir avatar is rendered from it
    image = render_variation(_spec(output=OutputSpec(width=270, height=480)), 0, [photo])
    # Then it has exactly the size and the noir filter made it grey
    assert image.size == (270, 480)
    r, g, b = image.split()
    assert r.tobytes() == g.tobytes() == b.tobytes()


def test_without_faces_the_largest_reference_is_used() -> None:
    # Given a small red and a large blue reference, neither with a face
    small = _encoded(Image.new("RGB", (200, 200), (255, 0, 0)))
    large = _encoded(Image.new("RGB", (600, 400), (0, 0, 255)), "WEBP", lossless=True)
    # When the references are loaded
    image = load_reference([small, large], (256, 256))
    # Then the large blue one was picked
    assert image.size == (600, 400)
    assert image.getpixel((300, 200)) == (0, 0, 255)


def test_exif_orientation_is_applied() -> None:
    # Given a 300x100 JPEG whose EXIF says "rotate 90 degrees"
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = _encoded(Image.new("RGB", (300, 100), "green"), "JPEG", exif=exif.tobytes())
    # When it is loaded
    # Then it is upright: 100x300
    assert load_reference([photo], (256, 256)).size == (100, 300)


BAD_REFERENCES = {
    "random bytes": random.Random(7).randbytes(4096),
    "truncated png": _encoded(_noisy((128, 128)))[:3000],
    "truncated jpeg": _encoded(_noisy((256, 256)), "JPEG")[:4000],
    "bomb (header claims 50000x50000)": _png_claiming(50_000, 50_000),
    "over the 40 MP limit (7000x7000)": _png_claiming(7_000, 7_000),
    "a gif": _encoded(Image.new("P", (10, 10)), "GIF"),
    "empty": b"",
    "absurd dimensions (20000x40)": _encoded(Image.new("L", (20_000, 40))),
    "too small (8x8)": _encoded(Image.new("RGB", (8, 8), "white")),
    "larger than 15 MB": b"\xff\xd8\xff\xe0" + bytes(15 * 1024 * 1024),
}


@pytest.mark.parametrize("name", list(BAD_REFERENCES))
def test_a_bad_reference_is_an_invalid_reference_image_error(name: str) -> None:
    # Given a reference that cannot be decoded safely
    limit_before = Image.MAX_IMAGE_PIXELS
    # When an avatar is rendered from it
    with pytest.raises(InvalidReferenceImageError) as info:
        render_variation(_spec(), 0, [BAD_REFERENCES[name]])
    # Then the error names the reference, and Pillow's global limit is restored
    assert info.value.message.startswith("reference image 0 could not be decoded: ")
    assert info.value.code == "invalid_reference_image"
    assert limit_before == Image.MAX_IMAGE_PIXELS


def test_when_every_reference_is_bad_the_first_failure_is_reported() -> None:
    # Given only bad references
    references = [BAD_REFERENCES["random bytes"], BAD_REFERENCES["truncated png"]]
    # When an avatar is rendered
    # Then it fails naming reference 0
    with pytest.raises(InvalidReferenceImageError, match="reference image 0 could not be decoded"):
        render_variation(_spec(), 0, references)


def test_one_bad_reference_among_good_ones_fails_naming_it() -> None:
    # Given a good photo followed by a truncated one (the user asked for both to be used)
    good = _encoded(_noisy((400, 400)), "JPEG")
    references = [good, BAD_REFERENCES["truncated png"]]
    # When an avatar is rendered
    # Then it fails naming reference 1 instead of silently dropping it
    with pytest.raises(InvalidReferenceImageError, match="reference image 1 could not be decoded"):
        render_variation(_spec(output=OutputSpec(width=256, height=256)), 0, references)
