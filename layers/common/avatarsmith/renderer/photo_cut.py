"""Photo avatars, step two: separate the person from the background, and find their skin and clothes.

The cut is OpenCV's GrabCut on a small copy of the photo (CUT_LONG_SIDE px), seeded by the face box and
a body prior: the face's centre is surely the person, a head-and-hair oval, a neck and shoulders that
widen to the bottom edge are probably the person, the top edge and the sides above the shoulders are
surely background. Only the part connected to the face is kept, holes are closed, and the edge is
feathered when the mask is scaled to the output. Deterministic: GrabCut's model is seeded.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from avatarsmith.renderer.photo import Face

CUT_LONG_SIDE = 160  # GrabCut works on a copy this size (~80 ms CPU); the mask is feathered when scaled up
CUT_ITERATIONS = 3


@dataclass(frozen=True)
class Cut:
    """The person's mask over the whole reference photo, at `scale` x its size (0..255)."""

    mask: Image.Image  # L, the photo's size x scale
    scale: float


def _prior(shape: tuple[int, int], face: tuple[float, float, float, float]) -> Any:
    """GrabCut's starting labels from where a portrait's head, neck and shoulders are."""
    import cv2
    import numpy as np

    h, w = shape
    x, y, fw, fh = face
    cx, chin = x + fw / 2, y + fh
    labels = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    shoulders = chin + 0.55 * fh
    # surely background: the top edge, and the sides down to the shoulders
    labels[: max(1, round(0.02 * h)), :] = cv2.GC_BGD
    side_rows = slice(0, max(1, min(h, round(shoulders))))
    edge = max(1, round(0.02 * w))
    labels[side_rows, :edge] = cv2.GC_BGD
    labels[side_rows, w - edge :] = cv2.GC_BGD
    # probably the person: head with hair, neck, shoulders widening to the bottom
    head_centre = (round(cx), round(y + 0.35 * fh))  # reaches 0.6 face heights above the box: hair, hats
    cv2.ellipse(labels, head_centre, (round(0.72 * fw), round(0.95 * fh)), 0, 0, 360, cv2.GC_PR_FGD, -1)
    body = np.array(
        [
            (cx - 0.32 * fw, chin - 0.1 * fh),
            (cx + 0.32 * fw, chin - 0.1 * fh),
            (cx + 0.45 * fw, shoulders - 0.2 * fh),
            (cx + 1.75 * fw, shoulders + 0.25 * fh),
            (cx + 2.3 * fw, h + fh),
            (cx - 2.3 * fw, h + fh),
            (cx - 1.75 * fw, shoulders + 0.25 * fh),
            (cx - 0.45 * fw, shoulders - 0.2 * fh),
        ],
        np.int32,
    )
    cv2.fillPoly(labels, [body], cv2.GC_PR_FGD)
    # surely the person: the middle of the face, the neck's core, the chest's core
    cv2.ellipse(
        labels,
        (round(cx), round(y + 0.55 * fh)),
        (round(0.3 * fw), round(0.38 * fh)),
        0,
        0,
        360,
        cv2.GC_FGD,
        -1,
    )
    core = np.array(
        [
            (cx - 0.15 * fw, chin),
            (cx + 0.15 * fw, chin),
            (cx + 0.8 * fw, shoulders + 0.6 * fh),
            (cx + 0.8 * fw, h),
            (cx - 0.8 * fw, h),
            (cx - 0.8 * fw, shoulders + 0.6 * fh),
        ],
        np.int32,
    )
    cv2.fillPoly(labels, [core], cv2.GC_FGD)
    return labels


