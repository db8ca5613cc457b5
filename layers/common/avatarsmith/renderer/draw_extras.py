"""Headwear, eyewear and accessories, drawn around a head (head units: the head is (-1, -ry, 1, ry)).

`ears(...)` and `behind_head(...)` go before the head is drawn, `on_face(...)` after the face (freckles,
scars, makeup, masks), `on_head(...)` after the hair (hats, glasses, headphones, earrings, necklace...).
"""

from __future__ import annotations

import math

from avatarsmith.renderer.draw_hair import Mask
from avatarsmith.renderer.palette import RGB, WHITE, hexc, mix, shade
from avatarsmith.renderer.pen import Pen
from avatarsmith.renderer.scene import Scene

GOLD: RGB = hexc("#e2b33c")
INK: RGB = hexc("#26262b")


def behind_head(pen: Pen, s: Scene, ry: float) -> None:
    if "halo" in s.accessories:
        pen.ellipse(-0.9, -ry - 0.75, 0.9, -ry - 0.3, outline=GOLD, width=0.12)
    if s.headwear == "hood":
        c = shade(s.clothes, 0.85)
        pen.ellipse(-1.45, -ry - 0.45, 1.45, ry + 0.9, fill=c)
        pen.polygon([(-1.45, 0.2), (1.45, 0.2), (1.9, ry + 1.6), (-1.9, ry + 1.6)], c)
    if s.headwear == "hijab":
        c = s.headwear_colour
        pen.ellipse(-1.32, -ry - 0.3, 1.32, ry + 0.55, fill=c)
        pen.polygon([(-1.25, 0.2), (1.25, 0.2), (1.75, ry + 1.55), (-1.75, ry + 1.55)], c)


def ears(pen: Pen, s: Scene, ry: float, outline: RGB, width: float) -> None:
    ey = 0.06 * ry
    elf = "elf ears" in s.accessories
    for side in (-1, 1):
        if elf:
            pen.polygon(
                [(side * 0.85, ey - 0.15), (side * 1.55, ey - 0.75), (side * 1.05, ey + 0.3)],
                s.skin,
                outline,
                width,
            )
        ex0, ex1 = (1.0 - 0.22, 1.0 + 0.16) if side > 0 else (-1.0 - 0.16, -1.0 + 0.22)
        pen.ellipse(ex0, ey - 0.24, ex1, ey + 0.26, fill=s.skin, outline=outline, width=width)


def on_face(pen: Pen, s: Scene, ry: float) -> None:
    ey, my = 0.06 * ry, 0.64 * ry
    acc = s.accessories
    if "freckles" in acc:
        for side in (-1, 1):
            for dx, dy in ((0.45, 0.3), (0.6, 0.25), (0.52, 0.42), (0.7, 0.38), (0.38, 0.4)):
                pen.ellipse(
                    side * dx - 0.025,
                    dy * ry - 0.025,
                    side * dx + 0.025,
                    dy * ry + 0.025,
                    fill=shade(s.skin, 0.72),
                )
    if "makeup" in acc:
        for side in (-1, 1):
            pen.arc(
                side * 0.38 - 0.22, ey - 0.22, side * 0.38 + 0.22, ey + 0.05, 200, 340, hexc("#7a4fa0"), 0.06
            )
        pen.chord(-0.24, my - 0.08, 0.24, my + 0.1, 0, 180, hexc("#b3152f"))
    if "face paint" in acc:
        for side in (-1, 1):
            for k in range(2):
                pen.line(
                    [(side * 0.45, 0.3 * ry + k * 0.14), (side * 0.85, 0.25 * ry + k * 0.14)],
                    hexc("#2f6db5"),
                    0.06,
                )
    if "scar" in acc:
        pen.line([(-0.3, ey - 0.42), (-0.55, ey + 0.4)], mix(s.skin, hexc("#a04050"), 0.55), 0.05)
    if "tattoo" in acc:
        for k in range(3):
            pen.arc(-0.7 + k * 0.12, ry + 0.05, -0.3 + k * 0.12, ry + 0.45, 90, 270, hexc("#2c3e50"), 0.03)
    if "implants" in acc:
        pen.line([(0.55, -0.35 * ry), (0.85, -0.1 * ry), (0.85, 0.3 * ry)], hexc("#05d9e8"), 0.05)
        pen.ellipse(0.78, -0.02, 0.92, 0.12, fill=hexc("#ff2a6d"))
    if "piercing" in acc:
        pen.arc(0.08, 0.34 * ry, 0.22, 0.34 * ry + 0.16, 0, 300, GOLD, 0.03)
    if "mask" in acc:
        named = s.item_colours.get("mask")
        c = s.accessory_colour if named else INK if s.outfit == "robe" else hexc("#9fc6e6")
        pen.polygon(
            [(-0.9, 0.3 * ry), (0.9, 0.3 * ry), (0.75, ry * 0.92), (0, ry * 1.05), (-0.75, ry * 0.92)], c
        )
        for y in (0.5, 0.68):
            pen.line([(-0.6, y * ry), (0.6, y * ry)], shade(c, 0.8), 0.03)
        for side in (-1, 1):
            pen.line([(side * 0.9, 0.32 * ry), (side * 1.02, 0.05)], shade(c, 0.7), 0.03)


