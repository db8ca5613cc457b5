"""Photo to avatar: decode 1-6 untrusted reference photos, find the face, pick the best photo, frame it
by pose, and give it the style's photographic treatment (the preset's finishing filter runs afterwards).

Face detection uses OpenCV's Haar cascade when the optional `studio` extra (opencv-python-headless<5 and
numpy) is installed; without it (the Lambda zip deployment: OpenCV + numpy + Pillow exceed the 250 MB
limit) the face is assumed where portraits usually have it, in the upper centre. Both paths are
deterministic; they differ only in where the crop lands.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps, UnidentifiedImageError

from avatarsmith.errors import InvalidReferenceImageError
from avatarsmith.renderer.imaging import DECODE_ERRORS, MAX_DECODE_PIXELS, open_untrusted, to_rgb

REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_REFERENCE_BYTES = 15 * 1024 * 1024
MIN_REFERENCE_SIDE = 32
MAX_REFERENCE_ASPECT = 8.0  # a 1x5000 strip is not a photo of a person
CARTOON_WORK_SIDE = 512  # the cartoon treatment works at this size, then scales back
DETECT_LONG_SIDE = 480  # faces are looked for on a copy this size (speed; the cascade needs ~24 px faces)

# pose -> (crop height in face heights, where the face centre sits from the top of the crop)
POSE_FRAMING: dict[str, tuple[float, float]] = {
    "close_up": (2.6, 0.42),
    "half_body": (5.0, 0.25),
    "full_body": (9.0, 0.12),
}


@dataclass(frozen=True)
class Face:
    x: float
    y: float
    w: float
    h: float
    detected: bool  # False: assumed (no OpenCV, or no face found)


@dataclass(frozen=True)
class Reference:
    index: int
    image: Image.Image
    face: Face
    sharpness: float


# --- decoding --------------------------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return f"it is larger than {MAX_DECODE_PIXELS // 1_000_000} megapixels"
    if isinstance(exc, UnidentifiedImageError):  # Pillow's message names a memory address
        return "it is not a JPEG, PNG or WebP image"
    text = str(exc).split("\n", 1)[0][:160]
    return text or type(exc).__name__


def decode_reference(data: bytes, index: int, want: tuple[int, int]) -> Image.Image:
    """One reference as an upright RGB image, or InvalidReferenceImageError naming it and why."""

    def bad(reason: str) -> InvalidReferenceImageError:
        return InvalidReferenceImageError(f"reference image {index} could not be decoded: {reason}")

    if len(data) > MAX_REFERENCE_BYTES:
        raise bad("it is larger than 15 MB")
    try:
        image = open_untrusted(data, formats=REFERENCE_FORMATS)
        w, h = image.size
        if min(w, h) < MIN_REFERENCE_SIDE or max(w, h) / max(1, min(w, h)) > MAX_REFERENCE_ASPECT:
            raise bad(f"its dimensions ({w}x{h}) are not those of a photo")
        if image.format == "JPEG":
            # decode at a reduced scale that still leaves 1.5x the output on the short side
            scale = 1.5 * max(want) / min(w, h)
            image.draft("RGB", (math.ceil(w * scale), math.ceil(h * scale)))
        image.load()
        return to_rgb(ImageOps.exif_transpose(image))
    except InvalidReferenceImageError:
        raise
    except DECODE_ERRORS as exc:
        raise bad(_reason(exc)) from exc


# --- faces -----------------------------------------------------------------------------------------
_local = threading.local()


def _import_cv2() -> Any:
    """OpenCV, or None when the optional extra is not installed (tests replace this to simulate that)."""
    try:
        import cv2
    except ImportError:
        return None
    if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
        return None  # opencv-python-headless 5.x ships no cascades
    return cv2


def _cascade() -> Any:
    """A per-thread Haar cascade (the local stack renders jobs in several threads), or None."""
    if not hasattr(_local, "cascade"):
        cv2 = _import_cv2()
        cascade = None
        if cv2 is not None:
            cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
            if cascade.empty():
                cascade = None
        _local.cascade = cascade
    return _local.cascade


def face_detection_available() -> bool:
    return _cascade() is not None


def assumed_face(width: int, height: int) -> Face:
    """Where a portrait's face usually is: centred, a third of the way down, ~30% of the short side."""
    size = 0.3 * min(width, height)
    return Face(width / 2 - size / 2, height * 0.36 - size / 2, size, size, detected=False)


