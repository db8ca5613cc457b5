"""Outfits: the torso in the outfit's colour, then what makes each kind recognisable at thumbnail size
(lapels and tie, hood and drawstrings, armour plates, epaulettes, a kimono's wrap and obi ...).

Coordinates are head units (see pen.Pen): the head is (-1, -ry, 1, ry), shoulders start at `sy`.
"""

from __future__ import annotations

from avatarsmith.renderer.palette import NAMED_COLOURS, RGB, WHITE, hexc, luma, mix, shade
from avatarsmith.renderer.pen import Pen
from avatarsmith.renderer.scene import Scene
from avatarsmith.renderer.wardrobe import colour_rgb

SHIRT: RGB = hexc("#f4f4f2")
GOLD: RGB = hexc("#d9b13b")


def _contrast(colour: RGB) -> RGB:
    return shade(colour, 0.7) if luma(colour) > 140 else mix(colour, WHITE, 0.35)


def behind(pen: Pen, s: Scene, sy: float, half_w: float, bottom: float) -> None:
    """What hangs behind the body: a cape, wings, a robe's hood."""
    if "wings" in s.accessories:
        for side in (-1, 1):
            pen.polygon(
                [
                    (side * 0.8, sy + 0.2),
                    (side * 3.2, sy - 2.6),
                    (side * 3.6, sy - 1.2),
                    (side * 2.8, sy + 0.6),
                    (side * 1.6, sy + 1.6),
                ],
                mix(WHITE, s.accessory_colour, 0.1),
            )
            for k in range(3):
                pen.line(
                    [
                        (side * (1.2 + k * 0.6), sy + 0.4 - k * 0.5),
                        (side * (2.8 + k * 0.2), sy - 1.6 + k * 0.5),
                    ],
                    hexc("#d0d4dc"),
                    0.05,
                )
    if "cape" in s.outfit_extras:
        cape = (
            NAMED_COLOURS["crimson"] if luma(s.clothes) > 60 or s.outfit != "suit" else NAMED_COLOURS["black"]
        )
        cape = colour_rgb(s.item_colours.get("cape", ""), cape) or cape
        pen.polygon(
            [
                (-half_w * 0.9, sy - 0.1),
                (half_w * 0.9, sy - 0.1),
                (half_w * 1.35, bottom),
                (-half_w * 1.35, bottom),
            ],
            shade(cape, 0.85),
        )
    if s.outfit == "robe" and s.headwear is None and s.style == "fantasy":
        pen.ellipse(-1.45, sy - 1.0, 1.45, sy + 0.7, fill=shade(s.clothes, 0.7))


def torso(
    pen: Pen, s: Scene, sy: float, half_w: float, bottom: float, full: bool, hip: float, feet: float
) -> None:
    """The body's silhouette in the outfit (and arms and legs for a full-body pose)."""
    clothes, dark = s.clothes, shade(s.clothes, 0.82)
    wide = half_w * (1.12 if s.outfit in ("armour", "spacesuit") else 1.0)
    if s.outfit == "tank top":
        pen.rrect(-wide, sy, wide, bottom, 0.95, s.skin)
        wide *= 0.72
    if full:
        matching = s.outfit in ("suit", "tuxedo", "uniform", "scrubs", "spacesuit", "armour")
        leg = (
            s.skin if s.outfit in ("dress", "gown") else shade(clothes, 0.9) if matching else hexc("#2f3e5c")
        )
        for side in (-1, 1):
            x0, x1 = (side * 0.1, side * 0.72) if side > 0 else (side * 0.72, side * 0.1)
            pen.rrect(min(x0, x1), hip - 0.3, max(x0, x1), feet - 0.1, 0.22, leg)
            pen.ellipse(
                min(x0, x1) - (0.25 if side < 0 else 0.02),
                feet - 0.32,
                max(x0, x1) + (0.25 if side > 0 else 0.02),
                feet + 0.05,
                fill=hexc("#2b2424"),
            )
        for side in (-1, 1):
            ax = side * (half_w * 0.86 + 0.12)
            sleeve = s.skin if s.outfit == "tank top" else dark
            pen.rrect(ax - 0.3, sy + 0.04, ax + 0.3, hip - 0.2, 0.28, sleeve)
            pen.ellipse(ax - 0.26, hip - 0.35, ax + 0.26, hip + 0.17, fill=s.skin)
        long_coat = s.outfit in ("robe", "lab coat", "coat", "kimono")
        pen.rrect(-half_w * 0.86, sy, half_w * 0.86, (hip + 1.6) if long_coat else hip + 0.05, 0.6, clothes)
        if s.outfit in ("dress", "gown"):
            waist, hem = sy + (hip - sy) * 0.62, hip + (feet - hip) * (0.85 if s.outfit == "gown" else 0.45)
            pen.polygon(
                [(-half_w * 0.8, waist), (half_w * 0.8, waist), (half_w * 1.25, hem), (-half_w * 1.25, hem)],
                clothes,
            )
        elif not long_coat:
            pen.rrect(-half_w * 0.86, hip - 0.35, half_w * 0.86, hip + 0.05, 0.1, shade(s.accent, 0.9))
    else:
        pen.rrect(-wide, sy, wide, bottom, 0.95, clothes)
        if s.pose == "half_body":  # arms hanging along the torso
            for side in (-1, 1):
                pen.line([(side * (wide - 0.55), sy + 1.1), (side * (wide - 0.55), bottom)], dark, 0.05)
    # a soft fold shadow on the side away from the light
    pen.rrect(
        wide * (0.5 if full else 0.55),
        sy + 0.3,
        wide * 0.86 if full else wide * 0.95,
        hip if full else bottom,
        0.5,
        shade(clothes, 0.9),
    )