def _hat(pen: Pen, s: Scene, ry: float) -> None:
    kind, c = s.headwear, s.headwear_colour
    band, light = shade(c, 0.6), mix(c, WHITE, 0.25)
    top = -ry
    if kind == "fedora":
        pen.ellipse(-1.75, top * 0.78, 1.75, top * 0.42, fill=shade(c, 0.85))
        pen.polygon([(-0.95, top * 0.6), (-0.82, top - 0.55), (0.82, top - 0.55), (0.95, top * 0.6)], c)
        pen.chord(-0.82, top - 0.75, 0.82, top - 0.35, 180, 360, c)
        pen.rrect(-0.95, top * 0.8, 0.95, top * 0.6, 0.02, band)
    elif kind == "beanie":
        pen.chord(-1.12, top - 0.22, 1.12, ry * 0.1, 180, 360, c)
        pen.rrect(-1.14, top * 0.56, 1.14, top * 0.3, 0.1, shade(c, 0.85))
        for k in range(-4, 5):
            pen.line([(k * 0.24, top * 0.54), (k * 0.24, top * 0.32)], shade(c, 0.75), 0.03)
        pen.ellipse(-0.22, top - 0.5, 0.22, top - 0.06, fill=light)
    elif kind in ("cap", "peaked cap"):
        pen.chord(-1.08, top - 0.15, 1.08, ry * 0.02, 180, 360, c)
        visor = INK if kind == "peaked cap" else shade(c, 0.8)
        pen.ellipse(-1.2, top * 0.62, 1.2, top * 0.3, fill=visor)
        pen.line([(0, top - 0.12), (0, top * 0.52)], shade(c, 0.85), 0.04)
        pen.ellipse(-0.12, top * 0.85, 0.12, top * 0.65, fill=GOLD if kind == "peaked cap" else band)
    elif kind == "cowboy hat":
        pen.chord(-2.1, top * 0.95, 2.1, top * 0.25, 0, 180, shade(c, 0.85))
        pen.polygon(
            [
                (-2.1, top * 0.6),
                (-1.6, top * 0.85),
                (1.6, top * 0.85),
                (2.1, top * 0.6),
                (1.2, top * 0.5),
                (-1.2, top * 0.5),
            ],
            shade(c, 0.85),
        )
        pen.polygon(
            [(-0.95, top * 0.62), (-0.85, top - 0.6), (0, top - 0.4), (0.85, top - 0.6), (0.95, top * 0.62)],
            c,
        )
        pen.rrect(-0.95, top * 0.8, 0.95, top * 0.64, 0.02, band)
    elif kind == "top hat":
        pen.ellipse(-1.5, top * 0.78, 1.5, top * 0.45, fill=c)
        pen.rrect(-0.85, top - 1.4, 0.85, top * 0.62, 0.05, c)
        pen.rrect(-0.86, top * 0.95, 0.86, top * 0.72, 0.02, hexc("#8e2f3c"))
    elif kind in ("crown", "tiara"):
        tall, y0 = (0.8, top * 0.6) if kind == "crown" else (0.45, top * 0.45)
        half = 0.9 if kind == "crown" else 0.7
        pen.rrect(-half, y0 - 0.3, half, y0, 0.04, c)
        for k in range(5):
            x = -half + (k + 0.5) * (2 * half / 5)
            peak = tall * (1.0 if k % 2 == 0 else 0.75)
            pen.polygon([(x - half / 5, y0 - 0.25), (x, y0 - 0.25 - peak), (x + half / 5, y0 - 0.25)], c)
            pen.ellipse(x - 0.06, y0 - 0.31 - peak, x + 0.06, y0 - 0.19 - peak, fill=mix(c, WHITE, 0.5))
        pen.line([(-half, y0 - 0.02), (half, y0 - 0.02)], shade(c, 0.7), 0.04)
        for k, gem in enumerate(("#c0392b", "#2f6db5", "#2f8f5b")):
            gx = (k - 1) * half * 0.55
            pen.ellipse(gx - 0.08, y0 - 0.23, gx + 0.08, y0 - 0.07, fill=hexc(gem))
    elif kind in ("wizard hat", "party hat", "santa hat"):
        lean = 0.5 if kind == "santa hat" else 0.25
        height = 2.4 if kind == "wizard hat" else 1.6
        pen.polygon([(-1.0, top * 0.55), (1.0, top * 0.55), (lean, top - height)], c)
        if kind == "wizard hat":
            pen.ellipse(-1.8, top * 0.72, 1.8, top * 0.4, fill=shade(c, 0.85))
            for x, y in ((-0.3, -0.6), (0.2, -1.2), (0.05, -0.2)):
                pen.polygon(
                    [(x, top + y - 0.15), (x + 0.06, top + y), (x, top + y + 0.15), (x - 0.06, top + y)], GOLD
                )
        elif kind == "santa hat":
            pen.rrect(-1.1, top * 0.72, 1.1, top * 0.4, 0.2, WHITE)
            pen.ellipse(lean + 0.2, top - height - 0.1, lean + 0.6, top - height + 0.3, fill=WHITE)
        else:
            for k in range(3):
                pen.line(
                    [(-0.8 + k * 0.3, top * 0.6 - k * 0.45), (0.8 - k * 0.3, top * 0.6 - k * 0.45)],
                    GOLD,
                    0.08,
                )
    elif kind == "beret":
        pen.ellipse(-1.3, top - 0.45, 1.1, top * 0.45, fill=c)
        pen.ellipse(-0.1, top - 0.62, 0.1, top - 0.4, fill=c)
    elif kind in ("helmet", "hard hat"):
        pen.chord(-1.15, top - 0.25, 1.15, ry * 0.3, 180, 360, c)
        pen.arc(-0.8, top - 0.1, 0.4, ry * 0.1, 200, 260, light, 0.08)
        if kind == "hard hat":
            pen.ellipse(-1.45, top * 0.3, 1.45, top * 0.1, fill=shade(c, 0.9))
            pen.rrect(-0.1, top - 0.25, 0.1, top * 0.3, 0.02, shade(c, 0.85))
        else:
            pen.rrect(-0.1, top * 0.3, 0.1, 0.25 * ry, 0.03, shade(c, 0.8))  # nasal
            for side in (-1, 1):
                pen.rrect(side * 0.92, top * 0.2, side * 1.15, 0.45 * ry, 0.1, shade(c, 0.9))
    elif kind == "chef hat":
        pen.rrect(-0.95, top * 0.85, 0.95, top * 0.45, 0.05, shade(c, 0.95))
        for x in (-0.6, 0.0, 0.6):
            pen.ellipse(x - 0.6, top - 1.4, x + 0.6, top * 0.7, fill=c)
    elif kind == "graduation cap":
        pen.chord(-1.0, top - 0.2, 1.0, top * 0.35, 180, 360, c)
        pen.polygon([(-1.7, top * 0.82), (0, top * 1.15), (1.7, top * 0.82), (0, top * 0.55)], c)
        pen.line([(0, top * 0.85), (1.2, top * 0.75), (1.25, top * 0.2)], GOLD, 0.05)
    elif kind == "pirate hat":
        pen.polygon(
            [
                (-1.9, top * 0.55),
                (-1.1, top - 0.6),
                (0, top - 0.25),
                (1.1, top - 0.6),
                (1.9, top * 0.55),
                (0, top * 0.35),
            ],
            c,
        )
        pen.ellipse(-0.18, top * 0.92, 0.18, top * 0.65, fill=WHITE)
    elif kind == "bucket hat":
        pen.polygon([(-1.5, top * 0.3), (-0.95, top - 0.3), (0.95, top - 0.3), (1.5, top * 0.3)], c)
        pen.rrect(-1.0, top * 0.65, 1.0, top * 0.5, 0.02, band)
    elif kind == "straw hat":
        pen.ellipse(-2.2, top * 0.85, 2.2, top * 0.3, fill=c)
        pen.chord(-1.0, top - 0.45, 1.0, top * 0.45, 180, 360, shade(c, 0.95))
        pen.rrect(-1.0, top * 0.72, 1.0, top * 0.55, 0.02, hexc("#8e2f3c"))
    elif kind == "bandana":
        pen.chord(-1.08, top - 0.1, 1.08, ry * 0.2, 180, 360, c)
        for k in range(5):
            pen.ellipse(-0.8 + k * 0.4 - 0.05, top * 0.7, -0.8 + k * 0.4 + 0.05, top * 0.6, fill=WHITE)
        pen.polygon([(1.0, top * 0.45), (1.6, top * 0.2), (1.4, 0.1)], c)
    elif kind == "turban":
        pen.ellipse(-1.2, top - 0.7, 1.2, top * 0.35, fill=c)
        for k in range(3):
            pen.arc(-1.1, top - 0.5 + k * 0.25, 1.1, top * 0.3 + k * 0.1, 200, 340, shade(c, 0.8), 0.05)
        pen.ellipse(-0.15, top * 0.62, 0.15, top * 0.42, fill=GOLD)
    elif kind == "hijab":
        fold = shade(c, 0.82)
        pen.arc(-0.98, -ry * 0.86, 0.98, ry * 1.14, 200, 340, fold, 0.06)
        pen.arc(-1.15, -ry * 0.5, 1.15, ry * 1.45, 40, 140, fold, 0.05)
    elif kind == "hood":
        pen.arc(-1.2, -ry - 0.35, 1.2, ry + 0.6, 200, 340, shade(s.clothes, 0.7), 0.06)


