"""Photo avatars: reference photo + scene -> picture.

1. photo.choose_reference decodes the photos and finds the face; photo_cut separates the person (both
   done once per set of photos and kept for the job's other variations, see `prepare`).
2. The variation's framing (the scene's pose, zoom, shift and mirror) picks the part of the photo shown.
3. The clothes become the scene's outfit (the prompt's "red jacket", "suit and tie", or the palette's
   choice), drawn by the text renderer for this face and shaded by the photo's light.
4. photo_style re-draws the person in the style; the background is the scene's setting, drawn by the text
   renderer's own background painter; a soft shadow grounds the person.
5. The scene's accessories (glasses, hats, ...) are drawn relative to the face box, and the style's
   finishing filter runs over the whole picture, as for a drawn avatar.

`render_photo` returns the picture and what it drew (provenance.scene's `photo` entry).
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from avatarsmith.renderer import photo, photo_cut, photo_style

if TYPE_CHECKING:
    from avatarsmith.renderer.scene import Scene

Box = tuple[float, float, float, float]
PREPARED_KEPT = 4  # sets of reference photos kept decoded and cut (a job's variations reuse them)


@dataclass(frozen=True)
class Prepared:
    reference: photo.Reference
    cut: photo_cut.Cut


_prepared: OrderedDict[str, Prepared] = OrderedDict()
_prepared_lock = threading.Lock()


def prepare(references: list[bytes], want: tuple[int, int]) -> Prepared:
    """The chosen reference and its person cut, computed once per (photos, output size)."""
    digest = hashlib.sha256(f"{want}".encode())
    for data in references:
        digest.update(hashlib.sha256(data).digest())
    key = digest.hexdigest()
    with _prepared_lock:
        if key in _prepared:
            _prepared.move_to_end(key)
            return _prepared[key]
    reference = photo.choose_reference(references, want)
    prepared = Prepared(reference, photo_cut.cut_person(reference.image, reference.face))
    with _prepared_lock:
        _prepared[key] = prepared
        while len(_prepared) > PREPARED_KEPT:
            _prepared.popitem(last=False)
    return prepared


def working_size(size: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to photo_style.WORK_SIDE px on the long side."""
    factor = photo_style.WORK_SIDE / max(size)
    return (max(1, round(size[0] * factor)), max(1, round(size[1] * factor)))


def framing_box(prepared: Prepared, scene: Scene, out: tuple[int, int], letterbox: float) -> Box:
    """The photo's box this variation shows: the pose's frame, zoomed and shifted by the scene's framing,
    kept inside the photo."""
    src_w, src_h = prepared.reference.image.size
    face = prepared.reference.face
    x0, y0, x1, y1 = photo.frame_box((src_w, src_h), face, out, scene.pose, letterbox)
    zoom = max(0.6, min(1.6, scene.framing.zoom))
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    w, h = (x1 - x0) / zoom, (y1 - y0) / zoom
    x0 = cx - (cx - x0) / zoom - scene.framing.shift * w
    y0 = cy - (cy - y0) / zoom
    x0 = min(max(0.0, x0), max(0.0, src_w - w))
    y0 = min(max(0.0, y0), max(0.0, src_h - h))
    return (x0, y0, x0 + min(w, src_w), y0 + min(h, src_h))


def _face_in(face: photo.Face, box: Box, out: tuple[int, int], mirror: bool) -> Box:
    sx, sy = out[0] / (box[2] - box[0]), out[1] / (box[3] - box[1])
    x, y, w, h = (face.x - box[0]) * sx, (face.y - box[1]) * sy, face.w * sx, face.h * sy
    if mirror:
        x = out[0] - x - w
    return (x, y, w, h)


def _dress(rgb: Any, clothes: Any, scene: Scene, face: Box) -> Any:
    """The clothes re-dressed in the scene's outfit: the text renderer's outfit (its kind, colour, extras:
    lapels and tie, hood, armour...) drawn for this face box, shown only where the photo has clothes,
    and shaded by the photo's own light so the folds stay. Clothes outside the drawn outfit take its
    colour."""
    import cv2
    import numpy as np

    from avatarsmith.renderer.draw import draw_outfit

    if float(clothes.sum()) < 1.0:
        return rgb
    canvas = Image.new("RGB", (rgb.shape[1], rgb.shape[0]), (0, 0, 0))
    draw_outfit(canvas, scene, face)
    drawn = np.asarray(canvas).astype(np.float32)
    covered = cv2.GaussianBlur((drawn.max(axis=2) > 0).astype(np.float32), (0, 0), 1.0)
    plain = np.array(scene.clothes, np.float32)[None, None, :]
    outfit = drawn * covered[:, :, None] + plain * (1.0 - covered[:, :, None])
    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    mean = float((light * clothes).sum() / clothes.sum())
    shading = np.clip(0.55 + 0.45 * light / max(mean, 1.0), 0.35, 1.6)[:, :, None]
    weight = clothes[:, :, None]
    return np.clip(rgb * (1.0 - weight) + outfit * shading * weight, 0, 255).astype(np.uint8)


