"""The person: where the head goes for the pose and framing, then body and outfit, head with soft
shading, face and expression, hair, facial hair and accessories, in painting order."""

from __future__ import annotations

from PIL import Image

from avatarsmith.renderer import draw_extras, draw_hair, draw_outfit
from avatarsmith.renderer.palette import INK, RGB, WHITE, Look, hexc, mix, shade
from avatarsmith.renderer.pen import Pen
from avatarsmith.renderer.scene import Scene

Head = tuple[float, float, float]  # centre x, centre y, radius in canvas pixels


def head_ry(s: Scene) -> float:
    """The head's half-height in head radii."""
    return 1.1 if s.child else 1.17 if s.age == "teen" else 1.24


def geometry(w: int, h: int, s: Scene, look: Look) -> Head:
    """(head centre x, head centre y, head radius) for the pose, moved by the variation's framing."""
    f = s.framing
    young = 0.86 if s.child else 0.93 if s.age == "teen" else 1.0
    if s.pose == "full_body":
        ry = head_ry(s)
        total = (ry * 2 + 0.28 + 2.5 + 2.6 + 0.1) if s.child else (ry * 2 + 0.28 + 3.1 + 3.9 + 0.1)
        scale = (0.72 if s.child else 0.8) - 1.6 * look.letterbox
        r = min(scale * h / total, w / 5.0) * min(1.0, f.zoom)
        feet = h * (0.95 - look.letterbox * 0.8)
        return w / 2 + f.shift * w, feet - (total - ry) * r, r
    if s.pose == "half_body":
        r = min(0.125 * h, 0.19 * w) * young * f.zoom
        return w / 2 + f.shift * w, h * (0.33 if s.child else 0.3) + (f.zoom - 1) * h * 0.1, r
    r = min(0.22 * h, 0.3 * w) * young * f.zoom
    return w / 2 + f.shift * w, h * (0.5 if s.child else 0.47) + (f.zoom - 1) * h * 0.12, r


def draw_person(canvas: Image.Image, s: Scene, look: Look, head: Head) -> None:
    cx, cy, r = head
    pen = Pen(canvas, cx, cy, r, flip=s.framing.mirror)
    ry = head_ry(s)
    full = s.pose == "full_body"
    sy = ry + 0.28  # shoulders start under the chin; widths in head radii
    half_w = 1.35 if s.child else 1.5 if s.age == "teen" else 1.55 if s.feminine else 1.8
    bottom = (canvas.height - cy) / r + 1
    hip = sy + (2.5 if s.child else 3.1)
    feet = hip + (2.6 if s.child else 3.9)
    outline = INK if look.outline >= 0.05 else shade(s.skin, 0.72)

    draw_outfit.behind(pen, s, sy, half_w, feet if full else bottom)
    draw_extras.behind_head(pen, s, ry)
    draw_hair.hair_back(pen, s, ry, sy)
    draw_outfit.torso(pen, s, sy, half_w, bottom, full, hip, feet)
    neck = 0.3 if s.child else 0.36 if s.feminine else 0.42
    pen.rrect(-neck, 0.4 * ry, neck, sy + 0.35, 0.1, shade(s.skin, 0.8))
    draw_outfit.details(pen, s, sy, half_w, _garment_bottom(s, hip, feet) if full else bottom, neck)
    draw_hair.hair_front(pen, s, ry, sy)

    draw_extras.ears(pen, s, ry, outline, look.outline * 0.8)
    pen.ellipse(-1, -ry, 1, ry, fill=s.skin, outline=outline, width=look.outline)
    if look.outline < 0.05:  # volume: soft shade away from the light, a warm highlight on the lit cheek
        pen.shade_ellipse(-1, -ry, 1, ry, shade(s.skin, 0.78), 0.55 if s.style == "realistic" else 0.4)
    _face(pen, s, look, ry)
    draw_hair.facial_hair(pen, s, ry)
    draw_extras.on_face(pen, s, ry)
    draw_hair.hair_cap(pen, s, ry)
    draw_extras.head_opening(pen, s, ry)
    draw_extras.on_head(pen, s, ry, sy)


def _garment_bottom(s: Scene, hip: float, feet: float) -> float:
    """Where the outfit's marks stop in a full-body pose: long coats below the hip, others at it."""
    if s.outfit in ("dress", "gown"):
        return hip + (feet - hip) * 0.4
    return hip + 1.5 if s.outfit in ("robe", "lab coat", "coat", "kimono") else hip


def _brows(s: Scene) -> tuple[float, float]:
    """(inner end lift, outer end lift) of the brows for the expression, in head radii."""
    return {
        "angry": (-0.1, 0.06),
        "sad": (0.1, -0.05),
        "surprised": (0.14, 0.14),
        "thoughtful": (0.06, 0.0),
    }.get(s.expression, (0.0, 0.0))