def find_face(image: Image.Image) -> Face | None:
    """The largest frontal face (source pixels), or None (no OpenCV, or no face)."""
    cascade = _cascade()
    if cascade is None:
        return None
    import numpy as np

    scale = min(1.0, DETECT_LONG_SIDE / max(image.size))
    small = image.convert("L")
    if scale < 1.0:
        small = small.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.BILINEAR,
        )
    grey = ImageOps.equalize(small)
    side = max(20, round(0.1 * min(grey.size)))
    found = cascade.detectMultiScale(np.asarray(grey), scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
    if len(found) == 0:
        return None
    x, y, w, h = max((tuple(int(v) for v in box) for box in found), key=lambda b: (b[2] * b[3], -b[1], -b[0]))
    return Face(x / scale, y / scale, w / scale, h / scale, detected=True)


def _sharpness(image: Image.Image, face: Face) -> float:
    """Edge energy inside the face box: the tie-breaker between equally large faces."""
    region = image.crop((round(face.x), round(face.y), round(face.x + face.w), round(face.y + face.h)))
    region = region.convert("L").resize((64, 64), Image.Resampling.BILINEAR)
    edges = region.filter(ImageFilter.FIND_EDGES)
    histogram = edges.histogram()
    total = sum(histogram) or 1
    mean = sum(i * n for i, n in enumerate(histogram)) / total
    return sum(n * (i - mean) ** 2 for i, n in enumerate(histogram)) / total


def choose_reference(references: list[bytes], want: tuple[int, int]) -> Reference:
    """Decode every reference (any bad one fails the job) and pick the best: the largest detected face,
    then (faces within 5% of each other) the sharpest, then the first; without faces, the largest photo."""
    if not references:
        raise InvalidReferenceImageError(
            "reference image 0 could not be decoded: no reference image was given"
        )
    candidates: list[Reference] = []
    for index, data in enumerate(references):
        image = decode_reference(data, index, want)
        face = find_face(image)
        if face is None:
            candidates.append(Reference(index, image, assumed_face(*image.size), 0.0))
        else:
            candidates.append(Reference(index, image, face, _sharpness(image, face)))
    with_faces = [c for c in candidates if c.face.detected]
    if with_faces:
        largest = max(c.face.w * c.face.h for c in with_faces)
        close = [c for c in with_faces if c.face.w * c.face.h >= 0.95 * largest]
        return max(close, key=lambda c: (c.sharpness, -c.index))
    return max(candidates, key=lambda c: (c.image.width * c.image.height, -c.index))


# --- framing ---------------------------------------------------------------------------------------
def frame_box(
    size: tuple[int, int], face: Face, out: tuple[int, int], pose: str, letterbox: float = 0.0
) -> tuple[float, float, float, float]:
    """The source box to crop for `pose`: `k` face heights tall at the output's aspect ratio, the face at
    its pose height; shrunk to fit inside the photo and shifted (not padded) to stay inside it.
    `letterbox` (a style's bars, as a fraction of the height) frames the pose inside the visible band."""
    src_w, src_h = size
    out_w, out_h = out
    k, at = POSE_FRAMING.get(pose, POSE_FRAMING["close_up"])
    visible = 1 - 2 * letterbox
    k, at = k / visible, letterbox + at * visible
    crop_h = k * face.h
    crop_w = crop_h * out_w / out_h
    shrink = min(1.0, src_w / crop_w, src_h / crop_h)
    crop_w, crop_h = crop_w * shrink, crop_h * shrink
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    x0 = min(max(0.0, cx - crop_w / 2), src_w - crop_w)
    y0 = min(max(0.0, cy - at * crop_h), src_h - crop_h)
    return (x0, y0, x0 + crop_w, y0 + crop_h)


def frame(reference: Reference, width: int, height: int, pose: str, letterbox: float = 0.0) -> Image.Image:
    box = frame_box(reference.image.size, reference.face, (width, height), pose, letterbox)
    return reference.image.resize((width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)


# --- photographic treatments (before the preset's finishing filter) --------------------------------
def _cartoon(image: Image.Image, bits: int, edge_threshold: int) -> Image.Image:
    """Flat colour areas with dark outlines, in Pillow only: smooth twice with a 3x3 median filter (at
    CARTOON_WORK_SIDE px on the long side), posterise to `bits` per channel (softened by a little of the
    smooth image), then multiply by the soft, thresholded edges."""
    w, h = image.size
    scale = CARTOON_WORK_SIDE / max(w, h)  # the same look at any output size
    work = (
        image
        if w == h == CARTOON_WORK_SIDE
        else image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    )
    smooth = work.filter(ImageFilter.MedianFilter(3)).filter(ImageFilter.MedianFilter(3))
    flat = Image.blend(ImageOps.posterize(smooth, bits), smooth, 0.3)
    edges = smooth.convert("L").filter(ImageFilter.GaussianBlur(1)).filter(ImageFilter.FIND_EDGES)
    lines = edges.point(lambda v: 255 - min(255, max(0, (v - edge_threshold) * 6)))
    out = ImageChops.multiply(flat, Image.merge("RGB", (lines, lines, lines)))
    return out if out.size == (w, h) else out.resize((w, h), Image.Resampling.BICUBIC)


def photo_treatment(image: Image.Image, style: str | None) -> Image.Image:
    if style == "anime":
        return ImageEnhance.Color(_cartoon(image, 3, 40)).enhance(1.2)
    if style == "pixar":
        return ImageEnhance.Brightness(_cartoon(image, 4, 60)).enhance(1.04)
    if style == "fantasy":
        glow = image.filter(ImageFilter.GaussianBlur(max(2, image.width // 80)))
        return ImageChops.screen(image, ImageEnhance.Brightness(glow).enhance(0.35))
    if style == "renaissance":
        return image.filter(ImageFilter.SMOOTH_MORE)
    return image
