"""Hair (the cap on the head, hair falling behind and over the shoulders, bun, ponytail, braids) and
facial hair shaped to the jaw (stubble, goatee, moustache, beard, long beard)."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw

from avatarsmith.renderer.palette import RGB, WHITE, Box, mix, shade
from avatarsmith.renderer.pen import Pen
from avatarsmith.renderer.scene import Scene


class Mask:
    """An L mask over the head's neighbourhood, drawn in head units, pasted in one colour."""

    def __init__(self, pen: Pen, left: float, top: float, right: float, bottom: float):
        self.pen, self.r = pen, pen.r
        x0, y0, x1, y1 = pen.box(left, top, right, bottom)
        self.x0, self.y0 = x0, y0
        self.image = Image.new("L", (max(1, round(x1 - x0)), max(1, round(y1 - y0))), 0)
        self.draw = ImageDraw.Draw(self.image)

    def box(self, a: float, b: float, c: float, d: float) -> Box:
        x0, y0, x1, y1 = self.pen.box(a, b, c, d)
        return (x0 - self.x0, y0 - self.y0, x1 - self.x0, y1 - self.y0)

    def pt(self, x: float, y: float) -> tuple[float, float]:
        px, py = self.pen.pt(x, y)
        return (px - self.x0, py - self.y0)

    def ellipse(self, a: float, b: float, c: float, d: float, fill: int) -> None:
        self.draw.ellipse(self.box(a, b, c, d), fill=fill)

    def polygon(self, points: list[tuple[float, float]], fill: int) -> None:
        self.draw.polygon([self.pt(x, y) for x, y in points], fill=fill)

    def paste(self, colour: RGB) -> None:
        self.pen.canvas.paste(colour, (round(self.x0), round(self.y0)), self.image)


def _scallops(
    m: Mask, cx: float, cy: float, rx: float, ry: float, start: int, end: int, step: int, size: float
) -> None:
    for deg in range(start, end, step):
        t = math.radians(deg)
        px, py = cx + rx * math.cos(t), cy + ry * math.sin(t)
        m.ellipse(px - size, py - size, px + size, py + size, 255)


def hair_back(pen: Pen, s: Scene, ry: float, sy: float) -> None:
    """Hair behind the head and shoulders (drawn before the body for long hair, after it for braids)."""
    if s.hair is None or s.headwear in ("hijab", "helmet", "hood", "turban"):
        return
    dark = shade(s.hair, 0.82)
    if s.hair_length == "long" and not s.braids:
        bottom = sy + (1.6 if s.pose != "close_up" else 1.3)
        m = Mask(pen, -1.6, -ry - 0.4, 1.6, bottom + 0.4)
        m.polygon([(-1.15, -0.4 * ry), (1.15, -0.4 * ry), (1.3, bottom), (-1.3, bottom)], 255)
        m.ellipse(-1.18, -ry - 0.1, 1.18, ry * 0.8, 255)
        if s.hair_texture in ("wavy", "curly"):
            _scallops(m, 0, bottom - 0.1, 1.3, 0.12, 0, 181, 30, 0.2)
            for y in (0.2, 0.8, 1.4, 2.0):
                for side in (-1, 1):
                    m.ellipse(side * 1.25 - 0.16, y - 0.16, side * 1.25 + 0.16, y + 0.16, 255)
        m.paste(dark)
    elif s.hair_length == "medium":
        m = Mask(pen, -1.5, -ry - 0.3, 1.5, ry + 0.8)
        m.ellipse(-1.18, -ry - 0.1, 1.18, ry * 0.9, 255)
        m.polygon([(-1.18, 0), (1.18, 0), (1.2, ry * 0.95), (-1.2, ry * 0.95)], 255)
        m.paste(dark)
    if s.ponytail:
        pen.ellipse(0.75, -ry * 0.6, 1.55, ry * 0.9, fill=dark)
        pen.ellipse(0.9, ry * 0.4, 1.45, ry * 1.5, fill=dark)
    if s.bun:
        pen.ellipse(-0.45, -ry - 0.66, 0.45, -ry + 0.16, fill=s.hair)
        pen.arc(-0.32, -ry - 0.54, 0.32, -ry, 200, 260, mix(s.hair, WHITE, 0.25), 0.05)


def hair_front(pen: Pen, s: Scene, ry: float, sy: float) -> None:
    """Locks over the shoulders and braids (after the body)."""
    if s.hair is None or s.headwear in ("hijab", "helmet", "turban"):
        return
    if s.braids:
        for side in (-1, 1):
            for k in range(7):
                y = 0.1 * ry + k * 0.36
                x = side * (0.98 - k * 0.03)
                pen.ellipse(
                    x - 0.2, y - 0.2, x + 0.2, y + 0.2, fill=s.hair, outline=shade(s.hair, 0.7), width=0.03
                )
    elif s.hair_length == "long":
        bottom = sy + (0.9 if s.hair_texture in ("wavy", "curly") else 0.7)
        for side in (-1, 1):
            x0, x1 = (0.72, 1.18) if side > 0 else (-1.18, -0.72)
            pen.rrect(x0, -0.2 * ry, x1, bottom, 0.22, s.hair)
            if s.hair_texture in ("wavy", "curly"):
                for k in range(4):
                    y = 0.2 + k * 0.5
                    pen.ellipse(x0 - 0.08, y, x1 + 0.08, y + 0.42, fill=s.hair)


