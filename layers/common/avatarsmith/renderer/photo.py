"""Photo avatars, step one: decode 1-6 untrusted reference photos, find the face (OpenCV's Haar
cascades: frontal, then profile facing either way), pick the best photo, and frame it by pose.

The same code runs locally and in the deployed processor (which ships opencv-python-headless<5 and
numpy). A photo in which no face is found is framed where portraits usually have one, in the upper
centre; photo_cut, photo_style and photo_render take it from there.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from avatarsmith.errors import InvalidReferenceImageError
from avatarsmith.renderer.imaging import DECODE_ERRORS, MAX_DECODE_PIXELS, open_untrusted, to_rgb

REFERENCE_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_REFERENCE_BYTES = 15 * 1024 * 1024
MIN_REFERENCE_SIDE = 32
MAX_REFERENCE_ASPECT = 8.0  # a 1x5000 strip is not a photo of a person
DETECT_LONG_SIDE = 512  # faces are looked for on a copy this size (speed; the cascade needs ~24 px faces)

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
    detected: bool  # False: assumed (no face found in the photo)


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


def _cascade(name: str) -> Any:
    """A per-thread Haar cascade (the local stack renders jobs in several threads)."""
    cascades = getattr(_local, "cascades", None)
    if cascades is None:
        cascades = _local.cascades = {}
    if name not in cascades:
        import cv2
        import cv2.data

        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if cascade.empty():
            raise RuntimeError(f"OpenCV's {name} is missing: is opencv-python-headless>=5 installed?")
        cascades[name] = cascade
    return cascades[name]


FRONTAL = "haarcascade_frontalface_default.xml"
PROFILE = "haarcascade_profileface.xml"


def assumed_face(width: int, height: int) -> Face:
    """Where a portrait's face usually is: centred, a third of the way down, ~30% of the short side."""
    size = 0.3 * min(width, height)
    return Face(width / 2 - size / 2, height * 0.36 - size / 2, size, size, detected=False)


def find_face(image: Image.Image) -> Face | None:
    """The largest face (source pixels): frontal first, else a profile facing left or right; or None."""
    import numpy as np

    scale = min(1.0, DETECT_LONG_SIDE / max(image.size))
    small = image.convert("L")
    if scale < 1.0:
        small = small.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
            Image.Resampling.BILINEAR,
        )
    grey = np.asarray(ImageOps.equalize(small))
    # frontal faces from a tenth of the short side, then (none found) from a twentieth; then profiles
    side = max(20, round(0.1 * min(grey.shape)))
    boxes = [tuple(int(v) for v in b) for b in _detect(FRONTAL, grey, side)]
    if not boxes:
        boxes = [tuple(int(v) for v in b) for b in _detect(FRONTAL, grey, max(20, side // 2))]
    if not boxes:
        width = grey.shape[1]
        boxes = [tuple(int(v) for v in b) for b in _detect(PROFILE, grey, side)]
        mirrored = _detect(PROFILE, np.ascontiguousarray(grey[:, ::-1]), side)
        boxes += [(width - int(x) - int(w), int(y), int(w), int(h)) for x, y, w, h in mirrored]
    if not boxes:
        return None
    x, y, w, h = max(boxes, key=lambda b: (b[2] * b[3], -b[1], -b[0]))
    return Face(x / scale, y / scale, w / scale, h / scale, detected=True)


def _detect(cascade: str, grey: Any, side: int) -> Any:
    return _cascade(cascade).detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))


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
