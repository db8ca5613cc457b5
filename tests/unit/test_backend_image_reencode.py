"""A backend's image is re-encoded on the job's critical path: same pixels, exact size, no metadata, with
PNG's fast zlib level; the offline renderer's images keep their level-6 bytes."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, PngImagePlugin

from avatarsmith.renderer import imaging


def _photo_png(size: tuple[int, int]) -> bytes:
    image = Image.open("tests/fixtures/astronaut.jpg").convert("RGB").resize(size)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by a vendor")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, compress_level=9)
    return buffer.getvalue()


def test_a_backend_png_at_size_keeps_its_pixels_and_loses_its_metadata() -> None:
    vendor = _photo_png((512, 512))
    stored = imaging.finalize_image(vendor, 512, 512, "png")
    out, original = Image.open(io.BytesIO(stored)), Image.open(io.BytesIO(vendor))
    assert out.size == (512, 512) and out.mode == "RGB"
    assert "Comment" in original.info and "Comment" not in out.info
    assert ImageChops.difference(out.convert("RGB"), original.convert("RGB")).getbbox() is None
    # the fast level: the same pixels as a level-1 encode, byte for byte
    level_one = io.BytesIO()
    original.convert("RGB").save(level_one, "PNG", optimize=False, compress_level=1)
    assert stored == level_one.getvalue()


def test_a_backend_image_of_another_size_is_fitted() -> None:
    stored = imaging.finalize_image(_photo_png((600, 400)), 300, 400, "png")
    assert Image.open(io.BytesIO(stored)).size == (300, 400)


def test_the_offline_renderers_images_keep_level_six() -> None:
    image = Image.open("tests/fixtures/astronaut.jpg").convert("RGB").resize((256, 256))
    before = image.copy()
    stored = imaging.finalize_image(image, 256, 256, "png")
    expected = io.BytesIO()
    before.save(expected, "PNG", optimize=False, compress_level=6)
    assert stored == expected.getvalue()
    assert ImageChops.difference(image, before).getbbox() is None  # the caller's image is untouched
