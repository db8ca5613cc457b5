"""Scene -> picture (before the style's finish).

Stable entry points (the photo path builds on them; keep their signatures):

- `draw_background(scene, size, rng) -> Image`: the scene's setting (or the style's backdrop) as an RGB
  image of `size`, with the lighting's glow. Optional `head=(cx, cy, r)` centres the glow on a head.
- `draw_outfit(canvas, scene, face)`: the outfit (torso, collar, lapels/tie, hood, armour...) drawn below
  a face box `face = (x, y, w, h)` in canvas pixels, sized to it; `neck=True` also draws a neck.
- `draw_accessories(canvas, scene, face)`: hats, glasses, headphones, earrings, necklace, scarf, masks,
  halo ... drawn relative to the face box `(x, y, w, h)` (the box is the head from hairline to chin).
- `render_scene(scene, size) -> Image`: the whole text avatar (background, person), unfinished.

Everything draws from a `random.Random` the caller passes or derives from the scene, never from globals.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw

from avatarsmith.renderer import draw_extras, draw_hair
from avatarsmith.renderer import draw_outfit as outfit_room
from avatarsmith.renderer.draw_figure import draw_person, geometry
from avatarsmith.renderer.draw_places import PLACES
from avatarsmith.renderer.palette import DEFAULT_LOOK, LOOKS, RGB, WHITE, Look, hexc, mix
from avatarsmith.renderer.pen import FaceBox, Pen, soft_spot, vertical_gradient
from avatarsmith.renderer.scene import Scene

SUPERSAMPLE_MAX_PIXELS = 600_000  # above this (e.g. 1024x1024) draw at 1x: at that size shapes alias little

_GLOW: dict[str, tuple[str, float]] = {  # lighting -> (glow colour behind the head, strength)
    "neon": ("#ff2a6d", 0.5),
    "golden hour": ("#ffc46b", 0.7),
    "moonlight": ("#9fb8ff", 0.45),
    "candlelight": ("#ffae50", 0.6),
    "backlit": ("#ffffff", 0.95),
    "dramatic": ("#ffffff", 0.25),
    "daylight": ("#ffffff", 0.5),
    "studio": ("#ffffff", 0.65),
}


def look_of(scene: Scene) -> Look:
    return LOOKS.get(scene.style or "", DEFAULT_LOOK)


def draw_background(
    scene: Scene,
    size: tuple[int, int],
    rng: random.Random,
    head: tuple[float, float, float] | None = None,
    ss: int = 1,
) -> Image.Image:
    """The backdrop at `size` (`ss` times the final size when supersampling: the smooth parts are made
    at 1x and scaled up, only the shapes are drawn at full resolution)."""
    w, h = size
    look = look_of(scene)
    place = PLACES.get(scene.setting)
    if place:
        top, bottom = hexc(place[0]), hexc(place[1])
    else:
        top, bottom = look.backgrounds[scene.palette % len(look.backgrounds)]
    canvas = vertical_gradient((max(1, w // ss), max(1, h // ss)), top, bottom)
    cx, cy, r = head or (w / 2, h * 0.45, min(w, h) * 0.2)
    lighting = scene.lighting.split(", ")[0]
    glow, strength = _GLOW.get(lighting, ("#ffffff", 0.55))
    glow_colour = look.glow if not place and lighting in ("soft", "studio") else hexc(glow)
    if not place:
        soft_spot(canvas, (cx / ss, cy / ss), r * 2.6 / ss, glow_colour, strength)
    if ss > 1:
        canvas = canvas.resize(size, Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(canvas)
    if place and place[2]:
        place[2](draw, w, h, rng)
        soft_spot(canvas, (cx, cy), r * 2.2, glow_colour, strength * 0.6)
    elif not place:
        _backdrop(draw, canvas, w, h, look, bottom, rng)
    if scene.framing.mirror:
        canvas = canvas.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return canvas


def _backdrop(
    draw: ImageDraw.ImageDraw,
    canvas: Image.Image,
    w: int,
    h: int,
    look: Look,
    bottom: RGB,
    rng: random.Random,
) -> None:
    """The style's own backdrop (used when the prompt names no setting)."""
    unit = min(w, h)
    if look.decor == "bokeh":
        for _ in range(9):
            x, y, rad = rng.random() * w, rng.random() * h * 0.8, unit * (0.03 + rng.random() * 0.07)
            base = canvas.getpixel((min(w - 1, max(0, round(x))), min(h - 1, max(0, round(y)))))
            draw.ellipse((x - rad, y - rad, x + rad, y + rad), fill=mix(base, WHITE, 0.22))  # type: ignore[arg-type]
    elif look.decor == "skyline":
        PLACES["neon city"][2](draw, w, h, rng)  # type: ignore[misc]
    elif look.decor == "sparkles":
        for _ in range(22):
            x, y, s = rng.random() * w, rng.random() * h, unit * (0.006 + rng.random() * 0.014)
            colour = mix(look.glow, WHITE, rng.random() * 0.6)
            draw.polygon([(x, y - 3 * s), (x + s, y), (x, y + 3 * s), (x - s, y)], fill=colour)
            draw.polygon([(x - 3 * s, y), (x, y - s), (x + 3 * s, y), (x, y + s)], fill=colour)
    elif look.decor == "blinds":
        for k in range(6):
            x0 = w * (0.1 + k * 0.2) + rng.random() * unit * 0.02
            band = unit * 0.06
            draw.polygon(
                [(x0, 0), (x0 + band, 0), (x0 + band - w * 0.35, h), (x0 - w * 0.35, h)],
                fill=mix(bottom, WHITE, 0.12),
            )