def details(pen: Pen, s: Scene, sy: float, half_w: float, bottom: float, neck: float) -> None:
    """The neckline and the outfit's marks, drawn after the neck."""
    c, dark, kind = s.clothes, shade(s.clothes, 0.78), s.outfit
    skin_dark = shade(s.skin, 0.8)
    if kind in ("suit", "tuxedo", "blazer", "lab coat", "coat"):
        shirt = NAMED_COLOURS["blue"] if kind == "lab coat" else SHIRT if luma(c) < 200 else hexc("#dfe6ee")
        pen.polygon([(-0.75, sy - 0.02), (0.75, sy - 0.02), (0.45, bottom), (-0.45, bottom)], shirt)
        pen.polygon([(-neck, sy - 0.05), (neck, sy - 0.05), (0, sy + 0.42)], skin_dark)
        for side in (-1, 1):  # shirt collar points
            pen.polygon(
                [(side * 0.05, sy + 0.42), (side * (neck + 0.05), sy - 0.08), (side * 0.5, sy + 0.3)],
                shade(shirt, 0.94),
            )
        _neckwear(pen, s, sy)
        lapel = shade(c, 0.72) if kind != "tuxedo" else hexc("#111114")
        for side in (-1, 1):  # lapels framing the shirt
            pen.polygon(
                [
                    (side * 0.78, sy - 0.04),
                    (side * 0.3, sy + 1.5),
                    (side * 0.55, bottom),
                    (side * 1.1, bottom),
                    (side * 1.05, sy + 0.55),
                ],
                c,
            )
            pen.polygon(
                [
                    (side * 0.78, sy - 0.04),
                    (side * 0.3, sy + 1.5),
                    (side * 0.62, sy + 1.2),
                    (side * 1.02, sy + 0.55),
                    (side * 0.72, sy + 0.42),
                ],
                lapel,
            )
        if kind == "lab coat":
            pen.rrect(-1.35, sy + 1.5, -0.85, sy + 2.1, 0.05, shade(c, 0.9))
            for k, pc in enumerate(("#2f6db5", "#c0392b")):
                pen.line([(-1.25 + k * 0.15, sy + 1.3), (-1.25 + k * 0.15, sy + 1.6)], hexc(pc), 0.05)
        if kind == "coat":
            pen.rrect(-half_w, sy + 2.3, half_w, sy + 2.55, 0.05, dark)
        for y in (1.9, 2.4):  # buttons
            pen.ellipse(0.38 - 0.06, sy + y - 0.06, 0.38 + 0.06, sy + y + 0.06, fill=shade(c, 0.6))
    elif kind == "hoodie":
        pen.ellipse(-1.25, sy - 0.45, 1.25, sy + 0.75, fill=dark)  # the hood lying around the neck
        pen.ellipse(-0.85, sy - 0.35, 0.85, sy + 0.45, fill=shade(c, 0.6))
        pen.rrect(-neck, sy - 0.4, neck, sy + 0.2, 0.1, skin_dark)
        for side in (-1, 1):
            pen.line([(side * 0.3, sy + 0.4), (side * 0.34, sy + 1.5)], WHITE, 0.05)
            pen.ellipse(side * 0.34 - 0.07, sy + 1.45, side * 0.34 + 0.07, sy + 1.65, fill=WHITE)
        pen.rrect(-1.0, sy + 2.3, 1.0, sy + 3.2, 0.3, dark)
    elif kind == "armour":
        steel, light = c, mix(c, WHITE, 0.6)
        pen.rrect(-half_w * 0.75, sy + 0.35, half_w * 0.75, bottom, 0.5, shade(steel, 0.92))
        pen.line([(0, sy + 0.5), (0, bottom)], light, 0.06)
        pen.rrect(-neck - 0.2, sy - 0.25, neck + 0.2, sy + 0.45, 0.12, shade(steel, 0.7))  # gorget
        for side in (-1, 1):  # pauldrons
            x = side * (half_w - 0.35)
            for k in range(3):
                box = (x - 0.8 + k * 0.05, sy - 0.3 + k * 0.32, x + 0.8 - k * 0.05, sy + 1.2 + k * 0.32)
                pen.chord(*box, 180, 360, shade(steel, 1.05 - k * 0.1))
                pen.arc(*box, 180, 360, shade(steel, 0.55), 0.05)
                pen.arc(box[0] + 0.1, box[1] + 0.08, box[2] - 0.1, box[3], 215, 290, light, 0.05)
            pen.ellipse(x - 0.07, sy + 0.1, x + 0.07, sy + 0.24, fill=GOLD)
        for y in (1.3, 2.0, 2.7):
            pen.arc(-half_w * 0.7, sy + y - 0.3, half_w * 0.7, sy + y + 0.3, 20, 160, shade(steel, 0.7), 0.05)
        if s.style == "cyberpunk":
            neon = hexc("#05d9e8")
            pen.line([(-0.75, sy + 0.45), (-0.3, sy + 0.95), (0.3, sy + 0.95), (0.75, sy + 0.45)], neon, 0.07)
            for side in (-1, 1):
                pen.line(
                    [(side * (half_w - 1.0), sy + 0.05), (side * (half_w - 0.2), sy + 0.45)],
                    hexc("#ff2a6d"),
                    0.06,
                )
    elif kind in ("uniform", "scrubs", "spacesuit", "vest"):
        _uniform(pen, s, sy, half_w, bottom, neck)
    elif kind in ("dress", "gown"):
        pen.chord(-0.85, sy - 0.5, 0.85, sy + 0.75, 0, 180, skin_dark)
        pen.chord(-0.8, sy - 0.55, 0.8, sy + 0.7, 0, 180, s.skin)
        for side in (-1, 1):
            pen.line([(side * 0.7, sy), (side * 0.82, sy + 0.5)], c, 0.1)
        pen.rrect(-half_w * 0.8, sy + 2.1, half_w * 0.8, sy + 2.35, 0.05, _contrast(c))
        pen.arc(-0.8, sy - 0.55, 0.8, sy + 0.7, 0, 180, dark, 0.05)
    elif kind in ("robe", "kimono"):
        trim = GOLD if kind == "robe" else mix(c, WHITE, 0.7)
        inner = shade(c, 0.55) if kind == "robe" else SHIRT
        pen.polygon([(-0.7, sy - 0.05), (0.7, sy - 0.05), (0.0, sy + 1.9)], inner)
        pen.polygon([(-neck, sy - 0.05), (neck, sy - 0.05), (0, sy + 0.5)], skin_dark)
        width = 0.16 if kind == "robe" else 0.26
        pen.line([(-0.72, sy - 0.05), (0.25, sy + 2.2)], trim, width)
        pen.line([(0.72, sy - 0.05), (-0.05, sy + 1.7)], trim, width)
        if kind == "kimono":
            pen.rrect(-half_w, sy + 2.2, half_w, sy + 2.85, 0.05, _contrast(c))  # obi
            for k in range(-3, 4):
                pen.ellipse(
                    k * 0.45 - 0.08,
                    sy + 1.2 - 0.08,
                    k * 0.45 + 0.08,
                    sy + 1.2 + 0.08,
                    fill=mix(c, WHITE, 0.5),
                )
        else:
            pen.line([(-half_w * 0.7, sy + 2.6), (half_w * 0.7, sy + 2.6)], GOLD, 0.08)
    elif kind == "sweater":
        pen.chord(-neck - 0.16, sy - 0.45, neck + 0.16, sy + 0.42, 0, 180, dark)
        pen.chord(-neck - 0.02, sy - 0.4, neck + 0.02, sy + 0.28, 0, 180, skin_dark)
        for k in range(-4, 5):
            pen.line([(k * 0.07, sy + 0.05 + abs(k) * 0.0), (k * 0.07, sy + 0.3)], shade(c, 0.7), 0.02)
        for y in (1.1, 1.5, 1.9, 2.3):  # knit rows
            for k in range(-5, 6):
                x = k * 0.3
                pen.line([(x - 0.1, sy + y), (x, sy + y + 0.1), (x + 0.1, sy + y)], shade(c, 0.86), 0.03)
    elif kind == "shirt":
        pen.polygon([(-neck - 0.08, sy - 0.02), (neck + 0.08, sy - 0.02), (0, sy + 0.7)], skin_dark)
        for side in (-1, 1):
            pen.polygon(
                [(side * 0.02, sy + 0.7), (side * (neck + 0.1), sy - 0.12), (side * 0.72, sy + 0.35)],
                shade(c, 1.12),
            )
        pen.line([(0, sy + 0.7), (0, bottom)], shade(c, 0.75), 0.03)
        for y in (1.1, 1.6, 2.1, 2.6):
            pen.ellipse(0.1 - 0.05, sy + y - 0.05, 0.1 + 0.05, sy + y + 0.05, fill=shade(c, 0.7))
        if "tie" in s.outfit_extras or "bow tie" in s.outfit_extras:
            _neckwear(pen, s, sy + 0.1)
    elif kind == "jacket":
        tee = _contrast(c) if luma(c) < 90 else hexc("#2b2b30")
        pen.polygon([(-0.62, sy - 0.02), (0.62, sy - 0.02), (0.5, bottom), (-0.5, bottom)], tee)
        pen.chord(-neck - 0.1, sy - 0.4, neck + 0.1, sy + 0.38, 0, 180, skin_dark)
        for side in (-1, 1):  # collar flaps and the open front
            pen.polygon(
                [
                    (side * 0.55, sy - 0.2),
                    (side * 1.1, sy - 0.35),
                    (side * 1.0, sy + 0.5),
                    (side * 0.6, sy + 0.9),
                ],
                dark,
            )
            pen.line([(side * 0.55, sy + 0.3), (side * 0.5, bottom)], shade(c, 0.6), 0.05)
        pen.line([(-0.5, bottom - 0.2), (-0.55, sy + 0.4)], hexc("#b7b7bd"), 0.025)
    else:  # t-shirt, tank top: a crew neck and a small print
        pen.chord(-neck - 0.1, sy - 0.4, neck + 0.1, sy + 0.38, 0, 180, skin_dark)
        pen.arc(-neck - 0.1, sy - 0.4, neck + 0.1, sy + 0.38, 0, 180, dark, 0.08)
        if kind == "t-shirt":
            pen.ellipse(-0.35, sy + 1.2, 0.35, sy + 1.9, fill=_contrast(c))
            for side in (-1, 1):
                pen.line([(side * (half_w - 0.45), sy + 0.25), (side * (half_w - 0.3), sy + 1.3)], dark, 0.04)
    for extra in s.outfit_extras:
        if extra == "badge":
            pen.polygon(
                [(-1.0, sy + 1.0), (-0.7, sy + 1.0), (-0.7, sy + 1.3), (-0.85, sy + 1.45), (-1.0, sy + 1.3)],
                GOLD,
            )
        elif extra == "medals":
            for k in range(3):
                pen.rrect(
                    -1.15 + k * 0.2,
                    sy + 0.9,
                    -1.0 + k * 0.2,
                    sy + 1.2,
                    0.02,
                    (hexc("#c0392b"), hexc("#2f6db5"), GOLD)[k],
                )
                pen.ellipse(-1.16 + k * 0.2, sy + 1.2, -0.98 + k * 0.2, sy + 1.38, fill=GOLD)
        elif extra == "stethoscope":
            pen.arc(-0.75, sy - 0.6, 0.75, sy + 1.2, 0, 180, hexc("#2b2b30"), 0.06)
            pen.line([(0.55, sy + 0.6), (0.7, sy + 1.5)], hexc("#2b2b30"), 0.05)
            pen.ellipse(0.58, sy + 1.45, 0.84, sy + 1.71, fill=hexc("#c4c8cf"))


