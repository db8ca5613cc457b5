"""A backend's image on the job's critical path: a sound 8-bit RGB PNG at the exact size is stored as it
came minus its metadata (not decoded, not re-encoded); anything else is re-encoded (same pixels, exact
size, no metadata, PNG's fast zlib level); the offline renderer's images keep their level-6 bytes."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, PngImagePlugin

from avatarsmith.errors import GenerationRejectedError
from avatarsmith.renderer import imaging, png_as_is


def _photo_png(size: tuple[int, int]) -> bytes:
    image = Image.open("tests/fixtures/astronaut.jpg").convert("RGB").resize(size)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by a vendor")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, compress_level=9)
    return buffer.getvalue()


def _chunks(png: bytes) -> list[bytes]:
    kinds, position = [], 8
    while position < len(png):
        (length,) = struct.unpack_from(">I", png, position)
        kinds.append(png[position + 4 : position + 8])
        position += 12 + length
    return kinds


def _with_chunk_bytes(png: bytes, kind: bytes, change: Callable[[bytes], bytes], *, fix_crc: bool) -> bytes:
    """`png` with the data of its first `kind` chunk changed (its CRC recomputed or left stale)."""
    position = 8
    while True:
        (length,) = struct.unpack_from(">I", png, position)
        if png[position + 4 : position + 8] == kind:
            break
        position += 12 + length
    old_crc = png[position + 8 + length : position + 12 + length]
    data = change(png[position + 8 : position + 8 + length])
    crc = struct.pack(">I", zlib.crc32(kind + data)) if fix_crc else old_crc
    chunk = struct.pack(">I", len(data)) + kind + data + crc
    return png[:position] + chunk + png[position + 12 + length :]


def test_a_backend_png_at_size_is_stored_as_it_came_without_its_metadata() -> None:
    vendor = _photo_png((512, 512))
    stored = imaging.finalize_image(vendor, 512, 512, "png")
    out, original = Image.open(io.BytesIO(stored)), Image.open(io.BytesIO(vendor))
    assert out.size == (512, 512) and out.mode == "RGB"
    assert "Comment" in original.info and "Comment" not in out.info
    assert ImageChops.difference(out.convert("RGB"), original.convert("RGB")).getbbox() is None
    # not re-encoded: the vendor's own image data, only its ancillary chunks gone
    assert b"tEXt" in _chunks(vendor) and set(_chunks(stored)) == {b"IHDR", b"IDAT", b"IEND"}
    kept = (_chunk_bytes(vendor, kind) for kind in (b"IHDR", b"IDAT", b"IEND"))
    assert stored == png_as_is.SIGNATURE + b"".join(kept)


def _chunk_bytes(png: bytes, kind: bytes) -> bytes:
    position, found = 8, b""
    while position < len(png):
        (length,) = struct.unpack_from(">I", png, position)
        if png[position + 4 : position + 8] == kind:
            found += png[position : position + 12 + length]
        position += 12 + length
    return found


def test_exif_icc_and_gamma_chunks_are_dropped_too() -> None:
    image = Image.open("tests/fixtures/astronaut.jpg").convert("RGB").resize((64, 64))
    exif = Image.Exif()
    exif[0x010F] = "VendorCam"
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif.tobytes(), icc_profile=b"\0" * 200)
    vendor = _with_chunk_bytes(buffer.getvalue(), b"IDAT", lambda d: d, fix_crc=True)
    assert {b"eXIf", b"iCCP"} <= set(_chunks(vendor))
    stored = imaging.finalize_image(vendor, 64, 64, "png")
    assert set(_chunks(stored)) == {b"IHDR", b"IDAT", b"IEND"}
    assert ImageChops.difference(Image.open(io.BytesIO(stored)).convert("RGB"), image).getbbox() is None


def test_a_png_split_over_several_idat_chunks_is_kept_whole() -> None:
    image = Image.open("tests/fixtures/astronaut.jpg").convert("RGB").resize((300, 300))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    vendor = buffer.getvalue()
    assert _chunks(vendor).count(b"IDAT") > 1  # Pillow writes one IDAT per 64 KiB block
    assert imaging.finalize_image(vendor, 300, 300, "png") == vendor  # nothing ancillary to drop


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda png: png[: len(png) - 40], id="truncated"),
        pytest.param(
            lambda png: _with_chunk_bytes(png, b"IDAT", lambda d: d[:-1] + bytes([d[-1] ^ 1]), fix_crc=False),
            id="stale-crc",
        ),
        pytest.param(
            lambda png: _with_chunk_bytes(png, b"IDAT", lambda d: d[: len(d) // 2], fix_crc=True),
            id="short-zlib-stream",
        ),
        pytest.param(
            lambda png: _with_chunk_bytes(
                png, b"IDAT", lambda d: zlib.compress(b"\x07" + zlib.decompress(d)[1:]), fix_crc=True
            ),
            id="bad-filter-type",
        ),
        pytest.param(
            lambda png: _with_chunk_bytes(
                png, b"IDAT", lambda d: zlib.compress(zlib.decompress(d) + b"\0" * 97), fix_crc=True
            ),
            id="too-much-data",
        ),
    ],
)
def test_a_damaged_backend_png_is_never_stored_as_it_came(damage: Callable[[bytes], bytes]) -> None:
    vendor = damage(_photo_png((96, 96)))
    assert png_as_is.png_as_is(vendor, 96, 96) is None
    try:  # the full decode path decides: it refuses the image, or re-encodes what it could decode
        stored = imaging.finalize_image(vendor, 96, 96, "png")
    except GenerationRejectedError:
        return
    assert stored != vendor and Image.open(io.BytesIO(stored)).size == (96, 96)
    Image.open(io.BytesIO(stored)).load()


def test_only_8_bit_rgb_at_the_exact_size_is_kept() -> None:
    rgb = _photo_png((128, 128))
    assert png_as_is.png_as_is(rgb, 128, 128) is not None
    assert png_as_is.png_as_is(rgb, 128, 127) is None
    rgba = io.BytesIO()
    Image.new("RGBA", (128, 128), (255, 0, 0, 0)).save(rgba, "PNG")
    assert png_as_is.png_as_is(rgba.getvalue(), 128, 128) is None
    # transparency is still flattened onto white by the re-encode path
    flat = Image.open(io.BytesIO(imaging.finalize_image(rgba.getvalue(), 128, 128, "png")))
    assert flat.mode == "RGB" and flat.getpixel((5, 5)) == (255, 255, 255)
    interlaced = io.BytesIO()
    Image.open(io.BytesIO(rgb)).save(interlaced, "PNG", interlace=1)  # Pillow writes Adam7 when asked
    header = Image.open(io.BytesIO(interlaced.getvalue()))
    if header.info.get("interlace"):
        assert png_as_is.png_as_is(interlaced.getvalue(), 128, 128) is None
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(rgb)).convert("RGB").save(jpeg, "JPEG")
    assert png_as_is.png_as_is(jpeg.getvalue(), 128, 128) is None
    # a PNG asked for as JPEG is re-encoded
    assert imaging.finalize_image(rgb, 128, 128, "jpeg")[:3] == b"\xff\xd8\xff"


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