def cut_person(image: Image.Image, face: Face) -> Cut:
    """The person's mask over `image` (see the module's note)."""
    import cv2
    import numpy as np

    scale = min(1.0, CUT_LONG_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    small = np.asarray(image.resize(size, Image.Resampling.BILINEAR))[:, :, ::-1].copy()
    box = (face.x * scale, face.y * scale, face.w * scale, face.h * scale)
    labels = _prior((size[1], size[0]), box)
    background = np.zeros((1, 65), np.float64)
    foreground = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(1)  # GrabCut's GMMs start from k-means
    with contextlib.suppress(cv2.error):  # a flat photo (one colour) has nothing to model: keep the prior
        cv2.grabCut(
            small, labels, (0, 0, 0, 0), background, foreground, CUT_ITERATIONS, cv2.GC_INIT_WITH_MASK
        )
    person: Any = np.where((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    person = _connected_to(person, (round(box[0] + box[2] / 2), round(box[1] + box[3] / 2)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    person = cv2.morphologyEx(person, cv2.MORPH_CLOSE, kernel)
    person = _fill_holes(person)
    return Cut(Image.fromarray(person, "L"), scale)


def _connected_to(mask: Any, point: tuple[int, int]) -> Any:
    """Only the component of `mask` containing `point` (or the largest, if the point is outside it)."""
    import cv2
    import numpy as np

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return mask
    x = min(max(0, point[0]), mask.shape[1] - 1)
    y = min(max(0, point[1]), mask.shape[0] - 1)
    keep = int(labels[y, x])
    if keep == 0:
        keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.where(labels == keep, 255, 0).astype(np.uint8)


def _fill_holes(mask: Any) -> Any:
    """Background enclosed by the person (a gap between arm and body is kept only if it touches an edge
    of the photo)."""
    import cv2
    import numpy as np

    padded = cv2.copyMakeBorder(255 - mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=255)
    flood = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), np.uint8)
    cv2.floodFill(padded, flood, (0, 0), 0)
    return mask | padded[1:-1, 1:-1]


def mask_for(cut: Cut, box: tuple[float, float, float, float], size: tuple[int, int], feather: float) -> Any:
    """The cut for the output: the source `box` of the photo scaled to `size`, its edge feathered by
    `feather` px. A float32 array in 0..1, shape (height, width)."""
    import cv2
    import numpy as np

    scaled = (box[0] * cut.scale, box[1] * cut.scale, box[2] * cut.scale, box[3] * cut.scale)
    # EXTENT maps the box to the output even where it reaches past the photo (a small photo framed for a
    # wide output): outside the photo is background (0), where `resize(box=...)` would refuse the box
    extent = cut.mask.transform(size, Image.Transform.EXTENT, scaled, Image.Resampling.BILINEAR)
    mask: Any = np.asarray(extent, np.float32)
    if feather > 0:
        mask = cv2.GaussianBlur(mask, (0, 0), feather)
    # the bilinear ramp from a ~5x upscale is wide: steepen it around the middle
    return np.clip((mask - 64.0) / 128.0, 0.0, 1.0)


def skin_and_clothes(rgb: Any, person: Any, face: tuple[float, float, float, float]) -> tuple[Any, Any]:
    """(skin, clothes) float32 masks over `rgb` (the framed photo at output size): skin has the chroma of
    the face's centre; clothes are the person below the chin that is not skin."""
    import cv2
    import numpy as np

    h, w = person.shape
    x, y, fw, fh = face
    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    x0, x1 = round(x + 0.3 * fw), round(x + 0.7 * fw)
    y0, y1 = round(y + 0.35 * fh), round(y + 0.75 * fh)
    x0, x1 = min(max(0, x0), w - 1), min(max(1, x1), w)
    y0, y1 = min(max(0, y0), h - 1), min(max(1, y1), h)
    sample = ycrcb[y0:y1, x0:x1].reshape(-1, 3).astype(np.float32)
    if len(sample) == 0:
        sample = ycrcb.reshape(-1, 3).astype(np.float32)
    mean, spread = sample.mean(axis=0), sample.std(axis=0) + 4.0
    # chroma decides in colour photos; lightness (weighed less: shading varies it) in black-and-white ones
    distance = np.abs((ycrcb.astype(np.float32) - mean) / (np.array([4.0, 2.5, 2.5]) * spread + (20, 0, 0)))
    distance = distance.max(axis=2)
    skin = np.clip(1.5 - distance, 0.0, 1.0) * person
    skin = cv2.GaussianBlur(skin, (0, 0), 1.5)
    below = np.zeros((h, w), np.float32)
    top = min(h, max(0, round(y + 1.12 * fh)))
    below[top:, :] = 1.0
    below = cv2.GaussianBlur(below, (0, 0), max(1.0, 0.08 * fh))
    clothes = np.clip(person * below - 1.5 * skin, 0.0, 1.0)
    return skin, clothes
