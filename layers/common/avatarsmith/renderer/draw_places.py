"""The settings a prompt can name, each painted on a canvas already filled with its sky/wall gradient.

Every function takes (draw, w, h, rng) and uses only simple shapes, so a setting reads at thumbnail size.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import ImageDraw

from avatarsmith.renderer import draw_rooms
from avatarsmith.renderer.palette import RGB, WHITE, hexc, mix, shade

Painter = Callable[[ImageDraw.ImageDraw, int, int, random.Random], None]


def _windows(
    d: ImageDraw.ImageDraw,
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    step: float,
    lit: tuple[RGB, ...],
    rng: random.Random,
    p: float,
) -> None:
    wy = y0 + step
    while wy < y1 - step:
        wx = x0 + step * 0.6
        while wx < x1 - step:
            if rng.random() < p:
                d.rectangle(
                    (wx, wy, wx + step * 0.45, wy + step * 0.55), fill=lit[int(rng.random() * len(lit))]
                )
            wx += step
        wy += step


def neon_city(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    neon = (hexc("#ff2a6d"), hexc("#05d9e8"), hexc("#d1f7ff"), hexc("#f9c80e"))
    for layer, colour in ((0, hexc("#241245")), (1, hexc("#120a26"))):
        x = -rng.random() * unit * 0.1
        while x < w:
            bw, bh = (
                unit * (0.08 + rng.random() * 0.13),
                h * (0.3 + rng.random() * 0.4) * (1.15 - layer * 0.3),
            )
            d.rectangle((x, h - bh, x + bw, h), fill=colour)
            if layer:
                _windows(d, x, h - bh, x + bw, h, unit * 0.03, neon[:3], rng, 0.35)
            if layer and rng.random() < 0.35:  # a vertical neon sign
                sx = x + bw * 0.2
                d.rectangle(
                    (sx, h - bh * 0.9, sx + unit * 0.025, h - bh * 0.5),
                    outline=neon[int(rng.random() * 4)],
                    width=max(2, unit // 200),
                )
            x += bw + unit * (0.01 + layer * 0.02)
    d.rectangle((0, h * 0.9, w, h * 0.9 + max(2, unit * 0.006)), fill=neon[0])


def city(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    x = -rng.random() * unit * 0.1
    while x < w:
        bw, bh = unit * (0.1 + rng.random() * 0.14), h * (0.3 + rng.random() * 0.4)
        tone = mix(hexc("#6f7f94"), hexc("#b8c2cf"), rng.random())
        d.rectangle((x, h - bh, x + bw, h), fill=tone)
        _windows(d, x, h - bh, x + bw, h, unit * 0.035, (hexc("#e9f1fb"), shade(tone, 0.8)), rng, 0.8)
        x += bw + unit * 0.012
    d.rectangle((0, h * 0.93, w, h), fill=hexc("#4a4f57"))


def forest(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    d.rectangle((0, h * 0.78, w, h), fill=hexc("#3f6b35"))
    for layer, (trunk, leaf) in enumerate(
        ((hexc("#5b4a3a"), hexc("#4f7f4a")), (hexc("#3e2f22"), hexc("#2e5a2e")))
    ):
        for _ in range(7 + layer * 2):
            x = rng.random() * w
            tw = unit * (0.03 + layer * 0.02)
            top = h * (0.15 + rng.random() * 0.25)
            d.rectangle((x - tw / 2, top + unit * 0.15, x + tw / 2, h * 0.82), fill=trunk)
            s = unit * (0.12 + layer * 0.05 + rng.random() * 0.05)
            for k in range(3):
                y = top + k * s * 0.55
                d.polygon(
                    [
                        (x, y - s * 0.5),
                        (x + s * (0.6 + k * 0.2), y + s * 0.6),
                        (x - s * (0.6 + k * 0.2), y + s * 0.6),
                    ],
                    fill=leaf,
                )


def beach(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    d.ellipse((w * 0.72, h * 0.1, w * 0.72 + unit * 0.16, h * 0.1 + unit * 0.16), fill=hexc("#fff1b8"))
    d.rectangle((0, h * 0.55, w, h * 0.72), fill=hexc("#2f8fc4"))
    for k in range(6):
        y = h * (0.58 + k * 0.025)
        d.line(
            (rng.random() * w * 0.5, y, w * (0.5 + rng.random() * 0.5), y),
            fill=hexc("#7cc3e6"),
            width=max(1, unit // 200),
        )
    d.rectangle((0, h * 0.72, w, h), fill=hexc("#ecd39b"))
    x = w * 0.1
    d.line((x, h * 0.95, x + unit * 0.05, h * 0.35), fill=hexc("#8a6a45"), width=max(3, unit // 40))
    for dx, dy in ((-0.16, 0.06), (0.16, 0.05), (-0.1, -0.06), (0.12, -0.07), (0.0, 0.09)):
        d.polygon(
            [
                (x + unit * 0.05, h * 0.35),
                (x + unit * (0.05 + dx), h * 0.35 + unit * dy),
                (x + unit * (0.05 + dx * 0.5), h * 0.35 + unit * (dy + 0.04)),
            ],
            fill=hexc("#2f8a4f"),
        )


def space(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    for _ in range(140):
        x, y, s = rng.random() * w, rng.random() * h, unit * (0.002 + rng.random() * 0.004)
        d.ellipse((x - s, y - s, x + s, y + s), fill=mix(WHITE, hexc("#9fc2ff"), rng.random()))
    px, py, pr = w * 0.82, h * 0.22, unit * 0.12
    d.ellipse((px - pr, py - pr, px + pr, py + pr), fill=hexc("#d9874a"))
    d.ellipse((px - pr * 0.7, py - pr * 0.5, px + pr * 0.3, py - pr * 0.1), fill=hexc("#e8a66b"))
    d.arc(
        (px - pr * 1.8, py - pr * 0.45, px + pr * 1.8, py + pr * 0.45),
        160,
        380,
        fill=hexc("#f3d6a8"),
        width=max(2, unit // 100),
    )
    d.ellipse((w * 0.06, h * 0.7, w * 0.06 + unit * 0.07, h * 0.7 + unit * 0.07), fill=hexc("#8fa8d8"))


def castle(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    stone, dark = hexc("#8d8a93"), hexc("#6d6a73")
    d.rectangle((0, h * 0.55, w, h), fill=stone)
    for k in range(int(w / (unit * 0.08)) + 1):  # crenellations
        if k % 2 == 0:
            d.rectangle((k * unit * 0.08, h * 0.5, (k + 1) * unit * 0.08, h * 0.56), fill=stone)
    for tx in (0.1, 0.9):
        x0, x1 = w * tx - unit * 0.1, w * tx + unit * 0.1
        d.rectangle((x0, h * 0.25, x1, h), fill=dark)
        d.polygon(
            [(x0 - unit * 0.02, h * 0.25), (x1 + unit * 0.02, h * 0.25), (w * tx, h * 0.08)],
            fill=hexc("#5b2a6e"),
        )
        d.line((w * tx, h * 0.08, w * tx, h * 0.02), fill=hexc("#3a3a3a"), width=max(1, unit // 200))
        d.polygon(
            [(w * tx, h * 0.02), (w * tx + unit * 0.06, h * 0.035), (w * tx, h * 0.05)], fill=hexc("#c0392b")
        )
        d.rectangle((w * tx - unit * 0.02, h * 0.4, w * tx + unit * 0.02, h * 0.47), fill=hexc("#2a2430"))
    for row in range(8):
        y = h * 0.6 + row * h * 0.05
        for k in range(12):
            x = (k + 0.5 * (row % 2)) * w / 10
            d.rectangle((x, y, x + w / 10, y + h * 0.05), outline=dark, width=max(1, unit // 300))


def mountains(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    for layer, colour in enumerate((hexc("#8fa3c4"), hexc("#5f7595"), hexc("#3d5270"))):
        base = h * (0.6 + layer * 0.12)
        x = -w * 0.2 + rng.random() * w * 0.1
        while x < w:
            pw, ph = w * (0.3 + rng.random() * 0.25), h * (0.25 + rng.random() * 0.2) - layer * h * 0.04
            d.polygon([(x, base), (x + pw / 2, base - ph), (x + pw, base)], fill=colour)
            if layer < 2:
                d.polygon(
                    [
                        (x + pw / 2, base - ph),
                        (x + pw * 0.38, base - ph * 0.72),
                        (x + pw * 0.62, base - ph * 0.72),
                    ],
                    fill=WHITE,
                )
            x += pw * 0.6
        d.rectangle((0, base, w, h), fill=colour)
    d.rectangle((0, h * 0.88, w, h), fill=hexc("#4f7a45"))


def desert(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    d.ellipse((w * 0.7, h * 0.12, w * 0.7 + unit * 0.18, h * 0.12 + unit * 0.18), fill=hexc("#fff0c0"))
    for k, colour in enumerate((hexc("#e0b070"), hexc("#d39a55"), hexc("#c0843f"))):
        y = h * (0.62 + k * 0.1)
        d.ellipse((-w * 0.3 + k * w * 0.3, y, w * (0.9 + k * 0.1), y + h * 0.5), fill=colour)
    x = w * 0.12
    d.rounded_rectangle(
        (x - unit * 0.025, h * 0.55, x + unit * 0.025, h * 0.85), radius=unit * 0.025, fill=hexc("#3f7a45")
    )
    d.rounded_rectangle(
        (x - unit * 0.08, h * 0.6, x - unit * 0.04, h * 0.7), radius=unit * 0.02, fill=hexc("#3f7a45")
    )


def snow(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    d.ellipse((-w * 0.2, h * 0.72, w * 1.2, h * 1.3), fill=hexc("#f4f8fc"))
    for _ in range(6):
        x, s = rng.random() * w, unit * (0.1 + rng.random() * 0.06)
        y = h * (0.45 + rng.random() * 0.15)
        for k in range(3):
            yy = y + k * s * 0.5
            d.polygon(
                [
                    (x, yy - s * 0.5),
                    (x + s * (0.5 + k * 0.2), yy + s * 0.5),
                    (x - s * (0.5 + k * 0.2), yy + s * 0.5),
                ],
                fill=hexc("#2f5a4a"),
            )
            d.polygon(
                [(x, yy - s * 0.5), (x + s * 0.2, yy - s * 0.1), (x - s * 0.2, yy - s * 0.1)], fill=WHITE
            )
    for _ in range(70):
        x, y, s = rng.random() * w, rng.random() * h, unit * (0.003 + rng.random() * 0.005)
        d.ellipse((x - s, y - s, x + s, y + s), fill=WHITE)


def garden(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    d.rectangle((0, h * 0.65, w, h), fill=hexc("#6fae54"))
    for k in range(5):
        x = w * (k / 4)
        d.ellipse((x - unit * 0.14, h * 0.5, x + unit * 0.14, h * 0.72), fill=hexc("#3f7f3a"))
    petals = tuple(hexc(c) for c in ("#f27d9a", "#f6d04d", "#ffffff", "#b07ad8", "#f28c38"))
    for _ in range(60):
        x, y, s = rng.random() * w, h * (0.68 + rng.random() * 0.32), unit * (0.008 + rng.random() * 0.01)
        d.ellipse((x - s, y - s, x + s, y + s), fill=petals[int(rng.random() * len(petals))])


def underwater(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    for k in range(4):
        x = w * (0.1 + k * 0.25)
        d.polygon([(x, 0), (x + w * 0.08, 0), (x + w * 0.2, h), (x + w * 0.05, h)], fill=hexc("#2f8fb8"))
    for k in range(8):
        x = w * (k + 0.5) / 8
        pts = [(x + unit * 0.03 * (1 if j % 2 else -1), h - j * h * 0.05) for j in range(7)]
        d.line(pts, fill=hexc("#2f8a5a"), width=max(2, unit // 70), joint="curve")
    for _ in range(16):
        x, y, s = rng.random() * w, rng.random() * h, unit * (0.008 + rng.random() * 0.02)
        d.ellipse((x - s, y - s, x + s, y + s), outline=hexc("#cfefff"), width=max(1, unit // 300))
    for fx, fy in ((0.15, 0.3), (0.85, 0.45)):
        x, y = w * fx, h * fy
        d.ellipse(
            (x - unit * 0.05, y - unit * 0.025, x + unit * 0.05, y + unit * 0.025), fill=hexc("#f28c38")
        )
        d.polygon(
            [(x + unit * 0.04, y), (x + unit * 0.08, y - unit * 0.03), (x + unit * 0.08, y + unit * 0.03)],
            fill=hexc("#f28c38"),
        )


def battlefield(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    for k in range(6):
        x = w * (k / 5) + rng.random() * unit * 0.05
        bh = h * (0.2 + rng.random() * 0.2)
        d.polygon(
            [
                (x - unit * 0.08, h),
                (x - unit * 0.06, h - bh),
                (x, h - bh * 0.8),
                (x + unit * 0.03, h - bh),
                (x + unit * 0.08, h),
            ],
            fill=hexc("#3a2f2a"),
        )
    for _ in range(40):
        x, y, s = rng.random() * w, rng.random() * h, unit * 0.004
        d.ellipse((x - s, y - s, x + s, y + s), fill=hexc("#ffb050"))


def cave(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    for k in range(9):
        x = w * k / 8
        d.polygon(
            [(x - unit * 0.05, 0), (x + unit * 0.05, 0), (x, h * (0.1 + rng.random() * 0.15))],
            fill=hexc("#2a221c"),
        )
    d.ellipse((-w * 0.3, h * 0.75, w * 1.3, h * 1.4), fill=hexc("#2a221c"))
    for _ in range(5):
        x, y = rng.random() * w, h * (0.3 + rng.random() * 0.4)
        d.polygon(
            [(x, y), (x + unit * 0.03, y + unit * 0.06), (x - unit * 0.03, y + unit * 0.06)],
            fill=hexc("#5fd0e0"),
        )


def sky(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    for _ in range(5):
        x, y = rng.random() * w, h * (0.1 + rng.random() * 0.6)
        for k in range(4):
            s = unit * (0.05 + rng.random() * 0.04)
            d.ellipse(
                (x + k * s * 0.8 - s, y - s * (0.6 + (k % 2) * 0.4), x + k * s * 0.8 + s, y + s * 0.6),
                fill=WHITE,
            )


# setting -> (top colour, bottom colour, painter)
PLACES: dict[str, tuple[str, str, Painter | None]] = {
    "neon city": ("#0d0221", "#3a0d5c", neon_city),
    "city": ("#8fb8de", "#dfe9f3", city),
    "forest": ("#a8d0a0", "#e4f0d8", forest),
    "office": ("#e8e6e1", "#cfcac2", draw_rooms.office),
    "beach": ("#6ec3f0", "#d9f1fb", beach),
    "space": ("#05060f", "#1a1440", space),
    "library": ("#5a3a22", "#3a2414", draw_rooms.library),
    "castle": ("#8fb0d8", "#e8d8c0", castle),
    "mountains": ("#9cc8ef", "#e8f2fa", mountains),
    "cafe": ("#c89a6a", "#8a5f3c", draw_rooms.cafe),
    "desert": ("#f2a65a", "#fbe0b0", desert),
    "snow": ("#b8d4ea", "#eef5fb", snow),
    "garden": ("#a6d8f5", "#eaf7e0", garden),
    "underwater": ("#1f6fa0", "#0b2f50", underwater),
    "classroom": ("#efe6d2", "#d9ccb0", draw_rooms.classroom),
    "laboratory": ("#e3eef5", "#c2d3de", draw_rooms.laboratory),
    "hospital": ("#e6f2f0", "#c9dedb", draw_rooms.laboratory),
    "stage": ("#15101e", "#2a1f36", draw_rooms.stage),
    "kitchen": ("#f3efe8", "#e0d8cc", draw_rooms.kitchen),
    "living room": ("#e9d8c0", "#d4bc9c", draw_rooms.living_room),
    "battlefield": ("#5a4a44", "#c0703a", battlefield),
    "cave": ("#3a3028", "#15100c", cave),
    "sky": ("#5fa8e8", "#cfe8fa", sky),
}