def hair_cap(pen: Pen, s: Scene, ry: float) -> None:
    """The hair on top of the head: an outer shape minus the face opening, through a mask."""
    if s.hair is None or s.headwear == "hijab":
        return
    afro, curly, wavy = s.hair_texture == "afro", s.hair_texture == "curly", s.hair_texture == "wavy"
    long_hair = s.hair_length in ("long", "medium")
    grow = 1.5 if afro else 1.3 if curly and long_hair else 1.12
    lower = ry * grow - 0.05 if long_hair else ry * (0.45 if afro else 0.3)
    if s.hair_length == "short" and not afro and not curly:
        grow, lower = 1.06, ry * 0.15
    m = Mask(pen, -2.0, -ry - 1.2, 2.0, ry + 0.4)
    outer = (-grow, -ry * grow - 0.05, grow, lower)
    m.ellipse(*outer, 255)
    ocy, orx, ory = (outer[1] + outer[3]) / 2, grow, (outer[3] - outer[1]) / 2
    if curly or afro:
        _scallops(m, 0.0, ocy, orx, ory, 150, 391, 13 if afro else 16, 0.3 if afro else 0.24)
    elif wavy:
        _scallops(m, 0.0, ocy, orx, ory, 170, 371, 25, 0.2)
    dx = s.part * 0.14
    hairline = -ry * (0.32 if s.fringe else 0.55)
    m.ellipse(-0.9 + dx, hairline, 0.9 + dx, ry * 1.9, 0)
    if s.fringe:
        for k in range(-3, 4):
            fx = k * 0.24 + dx * 0.5
            tip = hairline + 0.18 + (0.06 if k % 2 else 0)
            m.polygon([(fx - 0.2, hairline - 0.05), (fx + 0.2, hairline - 0.05), (fx, tip)], 255)
    if long_hair:
        m.polygon([(-2.0, ry * 0.55), (2.0, ry * 0.55), (2.0, ry + 0.4), (-2.0, ry + 0.4)], 0)
    m.paste(s.hair)
    # strands and a highlight on the crown
    strand = shade(s.hair, 0.78)
    pen.arc(-0.5 + dx, -ry - 0.1, 0.9 + dx, -ry * 0.2, 200, 260, strand, 0.04)
    pen.arc(-0.9 + dx, -ry - 0.05, 0.4 + dx, -ry * 0.25, 280, 340, strand, 0.04)
    pen.arc(-0.78, -ry - 0.02, 0.78, 0.2 * ry, 215, 255, mix(s.hair, WHITE, 0.3), 0.07)


def facial_hair(pen: Pen, s: Scene, ry: float) -> None:
    """Stubble, goatee, moustache, beard or long beard, following the jaw and leaving the mouth open."""
    kind = s.facial_hair
    if not kind:
        return
    colour = s.beard_colour
    my = 0.64 * ry
    if kind == "stubble":
        m = Mask(pen, -1.1, 0, 1.1, ry + 0.2)
        m.ellipse(-1.0, -ry, 1.0, ry, 255)
        m.ellipse(-1.6, -ry * 1.6, 1.6, ry * 0.5, 0)
        m.ellipse(-0.26, my - 0.1, 0.26, my + 0.12, 0)
        m.image = m.image.point(lambda v: v * 80 // 255)
        m.paste(shade(mix(colour, s.skin, 0.2), 0.8))
        return
    if kind in ("beard", "long beard"):
        m = Mask(pen, -1.2, -0.2, 1.2, ry + 1.6)
        m.ellipse(-1.03, -ry * 0.95, 1.03, ry * 1.1, 255)
        m.ellipse(-1.5, -ry * 1.6, 1.5, ry * 0.45, 0)  # cheek line
        if kind == "long beard":
            m.polygon(
                [(-0.86, ry * 0.55), (0.86, ry * 0.55), (0.5, ry * 1.55), (0, ry * 1.85), (-0.5, ry * 1.55)],
                255,
            )
            _scallops(m, 0, ry * 1.5, 0.45, 0.25, 20, 161, 35, 0.14)
        m.ellipse(-0.24, my - 0.08, 0.24, my + 0.14, 0)  # the mouth stays visible
        m.paste(colour)
        for x in (-0.5, -0.2, 0.2, 0.5):  # strands
            pen.line(
                [(x, ry * 0.8), (x * 0.8, ry * (1.35 if kind == "long beard" else 1.0))],
                shade(colour, 0.8),
                0.025,
            )
    if kind == "goatee":
        pen.polygon(
            [(-0.24, my + 0.1), (0.24, my + 0.1), (0.2, ry * 0.98), (0, ry * 1.06), (-0.2, ry * 0.98)], colour
        )
        pen.ellipse(-0.1, my + 0.12, 0.1, my + 0.22, fill=mix(s.skin, colour, 0.3))
    # the moustache: two tapered lobes under the nose
    for side in (-1, 1):
        pen.polygon(
            [
                (0.0, my - 0.2),
                (side * 0.18, my - 0.22),
                (side * 0.36, my - 0.1),
                (side * 0.42, my - 0.01),
                (side * 0.2, my - 0.08),
                (0.0, my - 0.1),
            ],
            shade(colour, 0.92),
        )