def head_opening(pen: Pen, s: Scene, ry: float) -> None:
    """Scarf-like headwear leaves only the face: re-cover the hair around it (after the hair)."""
    if s.headwear not in ("hijab", "hood"):
        return
    c = s.headwear_colour if s.headwear == "hijab" else shade(s.clothes, 0.85)
    m = Mask(pen, -1.5, -ry - 0.5, 1.5, ry + 0.6)
    m.ellipse(-1.34, -ry - 0.32, 1.34, ry + 0.55, 255)
    if s.headwear == "hood":
        m.ellipse(-0.98, -ry * 0.8, 0.98, ry * 1.5, 0)
    else:
        m.ellipse(-0.86, -ry * 0.72, 0.86, ry * 1.0, 0)
    m.paste(c)


def on_head(pen: Pen, s: Scene, ry: float, sy: float) -> None:
    ey = 0.06 * ry
    acc, ac = s.accessories, s.accessory_colour
    if "necklace" in acc:
        pen.arc(-0.62, sy - 0.5, 0.62, sy + 0.75, 20, 160, GOLD, 0.05)
        pen.ellipse(-0.1, sy + 0.66, 0.1, sy + 0.9, fill=hexc("#2f6db5"))
    if "scarf" in acc:
        pen.rrect(-1.05, sy - 0.35, 1.05, sy + 0.35, 0.3, ac)
        pen.rrect(0.3, sy, 0.75, sy + 1.9, 0.12, shade(ac, 0.88))
        for y in (1.3, 1.6):
            pen.line([(0.32, sy + y), (0.73, sy + y)], mix(ac, WHITE, 0.4), 0.05)
    if "backpack" in acc:
        for side in (-1, 1):
            pen.rrect(side * 1.1 - 0.14, sy - 0.05, side * 1.1 + 0.14, sy + 2.5, 0.05, hexc("#3a3d42"))
    if (s.headwear and s.headwear not in ("hood",)) or s.headwear == "hood":
        _hat(pen, s, ry)
    if "cat ears" in acc:
        c = s.hair or s.headwear_colour
        for side in (-1, 1):
            pen.polygon([(side * 0.35, -ry * 0.95), (side * 0.95, -ry - 0.7), (side * 0.95, -ry * 0.55)], c)
            pen.polygon(
                [(side * 0.5, -ry * 0.95), (side * 0.85, -ry - 0.45), (side * 0.86, -ry * 0.75)],
                hexc("#f0a0b0"),
            )
    if "horns" in acc:
        for side in (-1, 1):
            pen.polygon(
                [(side * 0.4, -ry * 0.85), (side * 0.75, -ry * 0.75), (side * 1.05, -ry - 0.85)],
                hexc("#3b2e2a"),
            )
    if "headband" in acc:
        pen.arc(-1.02, -ry - 0.05, 1.02, ry * 0.6, 200, 340, ac, 0.14)
    if "hair bow" in acc:
        pen.polygon([(0.6, -ry * 0.8), (0.25, -ry - 0.25), (0.3, -ry * 0.6)], hexc("#e05080"))
        pen.polygon([(0.6, -ry * 0.8), (0.95, -ry - 0.25), (0.9, -ry * 0.55)], hexc("#e05080"))
    if "flower" in acc:
        for k in range(5):
            t = k * 2 * math.pi / 5
            x, y = -0.72 + 0.14 * math.cos(t), -ry * 0.72 + 0.14 * math.sin(t)
            pen.ellipse(x - 0.12, y - 0.12, x + 0.12, y + 0.12, fill=hexc("#f27d9a"))
        pen.ellipse(-0.8, -ry * 0.72 - 0.08, -0.64, -ry * 0.72 + 0.08, fill=hexc("#f6d04d"))
    if "earrings" in acc and s.headwear != "hijab":
        for side in (-1, 1):
            pen.ellipse(side * 1.02 - 0.09, ey + 0.26, side * 1.02 + 0.09, ey + 0.44, fill=GOLD)
            pen.ellipse(side * 1.02 - 0.06, ey + 0.46, side * 1.02 + 0.06, ey + 0.62, fill=GOLD)
    if "headphones" in acc:
        band = hexc("#2b2b30")
        pen.arc(-1.22, -ry - 0.35, 1.22, ry * 0.8, 180, 360, band, 0.16)
        for side in (-1, 1):
            pen.rrect(side * 1.05 - 0.24, ey - 0.4, side * 1.05 + 0.24, ey + 0.42, 0.16, band)
            pen.rrect(side * 1.1 - 0.12, ey - 0.26, side * 1.1 + 0.12, ey + 0.28, 0.1, ac)
    _eyewear(pen, s, ey)


