"""Encoding shared by every backend: exact output size, deterministic bytes, a 256 px thumbnail.

Same input, same Pillow build -> byte-identical output: no timestamps, no metadata, no encoder
options that depend on the machine (PNG is not optimised, JPEG is baseline, WebP uses a fixed method).
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageOps

from avatarsmith.errors import GenerationRejectedError
from avatarsmith.renderer.png_as_is import png_as_is

THUMBNAIL_LONG_SIDE = 256
# Pillow's own default is ~89 MP; our inputs are at most a 15 MB reference or a backend's output.
MAX_DECODE_PIXELS = 40_000_000

_CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
_EXTENSIONS = {"png": "png", "webp": "webp", "jpeg": "jpg"}


def _normal_format(fmt: str) -> str:
    key = fmt.strip().lower()
    key = "jpeg" if key == "jpg" else key
    if key not in _CONTENT_TYPES:
        raise ValueError(f"unsupported image format {fmt!r}: expected png, webp or jpeg")
    return key


def content_type_for(fmt: str) -> str:
    return _CONTENT_TYPES[_normal_format(fmt)]


def extension_for(fmt: str) -> str:
    return _EXTENSIONS[_normal_format(fmt)]


def open_untrusted(data: bytes, *, formats: tuple[str, ...] | None = None) -> Image.Image:
    """Open (header only) bytes we did not produce, refusing more than MAX_DECODE_PIXELS.

    Thread-safe: it checks the declared size itself instead of changing Pillow's module-wide
    MAX_IMAGE_PIXELS or the warnings filter (the local stack renders in several threads at once).
    """
    image = Image.open(io.BytesIO(data), formats=formats)
    if image.width * image.height > MAX_DECODE_PIXELS:
        raise Image.DecompressionBombError(
            f"image declares {image.width}x{image.height} pixels, more than {MAX_DECODE_PIXELS}"
        )
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """A new RGB image; transparency is flattened onto white (not Pillow's default black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode.startswith("I;16"):  # 16-bit greyscale PNG: scale down rather than clip
        image = image.convert("I").point(lambda v: v * (1 / 257)).convert("L")
    return image.convert("RGB")


def cover_box(
    src_w: int, src_h: int, dst_w: int, dst_h: int, *, zoom: float = 1.0, centre_y: float = 0.5
) -> tuple[float, float, float, float]:
    """The source box that, scaled, covers dst exactly: centred horizontally, vertically centred on
    `centre_y` of the source height (0.5 = the middle, ~0.3 = where faces usually are) but kept inside it;
    `zoom` > 1 crops tighter around the same point."""
    target = dst_w / dst_h
    if src_w / src_h > target:
        crop_w, crop_h = src_h * target, float(src_h)
    else:
        crop_w, crop_h = float(src_w), src_w / target
    crop_w, crop_h = crop_w / zoom, crop_h / zoom
    x0 = (src_w - crop_w) / 2
    y0 = min(max(0.0, src_h * centre_y - crop_h / 2), src_h - crop_h)
    return (x0, y0, x0 + crop_w, y0 + crop_h)


def fit(
    image: Image.Image, width: int, height: int, *, zoom: float = 1.0, centre_y: float = 0.5
) -> Image.Image:
    """Cover-crop and resize to exactly width x height (a copy even when nothing changes)."""
    if image.size == (width, height) and zoom == 1.0:
        return image.copy()
    box = cover_box(image.width, image.height, width, height, zoom=zoom, centre_y=centre_y)
    return image.resize((width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


def decode_untrusted(data: bytes, *, formats: tuple[str, ...] | None = None) -> Image.Image:
    """Decode bytes we did not produce, fully, within the pixel limit; EXIF orientation applied.

    Raises what Pillow raises (OSError family, DecompressionBomb*, ValueError, ...): callers wrap it.
    """
    image = open_untrusted(data, formats=formats)
    image.load()
    return ImageOps.exif_transpose(image)


DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # includes UnidentifiedImageError and "image file is truncated"
    ValueError,
    SyntaxError,  # Pillow's PNG/TIFF parsers raise it for malformed chunks
    EOFError,
    IndexError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


# zlib level for PNGs re-encoded from a backend's image. Measured on a 1024² photo (make bench's machine,
# loaded): level 6 took 1.87 s for 976 KiB, level 1 0.53 s for 1115 KiB. A vendor's image is re-encoded on
# the job's critical path (to strip its metadata and fit the size asked for), so the fast level is worth
# 14 % more bytes there; the offline renderer's own PNGs keep level 6 (and their pinned bytes).
BACKEND_PNG_COMPRESS_LEVEL = 1


def _encode(image: Image.Image, fmt: str, *, png_level: int = 6) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, Any]
    if fmt == "png":
        options = {"format": "PNG", "optimize": False, "compress_level": png_level}
    elif fmt == "webp":
        options = {"format": "WEBP", "quality": 90, "method": 4, "lossless": False, "exact": False}
    else:
        options = {"format": "JPEG", "quality": 90, "optimize": False, "progressive": False, "subsampling": 2}
    image.save(buffer, **options)
    return buffer.getvalue()


def finalize(image: Any, width: int, height: int, fmt: str) -> tuple[bytes, bytes]:
    """(image bytes, thumbnail bytes) in `fmt`, the image exactly width x height, metadata stripped.

    `image` is a PIL image (the built-in renderer) or encoded bytes (a real backend's output).
    """
    key = _normal_format(fmt)
    out = _fitted(image, width, height)
    return _encode(out, key), _encode(_thumbnail(out), key)


def finalize_image(image: Any, width: int, height: int, fmt: str) -> bytes:
    """The image alone, as `finalize` encodes it (its thumbnail is made on request: `thumbnail_of`).

    A backend's PNG that already is 8-bit RGB at exactly width x height is stored as it came, without its
    ancillary chunks (`png_as_is`: checked decodable, not decoded); any other backend image is decoded
    and re-encoded, a PNG at BACKEND_PNG_COMPRESS_LEVEL."""
    from_backend = isinstance(image, bytes | bytearray | memoryview)
    key = _normal_format(fmt)
    if from_backend and key == "png":
        kept = png_as_is(bytes(image), width, height)
        if kept is not None:
            return kept
    level = BACKEND_PNG_COMPRESS_LEVEL if from_backend else 6
    return _encode(_fitted(image, width, height), key, png_level=level)


def thumbnail_of(data: bytes, fmt: str) -> bytes:
    """The thumbnail `finalize` would have made, from the stored image's bytes."""
    image = decode_untrusted(data)
    return _encode(_thumbnail(to_rgb(image)), _normal_format(fmt))


def _thumbnail(out: Image.Image) -> Image.Image:
    width, height = out.size
    long_side = max(width, height)
    thumb_size = (
        max(1, round(width * THUMBNAIL_LONG_SIDE / long_side)),
        max(1, round(height * THUMBNAIL_LONG_SIDE / long_side)),
    )
    thumb = out.resize(thumb_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    thumb.info = {}
    return thumb


def _fitted(image: Any, width: int, height: int) -> Image.Image:
    owned = False  # an image only this function holds may be changed in place (no full-size copies)
    if isinstance(image, bytes | bytearray | memoryview):
        try:
            image = decode_untrusted(bytes(image))
        except DECODE_ERRORS as exc:
            raise GenerationRejectedError(
                f"the backend returned an image that could not be decoded: {exc}"
            ) from exc
        owned = True
    if not isinstance(image, Image.Image):
        raise TypeError(f"finalize expects a PIL image or bytes, not {type(image).__name__}")
    if not (owned and image.mode == "RGB"):
        image = to_rgb(image)  # a new image
    out = image if image.size == (width, height) else fit(image, width, height)
    out.info = {}  # no ICC/EXIF/XMP/text chunks carried over from the source
    return out
