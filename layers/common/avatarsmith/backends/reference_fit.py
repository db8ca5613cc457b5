"""Fit a reference photo to a vendor's documented input limits before it leaves for the vendor.

Users may upload 12 MP photos of up to 15 MB, in JPEG, PNG or WebP; most image models take far less
(side length, pixel count, encoded bytes, formats). `fit_reference` decodes the photo upright (EXIF
orientation applied), scales it down to fit `max_side` and `max_pixels`, and re-encodes it in the first
allowed format whose encoding fits `max_bytes`, lowering quality and then size until it does.

Pillow is imported lazily: adapters that never see a reference never pay for it.
"""

from __future__ import annotations

import io
import math
from typing import Any

from avatarsmith.errors import InvalidReferenceImageError

MIME_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_QUALITIES = (90, 82, 74, 66, 58, 50)
_SHRINK = 0.8  # each round that cannot fit the byte limit at the lowest quality scales the sides by this
_MIN_SIDE = 64


def fit_reference(
    data: bytes,
    *,
    max_side: int,
    max_pixels: int | None = None,
    max_bytes: int,
    formats: tuple[str, ...],
    min_side: int | None = None,
    max_ratio: float | None = None,
    crop_ratio: float | None = None,
) -> tuple[bytes, str]:
    """The reference re-encoded within the limits, and its MIME type.

    `formats` lists what the vendor accepts ("jpeg", "png", "webp"), preferred first. `min_side`, when the
    vendor also has a lower bound on the short side, scales small photos up to it. `crop_ratio` (width /
    height) centre-crops the photo to that shape first; `max_ratio` crops only a photo longer than that.
    Raises InvalidReferenceImageError when the bytes do not decode or cannot be made to fit.
    """
    unknown = [f for f in formats if f not in MIME_TYPES]
    if not formats or unknown:
        raise ValueError(f"formats must be among {sorted(MIME_TYPES)}, got {formats!r}")
    from PIL import ImageOps

    from avatarsmith.renderer.imaging import DECODE_ERRORS, open_untrusted, to_rgb

    try:
        image = open_untrusted(data)
        if image.format == "JPEG":  # decode at the smallest DCT scale still at least the target size
            w, h = target_size(image.width, image.height, max_side=max_side, max_pixels=max_pixels)
            image.draft("RGB", (w, h))
        image.load()
        image = ImageOps.exif_transpose(image)
    except DECODE_ERRORS as exc:
        raise InvalidReferenceImageError(
            f"a reference image could not be decoded: {type(exc).__name__}"
        ) from exc
    image = _crop(image, crop_ratio, max_ratio)
    width, height = target_size(image.width, image.height, max_side=max_side, max_pixels=max_pixels)
    if min_side and min(width, height) < min_side:
        grow = min_side / min(width, height)
        width, height = math.ceil(width * grow), math.ceil(height * grow)
    rgb = to_rgb(image)
    while True:
        sized = rgb if (width, height) == rgb.size else _resize(rgb, width, height)
        for fmt in formats:
            for quality in _QUALITIES if fmt != "png" else (None,):
                encoded = _encode(sized, fmt, quality)
                if len(encoded) <= max_bytes:
                    return encoded, MIME_TYPES[fmt]
        width, height = int(width * _SHRINK), int(height * _SHRINK)
        if min(width, height) < max(_MIN_SIDE, min_side or 0):
            raise InvalidReferenceImageError(
                f"a reference image cannot be encoded within the backend's {max_bytes}-byte input limit"
            )


def target_size(width: int, height: int, *, max_side: int, max_pixels: int | None) -> tuple[int, int]:
    """The largest size with the photo's aspect ratio that fits both limits (never larger than it is)."""
    scale = min(1.0, max_side / max(width, height))
    if max_pixels and width * height * scale * scale > max_pixels:
        scale = min(scale, math.sqrt(max_pixels / (width * height)))
    w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    while max_pixels and w * h > max_pixels:  # floor rounding may still leave one row too many
        w, h = max(1, w - 1), max(1, h - 1)
    return w, h


def _crop(image: Any, crop_ratio: float | None, max_ratio: float | None) -> Any:
    """The centre of the image at `crop_ratio`, or within 1:max_ratio-max_ratio:1 (unchanged otherwise)."""
    w, h = image.size
    target = crop_ratio
    if target is None and max_ratio:
        if w / h > max_ratio:
            target = max_ratio
        elif h / w > max_ratio:
            target = 1 / max_ratio
    if target is None:
        return image
    if max_ratio:
        target = min(max(target, 1 / max_ratio), max_ratio)
    if w / h > target:
        cw, ch = round(h * target), h
    else:
        cw, ch = w, round(w / target)
    if (cw, ch) == (w, h):
        return image
    left, top = (w - cw) // 2, (h - ch) // 2
    return image.crop((left, top, left + cw, top + ch))


def _resize(image: Any, width: int, height: int) -> Any:
    from PIL import Image

    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0)


def _encode(image: Any, fmt: str, quality: int | None) -> bytes:
    buffer = io.BytesIO()
    if fmt == "jpeg":
        image.save(buffer, format="JPEG", quality=quality, optimize=True)
    elif fmt == "webp":
        image.save(buffer, format="WEBP", quality=quality, method=4)
    else:
        image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