def _neckwear(pen: Pen, s: Scene, sy: float) -> None:
    tie = s.accent if "tie" in s.outfit_extras or "bow tie" in s.outfit_extras else None
    if tie is None:
        return
    if "bow tie" in s.outfit_extras:
        pen.polygon([(0, sy + 0.32), (-0.36, sy + 0.14), (-0.36, sy + 0.54)], tie)
        pen.polygon([(0, sy + 0.32), (0.36, sy + 0.14), (0.36, sy + 0.54)], tie)
        pen.ellipse(-0.09, sy + 0.23, 0.09, sy + 0.41, fill=shade(tie, 0.8))
        return
    pen.polygon(
        [(-0.13, sy + 0.36), (0.13, sy + 0.36), (0.2, sy + 1.6), (0, sy + 1.82), (-0.2, sy + 1.6)], tie
    )
    pen.polygon([(-0.16, sy + 0.28), (0.16, sy + 0.28), (0.1, sy + 0.46), (-0.1, sy + 0.46)], shade(tie, 0.8))


def _uniform(pen: Pen, s: Scene, sy: float, half_w: float, bottom: float, neck: float) -> None:
    c, kind = s.clothes, s.outfit
    skin_dark = shade(s.skin, 0.8)
    if kind == "spacesuit":
        pen.ellipse(-neck - 0.5, sy - 0.45, neck + 0.5, sy + 0.45, fill=hexc("#8d949e"))
        pen.ellipse(-neck - 0.25, sy - 0.3, neck + 0.25, sy + 0.25, fill=skin_dark)
        pen.rrect(-0.6, sy + 1.0, 0.6, sy + 1.8, 0.1, hexc("#d5d9df"))
        for k, col in enumerate(("#c0392b", "#2f6db5", "#e8b828")):
            pen.ellipse(-0.4 + k * 0.3, sy + 1.25, -0.24 + k * 0.3, sy + 1.41, fill=hexc(col))
        pen.rrect(-1.6, sy + 0.7, -1.05, sy + 1.05, 0.02, hexc("#2f6db5"))
        return
    if kind == "vest":
        pen.chord(-neck - 0.1, sy - 0.4, neck + 0.1, sy + 0.38, 0, 180, skin_dark)
        for side in (-1, 1):
            pen.polygon(
                [(side * 0.4, sy), (side * half_w, sy + 0.2), (side * half_w, bottom), (side * 0.3, bottom)],
                c,
            )
            for y in (1.4, 2.2):
                pen.rrect(side * 0.35, sy + y, side * (half_w - 0.05), sy + y + 0.16, 0.02, hexc("#dfe3e8"))
        return
    pen.polygon([(-neck - 0.1, sy - 0.02), (neck + 0.1, sy - 0.02), (0, sy + 0.75)], skin_dark)
    if kind == "scrubs":
        pen.rrect(-1.2, sy + 1.3, -0.7, sy + 1.8, 0.05, shade(c, 0.85))
        return
    for side in (-1, 1):  # collar, epaulettes, breast pockets, gold buttons
        pen.polygon(
            [(side * 0.02, sy + 0.75), (side * (neck + 0.12), sy - 0.12), (side * 0.78, sy + 0.3)],
            shade(c, 0.8),
        )
        pen.rrect(side * (half_w - 0.9), sy + 0.02, side * (half_w - 0.2), sy + 0.28, 0.06, GOLD)
        pen.rrect(side * 0.45, sy + 1.1, side * 1.05, sy + 1.55, 0.05, shade(c, 0.85))
    for y in (1.0, 1.5, 2.0, 2.5):
        pen.ellipse(-0.07, sy + y - 0.07, 0.07, sy + y + 0.07, fill=GOLD)