def _eyewear(pen: Pen, s: Scene, ey: float) -> None:
    acc = s.accessories
    if "goggles" in acc:
        strap = hexc("#3a2a20")
        pen.rrect(-1.05, ey - 0.78, 1.05, ey - 0.55, 0.05, strap)
        for side in (-1, 1):
            pen.ellipse(side * 0.4 - 0.3, ey - 0.95, side * 0.4 + 0.3, ey - 0.38, fill=hexc("#8a6b35"))
            pen.ellipse(side * 0.4 - 0.22, ey - 0.88, side * 0.4 + 0.22, ey - 0.45, fill=hexc("#7fc4d8"))
    if "visor" in acc:
        pen.rrect(-1.05, ey - 0.22, 1.05, ey + 0.2, 0.12, hexc("#0b1b2b"))
        pen.rrect(-0.95, ey - 0.12, 0.95, ey + 0.08, 0.08, hexc("#05d9e8"))
        return
    if "eye mask" in acc:
        pen.polygon(
            [
                (-0.95, ey - 0.15),
                (-0.5, ey - 0.3),
                (0, ey - 0.15),
                (0.5, ey - 0.3),
                (0.95, ey - 0.15),
                (0.6, ey + 0.22),
                (0, ey + 0.05),
                (-0.6, ey + 0.22),
            ],
            s.accessory_colour,
        )
        for side in (-1, 1):
            pen.ellipse(side * 0.38 - 0.14, ey - 0.08, side * 0.38 + 0.14, ey + 0.08, fill=INK)
    if "eye patch" in acc:
        pen.line([(-0.98, ey - 0.55), (0.98, ey + 0.1)], INK, 0.04)
        pen.ellipse(0.38 - 0.24, ey - 0.2, 0.38 + 0.24, ey + 0.22, fill=INK)
    if "monocle" in acc:
        pen.ellipse(0.38 - 0.25, ey - 0.25, 0.38 + 0.25, ey + 0.25, outline=GOLD, width=0.045)
        pen.line([(0.55, ey + 0.2), (0.7, ey + 1.2)], GOLD, 0.02)
    if s.glasses:
        frame = INK
        lens = hexc("#202028") if s.glasses == "sun" else None
        for side in (-1, 1):
            x = side * 0.38
            pen.draw.rounded_rectangle(
                pen.box(x - 0.27, ey - 0.2, x + 0.27, ey + 0.19),
                radius=pen.w(0.09),
                fill=lens,
                outline=frame,
                width=pen.w(0.045),
            )
            if lens:
                pen.line([(x - 0.15, ey - 0.1), (x - 0.05, ey - 0.14)], hexc("#6a6a78"), 0.03)
            pen.line([(side * 0.65, ey - 0.08), (side * 0.99, ey - 0.12)], frame, 0.04)
        pen.arc(-0.13, ey - 0.12, 0.13, ey + 0.04, 200, 340, frame, 0.045)