def _face_pen(canvas: Image.Image, face: FaceBox) -> tuple[Pen, float, float]:
    pen, ry = Pen.for_face(canvas, face)
    return pen, ry, ry + 0.28


def draw_outfit(canvas: Image.Image, scene: Scene, face: FaceBox, neck: bool = False) -> None:
    """The outfit below the face box (x, y, w, h): torso, then the kind's marks and extras."""
    pen, ry, sy = _face_pen(canvas, face)
    half_w = 1.55 if scene.feminine else 1.8
    bottom = (canvas.height - pen.cy) / pen.r + 1
    outfit_room.behind(pen, scene, sy, half_w, bottom)
    outfit_room.torso(pen, scene, sy, half_w, bottom, False, sy + 3.1, sy + 7.0)
    neck_w = 0.36 if scene.feminine else 0.42
    if neck:
        pen.rrect(-neck_w, 0.4 * ry, neck_w, sy + 0.35, 0.1, mix(scene.skin, (0, 0, 0), 0.2))
    outfit_room.details(pen, scene, sy, half_w, bottom, neck_w)


def draw_accessories(canvas: Image.Image, scene: Scene, face: FaceBox) -> None:
    """Headwear, eyewear and accessories on the head in the face box (x, y, w, h)."""
    pen, ry, sy = _face_pen(canvas, face)
    draw_extras.on_face(pen, scene, ry)
    draw_extras.head_opening(pen, scene, ry)
    draw_extras.on_head(pen, scene, ry, sy)


def draw_facial_hair(canvas: Image.Image, scene: Scene, face: FaceBox) -> None:
    pen, ry, _ = _face_pen(canvas, face)
    draw_hair.facial_hair(pen, scene, ry)


def render_scene(scene: Scene, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """The whole text avatar at `size`, before the style's finish (supersampled 2x when small enough)."""
    width, height = size
    ss = 2 if width * height <= SUPERSAMPLE_MAX_PIXELS else 1
    w, h = width * ss, height * ss
    look = look_of(scene)
    head = geometry(w, h, scene, look)
    canvas = draw_background(scene, (w, h), rng, head, ss)
    draw_person(canvas, scene, look, head)
    if ss > 1:
        # a 2x2 box average is exact supersampling; LANCZOS would cost ~40 ms more at 1024x1024
        canvas = canvas.reduce(ss)
    return canvas