def _composite(background: Any, person: Any, alpha: Any, shadow: Any) -> Any:
    """The person over the background, darkened by the soft shadow the person casts behind them."""
    import cv2
    import numpy as np

    black = np.zeros_like(background)
    back = cv2.blendLinear(background, black, 1.0 - shadow, shadow)
    return cv2.blendLinear(back, person, 1.0 - alpha, alpha)


def _shadow(alpha: Any, face: Box) -> Any:
    import cv2
    import numpy as np

    h, w = alpha.shape
    shift = max(2, round(0.06 * face[2]))
    moved = np.zeros_like(alpha)
    moved[shift:, shift:] = alpha[: h - shift, : w - shift]
    return cv2.GaussianBlur(moved, (0, 0), max(2.0, 0.12 * face[2])) * 0.35


def render_photo(
    scene: Scene,
    references: list[bytes],
    size: tuple[int, int],
    seed: int,
    *,
    background: Any,
    accessories: Any | None = None,
    letterbox: float = 0.0,
) -> tuple[Image.Image, dict[str, Any]]:
    """The photo avatar for `scene` at `size`, and what was drawn.

    `background(scene, size, head) -> PIL RGB image` paints the scene's setting (head = (cx, cy, r) of the
    face in output pixels); `accessories(image, scene, face_box)` draws the scene's accessories and
    outfit extras onto the image in place (face_box = (x, y, w, h) in output pixels), or None.
    The caller applies the style's finishing filter. Deterministic for equal inputs.
    The person is cut, dressed and re-drawn at photo_style.WORK_SIDE px on the long side; only the last
    blend runs at the output size.
    """
    import cv2
    import numpy as np

    # the person is drawn at WORK_SIDE px on the long side whatever the output (the same lines and flat
    # areas in a thumbnail as in a poster), then scaled to the output
    work = working_size(size)
    prepared = prepare(references, (max(size[0], work[0]), max(size[1], work[1])))
    reference = prepared.reference
    box = framing_box(prepared, scene, size, letterbox)
    mirror = scene.framing.mirror
    framed = reference.image.resize(work, Image.Resampling.BILINEAR, box=box)
    alpha = photo_cut.mask_for(prepared.cut, box, work, feather=1.0)
    rgb = np.asarray(framed)
    if mirror:
        rgb, alpha = np.ascontiguousarray(rgb[:, ::-1]), np.ascontiguousarray(alpha[:, ::-1])
    face_work = _face_in(reference.face, box, work, mirror)
    _skin, clothes = photo_cut.skin_and_clothes(rgb, alpha, face_work)
    rgb = _dress(rgb, clothes, scene, face_work)
    rng = random.Random(f"photo:{seed}")
    side = 1 if rng.random() < 0.5 else -1
    person = photo_style.redraw(rgb, alpha, clothes, face_work, scene.style, seed, side, size)
    shadow = _shadow(alpha, face_work)
    if work != size:
        alpha = cv2.resize(
            alpha, size, interpolation=cv2.INTER_AREA if size[0] < work[0] else cv2.INTER_LINEAR
        )
        shadow = cv2.resize(
            shadow, size, interpolation=cv2.INTER_AREA if size[0] < work[0] else cv2.INTER_LINEAR
        )
    face = _face_in(reference.face, box, size, mirror)
    head = (face[0] + face[2] / 2, face[1] + face[3] / 2, face[3] / 2)
    backdrop = np.asarray(background(scene, size, head).convert("RGB"))
    out = Image.fromarray(_composite(backdrop, person, alpha, shadow), "RGB")
    if accessories is not None:
        accessories(out, scene, face)
    treatment = photo_style.treatment_for(scene.style)
    drawn = {
        "face": "found" if reference.face.detected else "not found: framed as a portrait",
        "reference_index": reference.index,
        "person": f"cut from the photo and re-drawn ({treatment.name})",
        "background": f"replaced by the scene: {scene.setting}",
        "outfit_colour": scene.outfit_colour,
        "framing": {
            "zoom": round(scene.framing.zoom, 3),
            "shift": round(scene.framing.shift, 3),
            "mirror": mirror,
        },
    }
    return out, drawn


# what the photo decides (the person's own hair, eyes, face, expression): not drawn from the scene
_FROM_THE_PHOTO = ("hair", "eyes", "facial_hair", "expression", "age", "skin")


def photo_summary(scene: Scene, references: list[bytes], size: tuple[int, int]) -> dict[str, Any]:
    """provenance.scene for a photo job: what the photo path draws from the scene (outfit, accessories,
    setting, lighting, style, pose) and, under `photo`, what it did with the photo. Decodes the photos
    and finds the face (kept for the render, see `prepare`)."""
    work = working_size(size)
    prepared = prepare(references, (max(size[0], work[0]), max(size[1], work[1])))
    summary = {k: v for k, v in scene.summary().items() if k not in _FROM_THE_PHOTO}
    face = prepared.reference.face
    summary["photo"] = {
        "reference_index": prepared.reference.index,
        "face": "found" if face.detected else "not found: framed as a portrait",
        "person": f"cut from the photo and re-drawn ({photo_style.treatment_for(scene.style).name})",
        "background": f"replaced by the scene: {scene.setting}",
        "outfit": "the scene's outfit drawn over the clothes, shaded by the photo's light",
    }
    return summary
