"""Reference photos are fitted to a vendor's input limits: side, pixel count, bytes, format, orientation."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from avatarsmith.backends.reference_fit import fit_reference, target_size
from avatarsmith.errors import InvalidReferenceImageError
from tests.fakes.vendors.photos import large_photo


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_phone_photo_is_scaled_to_the_side_and_byte_limit_as_jpeg() -> None:
    photo = large_photo()
    assert len(photo) > 3_000_000, "the fixture must weigh what a 12 MP phone photo weighs"
    data, mime = fit_reference(photo, max_side=1408, max_bytes=1_000_000, formats=("jpeg", "png"))
    image = _open(data)
    assert mime == "image/jpeg" and image.format == "JPEG"
    assert max(image.size) <= 1408 and image.size == (1056, 1408)  # 3:4 kept
    assert len(data) <= 1_000_000


def test_pixel_limit_and_exif_orientation_are_applied() -> None:
    photo = large_photo(orientation=6)  # stored 3000x4000, shown 4000x3000
    data, mime = fit_reference(
        photo, max_side=4096, max_pixels=1_048_576, max_bytes=5_000_000, formats=("png", "jpeg")
    )
    image = _open(data)
    assert mime == "image/png" and image.format == "PNG"
    assert image.width > image.height  # upright: the EXIF rotation was applied
    assert image.width * image.height <= 1_048_576
    assert abs(image.width / image.height - 4 / 3) < 0.01


def test_png_too_heavy_falls_through_to_the_next_format() -> None:
    data, mime = fit_reference(large_photo(), max_side=1024, max_bytes=400_000, formats=("png", "webp"))
    assert mime == "image/webp" and _open(data).format == "WEBP"
    assert len(data) <= 400_000


def test_a_tiny_byte_limit_shrinks_the_image_until_it_fits() -> None:
    data, _ = fit_reference(large_photo(), max_side=2048, max_bytes=60_000, formats=("jpeg",))
    image = _open(data)
    assert len(data) <= 60_000 and max(image.size) < 2048


def test_small_photos_grow_to_a_minimum_side() -> None:
    small = io.BytesIO()
    Image.new("RGB", (200, 300), (120, 80, 40)).save(small, format="JPEG")
    data, _ = fit_reference(small.getvalue(), max_side=4096, max_bytes=10**6, formats=("png",), min_side=320)
    assert min(_open(data).size) >= 320


def test_undecodable_bytes_are_an_invalid_reference() -> None:
    with pytest.raises(InvalidReferenceImageError):
        fit_reference(b"not an image", max_side=1024, max_bytes=10**6, formats=("jpeg",))
    with pytest.raises(ValueError):
        fit_reference(large_photo(), max_side=1024, max_bytes=10**6, formats=("gif",))


@pytest.mark.parametrize(
    ("size", "limits", "expected"),
    [((3000, 4000), (4096, 4_194_304), (1773, 2364)), ((1000, 500), (4096, None), (1000, 500))],
)
def test_target_size(
    size: tuple[int, int], limits: tuple[int, int | None], expected: tuple[int, int]
) -> None:
    w, h = target_size(*size, max_side=limits[0], max_pixels=limits[1])
    assert (w, h) == expected
    assert limits[1] is None or w * h <= limits[1]


def test_crop_ratio_and_max_ratio_crop_the_centre() -> None:
    data, _ = fit_reference(
        large_photo(), max_side=1024, max_bytes=10**6, formats=("jpeg",), crop_ratio=4 / 3
    )
    image = _open(data)
    assert abs(image.width / image.height - 4 / 3) < 0.01 and max(image.size) == 1024
    banner = io.BytesIO()
    Image.new("RGB", (2000, 300), (1, 2, 3)).save(banner, format="PNG")
    data, _ = fit_reference(
        banner.getvalue(), max_side=4096, max_bytes=10**6, formats=("png",), max_ratio=4.0
    )
    image = _open(data)
    assert image.size == (1200, 300)