def _face(pen: Pen, s: Scene, look: Look, ry: float) -> None:
    skin, skin_dark = s.skin, shade(s.skin, 0.8)
    e = look.eye_scale * (1.15 if s.child else 1.0) * (1.12 if s.expression == "surprised" else 1.0)
    hair = s.hair
    brow = shade(hair, 0.75) if hair is not None and sum(hair) < 560 else hexc("#5a4030")
    ey = 0.06 * ry
    if s.senior:
        for y in (-0.52, -0.4):
            pen.arc(-0.38, y * ry, 0.38, y * ry + 0.18, 200, 340, skin_dark, 0.025)
        for side in (-1, 1):  # smile lines beside the mouth
            pen.line(
                [(side * 0.36, 0.42 * ry), (side * 0.42, 0.62 * ry), (side * 0.36, 0.78 * ry)],
                skin_dark,
                0.025,
            )
    elif s.age == "middle-aged":
        pen.arc(-0.32, -0.46 * ry, 0.32, -0.46 * ry + 0.14, 200, 340, shade(skin, 0.86), 0.02)
    if s.blush:
        blush = mix(skin, hexc("#f08090"), 0.35)
        for side in (-1, 1):
            pen.ellipse(side * 0.6 - 0.16, 0.36 * ry - 0.08, side * 0.6 + 0.16, 0.36 * ry + 0.08, fill=blush)
    inner, outer = _brows(s)
    for side in (-1, 1):
        x = side * 0.38
        bw = 0.075 if s.masculine else 0.055
        closed = s.eye_state == "happy" or (s.eye_state == "wink" and side > 0)
        by = ey - 0.27 - 0.05 * e
        pen.line(
            [
                (x - side * 0.2, by - inner),
                (x, by - 0.05 - (inner + outer) / 2),
                (x + side * 0.2, by - outer),
            ],
            brow,
            bw,
        )
        if closed:  # a closed, smiling eye: an upward arc
            pen.arc(x - 0.19 * e, ey - 0.06 * e, x + 0.19 * e, ey + 0.16 * e, 200, 340, INK, 0.05)
            continue
        pen.ellipse(x - 0.19 * e, ey - 0.125 * e, x + 0.19 * e, ey + 0.125 * e, fill=hexc("#fbfbfb"))
        ir = 0.105 * e * (0.85 if s.expression == "surprised" else 1.0)
        look_x = 0.04 if s.expression == "thoughtful" else 0.0
        pen.ellipse(x - ir + look_x, ey - ir + 0.01, x + ir + look_x, ey + ir + 0.01, fill=s.eyes)
        pen.ellipse(
            x - ir * 0.5 + look_x,
            ey - ir * 0.5 + 0.01,
            x + ir * 0.5 + look_x,
            ey + ir * 0.5 + 0.01,
            fill=hexc("#1d1718"),
        )
        hl = 0.032 * e
        pen.ellipse(
            x - ir * 0.35 - hl, ey - ir * 0.4 - hl, x - ir * 0.35 + hl, ey - ir * 0.4 + hl, fill=WHITE
        )
        lash = 0.045 if s.feminine or look.eye_scale > 1.2 else 0.032
        pen.arc(x - 0.2 * e, ey - 0.13 * e, x + 0.2 * e, ey + 0.13 * e, 195, 345, INK, lash)
        if s.expression in ("angry", "serious"):  # lids lowered a little
            pen.chord(x - 0.2 * e, ey - 0.14 * e, x + 0.2 * e, ey + 0.1 * e, 180, 360, skin)
            pen.arc(x - 0.2 * e, ey - 0.14 * e, x + 0.2 * e, ey + 0.1 * e, 180, 360, INK, lash)
    ny = 0.36 * ry
    pen.arc(-0.1, ny - 0.07, 0.1, ny + 0.06, 20, 160, shade(skin, 0.68), 0.04)
    pen.line([(0.02, ny - 0.35), (0.06, ny - 0.05)], shade(skin, 0.88), 0.025)
    _mouth(pen, s, skin, 0.64 * ry)


def _mouth(pen: Pen, s: Scene, skin: RGB, my: float) -> None:
    lips = mix(skin, hexc("#b8404f"), 0.55)
    mouth = s.mouth
    if mouth == "smile":
        pen.chord(-0.28, my - 0.15, 0.28, my + 0.17, 0, 180, hexc("#8e2f3c"))
        pen.draw.rectangle(pen.box(-0.21, my + 0.005, 0.21, my + 0.055), fill=hexc("#fbfbfb"))
        pen.chord(-0.13, my + 0.06, 0.13, my + 0.16, 180, 360, hexc("#e0707a"))
    elif mouth == "laugh":
        pen.chord(-0.32, my - 0.2, 0.32, my + 0.3, 0, 180, hexc("#7a2432"))
        pen.draw.rectangle(pen.box(-0.24, my + 0.05, 0.24, my + 0.1), fill=hexc("#fbfbfb"))
        pen.chord(-0.16, my + 0.14, 0.16, my + 0.28, 180, 360, hexc("#e0707a"))
    elif mouth == "open":
        pen.ellipse(-0.12, my - 0.08, 0.12, my + 0.22, fill=hexc("#6a1f2c"))
    elif mouth == "frown":
        pen.arc(-0.2, my + 0.02, 0.2, my + 0.22, 205, 335, lips, 0.05)
    elif mouth == "smirk":
        pen.line([(-0.16, my + 0.04), (0.06, my + 0.04), (0.2, my - 0.04)], lips, 0.05)
    elif mouth == "serious":
        pen.line([(-0.16, my + 0.02), (0.16, my + 0.02)], lips, 0.045)
    else:
        pen.arc(-0.2, my - 0.1, 0.2, my + 0.06, 25, 155, lips, 0.05)
