"""Photo avatars, step three: re-draw the person from the photo in the style.

Every style changes every pixel of the person (none passes the photo through): cartoon styles flatten
the colours to a few seeded k-means clusters and draw ink lines (a difference of Gaussians of the
smoothed light), pixar smooths and shades softly, renaissance paints, noir and vintage re-tone with a
side light and grain, professional and realistic retouch the skin and re-light the face. All of it works
on numpy arrays (RGB uint8, masks float32 0..1) at WORK_SIDE px on the long side, so the cost does not
grow with the output and a thumbnail has the same lines as a poster; the person is then scaled to the
output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WORK_SIDE = 512


@dataclass(frozen=True)
class Treatment:
    name: str  # what provenance reports: "flat colours and ink lines", ...
    colours: int = 0  # k-means clusters; 0 = not flattened
    lines: float = 0.0  # ink line strength 0..1
    smooth: int = 1  # bilateral passes at half the working size
    saturation: float = 1.0
    tone: str = ""  # "" | mono | sepia
    grain: float = 0.0  # std of the seeded grain, in levels
    rim: tuple[int, int, int] | None = None  # rim light colour along the person's edge
    key: float = 0.25  # strength of the key light from one side
    soft: float = 0.0  # how much the bands between flat colours are softened (smooth shading)


TREATMENTS: dict[str | None, Treatment] = {
    "anime": Treatment("cel-shaded: flat colours and ink lines", 7, 0.95, 2, 1.2, rim=(255, 236, 250)),
    "pixar": Treatment("smooth shading in soft colour bands", 16, 0.2, 3, 1.1, rim=(255, 240, 220), soft=0.2),
    "fantasy": Treatment("painted flat colours, glow", 10, 0.6, 2, 1.2, rim=(246, 214, 255)),
    "cyberpunk": Treatment("neon rim light, ink accents, hard contrast", 0, 0.35, 2, 1.2, rim=(255, 42, 190)),
    "renaissance": Treatment(
        "oil-paint smoothing, varnish, canvas grain", 0, 0.0, 3, 0.85, grain=6.0, key=0.4
    ),
    "noir": Treatment("monochrome re-toned, hard side light, grain", 0, 0.0, 1, 0.0, "mono", 9.0, key=0.55),
    "vintage": Treatment("faded tone, soft focus, grain", 0, 0.0, 1, 0.6, "sepia", 7.0, key=0.2),
    "cinematic": Treatment("graded, warm rim light", 0, 0.15, 1, 1.05, rim=(255, 190, 120), key=0.4),
    "professional": Treatment(
        "retouched skin, studio re-light", 0, 0.0, 1, 1.02, rim=(255, 255, 255), key=0.3
    ),
    "realistic": Treatment("retouched skin, soft re-light", 0, 0.0, 1, 1.0, rim=(255, 246, 236), key=0.25),
    None: Treatment("illustrated: flat colours and ink lines", 10, 0.7, 2, 1.15, rim=(255, 255, 255)),
}


def treatment_for(style: str | None) -> Treatment:
    return TREATMENTS.get(style, TREATMENTS[None])


def _smooth(rgb: Any, passes: int) -> Any:
    """Edge-preserving smoothing: bilateral passes at half size, the detail of one pass at full."""
    import cv2

    h, w = rgb.shape[:2]
    half = cv2.resize(rgb, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    for _ in range(passes):
        half = cv2.bilateralFilter(half, 7, 55, 5)
    up = cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.bilateralFilter(up, 5, 30, 3)


def _centres(lab: Any, colours: int, seed: int) -> Any:
    """`colours` k-means centres of (a sample of) the Lab pixels, seeded."""
    import cv2
    import numpy as np

    step = max(1, len(lab) // 3000)
    sample = np.ascontiguousarray(lab[::step])
    colours = max(1, min(colours, len(sample)))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    labels = np.zeros((len(sample), 1), np.int32)
    _, _, centres = cv2.kmeans(sample, colours, labels, criteria, 1, cv2.KMEANS_PP_CENTERS)
    return centres


def _nearest(lab: Any, centres: Any) -> Any:
    """Each pixel's nearest centre, through a 32x32x32 table of Lab cells (each cell's centre decided
    once: a pixel's and its cell's nearest centre differ only on the boundaries between two colours)."""
    import numpy as np

    cells = (np.indices((32, 32, 32)).reshape(3, -1).T.astype(np.float32) + 0.5) * 8.0
    table = np.argmin(cells @ (-2.0 * centres.T) + (centres * centres).sum(axis=1), axis=1)
    index = lab.astype(np.uint16) >> 3
    return centres[table[(index[:, 0] << 10) | (index[:, 1] << 5) | index[:, 2]]]


def _flatten(rgb: Any, person: Any, clothes: Any, colours: int, seed: int) -> Any:
    """The person in flat Lab colours: `colours` clusters for face, hair and skin, a third as many for
    the clothes (kept apart, so a dark suit's colour never lands in the hair)."""
    import cv2
    import numpy as np

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    wearing = clothes.reshape(-1) > 0.5
    body = ~wearing
    inside = body & (person.reshape(-1) > 0.5)
    flat = np.empty_like(lab)
    flat[body] = _nearest(
        lab[body], _centres(lab[inside] if inside.sum() >= 64 else lab[body], colours, seed)
    )
    if wearing.sum() >= 64:
        flat[wearing] = _nearest(lab[wearing], _centres(lab[wearing], max(3, colours // 3), seed))
    return cv2.cvtColor(flat.astype(np.uint8).reshape(rgb.shape), cv2.COLOR_LAB2RGB)


def _ink(smooth: Any, strength: float, scale: float) -> Any:
    """Ink coverage 0..1 where the light drops across an edge (a thresholded difference of Gaussians)."""
    import cv2
    import numpy as np

    grey = cv2.cvtColor(smooth, cv2.COLOR_RGB2GRAY).astype(np.float32)
    fine = cv2.GaussianBlur(grey, (0, 0), 1.0 * scale)
    coarse = cv2.GaussianBlur(grey, (0, 0), 1.8 * scale)
    dog = fine - coarse
    return np.clip((-dog - 2.0) / 5.0, 0.0, 1.0) * strength


def _key_light(
    shape: tuple[int, int], face: tuple[float, float, float, float], side: int, strength: float
) -> Any:
    """A multiplier around 1: brighter on the key side of the face, darker on the far side."""
    import numpy as np

    h, w = shape
    x, y, fw, fh = face
    cx = x + fw / 2
    across = (np.arange(w, dtype=np.float32) - cx) / max(1.0, 2.2 * fw) * side
    gradient = np.clip(across, -1.0, 1.0)
    down = np.clip((np.arange(h, dtype=np.float32) - y) / max(1.0, 6.0 * fh), 0.0, 1.0)
    return 1.0 + strength * (0.5 * gradient[None, :] - 0.35 * down[:, None])


def _rim(person: Any, colour: tuple[int, int, int], width: float, hard: bool) -> Any:
    """Light along the inside of the person's edge, in `colour` (`hard`: one flat band)."""
    import cv2
    import numpy as np

    inner = cv2.GaussianBlur(person, (0, 0), width)
    rim = np.clip((person - inner) * 3.0, 0.0, 1.0)
    if hard:
        rim = (rim > 0.5).astype(np.float32) * person
    return rim[:, :, None] * np.array(colour, np.float32)[None, None, :]


def redraw(
    rgb: Any,
    person: Any,
    clothes: Any,
    face: tuple[float, float, float, float],
    style: str | None,
    seed: int,
    side: int,
    out: tuple[int, int],
) -> Any:
    """The person in `rgb` (the framed photo at the working size) re-drawn in `style`, scaled to `out`.

    `person` and `clothes` are masks over `rgb`, `face` the face box in its pixels, `side` (+1/-1) where
    the key light comes from. Returns RGB uint8 of size `out`; only the person's pixels matter (the
    caller composites them over the background)."""
    import cv2
    import numpy as np

    t = treatment_for(style)
    height, width = rgb.shape[:2]
    line_scale = max(0.6, width / 512)
    smooth = _smooth(rgb, t.smooth)
    light = _key_light((height, width), face, side, t.key)[:, :, None]
    if t.colours:
        # the light first, so that it shows as bands of flat colour; pixar's bands are then softened
        lit = np.clip(smooth.astype(np.float32) * light, 0, 255).astype(np.uint8)
        flat = _flatten(lit, person, clothes, t.colours, seed)
        # specks of one colour inside another are noise, not shapes: a median filter keeps the edges
        drawn = cv2.medianBlur(cv2.medianBlur(flat, 7), 5).astype(np.float32)
        if t.soft:
            drawn = cv2.GaussianBlur(drawn, (0, 0), 1.0 + 3.0 * t.soft * line_scale)
    else:
        # retouch: smoothed skin and planes, the photo's fine detail (eyes, hair) kept at half strength
        detail = rgb.astype(np.float32) - cv2.GaussianBlur(rgb, (0, 0), 2.0).astype(np.float32)
        drawn = (smooth.astype(np.float32) + 0.5 * detail) * light
    if t.tone:
        grey = cv2.cvtColor(np.clip(drawn, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
        clahe = cv2.createCLAHE(clipLimit=2.5 if t.tone == "mono" else 1.5, tileGridSize=(4, 4))
        grey = clahe.apply(grey).astype(np.float32)
        # mono: an S-curve (deep shadows, bright highlights); sepia: lifted blacks, soft highlights
        grey = 255.0 / (1.0 + np.exp(-(grey - 120.0) / 34.0)) if t.tone == "mono" else 28.0 + grey * 0.8
        drawn = np.repeat(grey[:, :, None], 3, axis=2)
    elif t.saturation != 1.0:
        grey = drawn.mean(axis=2, keepdims=True)
        drawn = grey + (drawn - grey) * t.saturation
    if t.lines:
        ink = _ink(smooth, t.lines, line_scale)
        if t.colours:  # flat ink: three strengths, not a ramp
            ink = np.round(ink * 3.0) / 3.0
        drawn = drawn * (1.0 - ink[:, :, None]) + 30.0 * ink[:, :, None]
    if t.rim is not None:
        drawn = drawn + 0.55 * _rim(person, t.rim, 3.0 * line_scale, hard=bool(t.colours))
    if t.colours and t.lines:  # an ink outline around the whole figure
        edge = cv2.GaussianBlur(person, (0, 0), 0.8 * line_scale)
        outline = np.clip(1.0 - np.abs(edge - 0.5) * 4.0, 0.0, 1.0) * t.lines
        drawn = drawn * (1.0 - outline[:, :, None]) + 30.0 * outline[:, :, None]
    result = np.clip(drawn, 0, 255).astype(np.uint8)
    if (width, height) != out:
        shrink = out[0] < width
        result = cv2.resize(result, out, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if t.grain:
        noise = np.empty((out[1], out[0]), np.float32)
        cv2.setRNGSeed(seed)
        cv2.randn(noise, np.array([0.0]), np.array([t.grain]))
        result = cv2.add(result, cv2.merge([noise, noise, noise]), dtype=cv2.CV_8U)
    return result
