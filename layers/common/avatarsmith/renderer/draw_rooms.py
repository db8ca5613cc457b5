"""Indoor settings (office, library, cafe, classroom, laboratory, stage, kitchen, living room), each
painted with simple shapes on a canvas already filled with its wall gradient (see draw_places)."""

from __future__ import annotations

import random

from PIL import ImageDraw

from avatarsmith.renderer.palette import WHITE, hexc


def office(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    frame = hexc("#8d96a3")
    for k in range(2):  # big windows with a city beyond
        x0 = w * (0.04 + k * 0.56)
        d.rectangle(
            (x0, h * 0.1, x0 + w * 0.38, h * 0.62),
            fill=hexc("#bcd6ee"),
            outline=frame,
            width=max(2, unit // 90),
        )
        for j in range(4):
            bx = x0 + w * 0.03 + j * w * 0.09
            d.rectangle((bx, h * (0.36 - rng.random() * 0.15), bx + w * 0.06, h * 0.62), fill=hexc("#9fb4c9"))
        d.line((x0 + w * 0.19, h * 0.1, x0 + w * 0.19, h * 0.62), fill=frame, width=max(2, unit // 120))
    d.rectangle((0, h * 0.8, w, h), fill=hexc("#7a5a3c"))  # desk
    px = w * 0.9
    d.rectangle((px - unit * 0.04, h * 0.68, px + unit * 0.04, h * 0.8), fill=hexc("#c9c2b6"))
    for k in range(5):
        d.ellipse(
            (px - unit * 0.09 + k * unit * 0.035, h * 0.55, px - unit * 0.03 + k * unit * 0.035, h * 0.7),
            fill=hexc("#3f7f4a"),
        )


def library(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    shelf, step = hexc("#4a2e1a"), h * 0.16
    books = tuple(
        hexc(c) for c in ("#8e2f3c", "#2f4f7f", "#3f6b35", "#c9a44a", "#6b3f7f", "#a0522d", "#2c3e50")
    )
    y = h * 0.05
    while y < h:
        d.rectangle((0, y + step * 0.88, w, y + step), fill=shelf)
        x = 0.0
        while x < w:
            bw, bh = unit * (0.018 + rng.random() * 0.025), step * (0.55 + rng.random() * 0.3)
            d.rectangle(
                (x, y + step * 0.88 - bh, x + bw, y + step * 0.88), fill=books[int(rng.random() * len(books))]
            )
            d.line(
                (x, y + step * 0.88 - bh * 0.7, x + bw, y + step * 0.88 - bh * 0.7),
                fill=hexc("#d9c27a"),
                width=max(1, unit // 400),
            )
            x += bw + unit * 0.003
        y += step


def cafe(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    board = (w * 0.06, h * 0.12, w * 0.36, h * 0.48)
    d.rectangle(board, fill=hexc("#2c3330"), outline=hexc("#7a5a3c"), width=max(2, unit // 60))
    for k in range(5):
        y = board[1] + (k + 1) * (board[3] - board[1]) / 6
        d.line(
            (board[0] + w * 0.03, y, board[0] + w * (0.12 + rng.random() * 0.14), y),
            fill=hexc("#e8e2d0"),
            width=max(1, unit // 180),
        )
    for lx in (0.55, 0.8):
        d.line((w * lx, 0, w * lx, h * 0.18), fill=hexc("#2b2b2b"), width=max(1, unit // 250))
        d.chord(
            (w * lx - unit * 0.07, h * 0.14, w * lx + unit * 0.07, h * 0.26), 180, 360, fill=hexc("#2f4f4f")
        )
        d.ellipse((w * lx - unit * 0.03, h * 0.2, w * lx + unit * 0.03, h * 0.25), fill=hexc("#ffe7a0"))
    d.rectangle((0, h * 0.78, w, h), fill=hexc("#6b4226"))
    for cx in (0.12, 0.88):
        d.rectangle((w * cx - unit * 0.035, h * 0.7, w * cx + unit * 0.035, h * 0.78), fill=WHITE)
        d.arc(
            (w * cx + unit * 0.02, h * 0.715, w * cx + unit * 0.06, h * 0.755),
            270,
            90,
            fill=WHITE,
            width=max(1, unit // 250),
        )


def classroom(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    d.rectangle(
        (w * 0.05, h * 0.12, w * 0.95, h * 0.55),
        fill=hexc("#2f5a45"),
        outline=hexc("#8a6a45"),
        width=max(2, unit // 50),
    )
    for k in range(3):
        y = h * (0.22 + k * 0.1)
        d.line(
            (w * 0.1, y, w * (0.3 + rng.random() * 0.2), y), fill=hexc("#e8f0e8"), width=max(1, unit // 200)
        )
    d.text((w * 0.72, h * 0.2), "A+B", fill=hexc("#e8f0e8"))
    d.ellipse(
        (w * 0.45, h * 0.02, w * 0.45 + unit * 0.08, h * 0.02 + unit * 0.08),
        fill=WHITE,
        outline=hexc("#333333"),
    )
    d.rectangle((0, h * 0.82, w, h), fill=hexc("#a07850"))


def laboratory(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    for y in (0.3, 0.55):
        d.rectangle((0, h * y, w, h * y + unit * 0.015), fill=hexc("#9aa3ad"))
        for k in range(9):
            x = w * (0.05 + k * 0.11)
            c = (hexc("#4fc3a0"), hexc("#f28c38"), hexc("#6f8fd8"), hexc("#d85f8f"))[int(rng.random() * 4)]
            d.ellipse((x - unit * 0.035, h * y - unit * 0.07, x + unit * 0.035, h * y), fill=c)
            d.rectangle(
                (x - unit * 0.01, h * y - unit * 0.11, x + unit * 0.01, h * y - unit * 0.06),
                fill=hexc("#dfe8ee"),
            )
    d.rectangle((0, h * 0.82, w, h), fill=hexc("#e9eef2"))


def stage(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    for k, x in enumerate((0.2, 0.8)):
        d.polygon(
            [
                (w * x - w * 0.02, 0),
                (w * x + w * 0.02, 0),
                (w * (0.5 + (x - 0.5) * 0.3), h),
                (w * (0.5 + (x - 0.5) * 1.2), h),
            ],
            fill=hexc("#3a3350") if k else hexc("#3d3552"),
        )
    for side in (0, 1):
        for k in range(4):
            x0 = (k * w * 0.04) if side == 0 else w - (k + 1) * w * 0.04
            d.rectangle((x0, 0, x0 + w * 0.04, h), fill=hexc("#8e1f2c") if k % 2 else hexc("#a8283a"))
    d.rectangle((0, h * 0.88, w, h), fill=hexc("#3a2418"))


def kitchen(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    step = unit * 0.08
    for y in range(int(h * 0.35 / step), int(h / step) + 1):
        for x in range(int(w / step) + 1):
            d.rectangle(
                (x * step, y * step, (x + 1) * step, (y + 1) * step),
                outline=hexc("#c9d3da"),
                width=max(1, unit // 300),
            )
    d.rectangle((0, 0, w, h * 0.3), fill=hexc("#8a6a45"))
    for k in range(4):
        d.rectangle(
            (w * k / 4 + unit * 0.01, unit * 0.01, w * (k + 1) / 4 - unit * 0.01, h * 0.28),
            outline=hexc("#6b4e30"),
            width=max(1, unit // 150),
        )
    d.rectangle((0, h * 0.82, w, h), fill=hexc("#dcd6cc"))


def living_room(d: ImageDraw.ImageDraw, w: int, h: int, rng: random.Random) -> None:
    unit = min(w, h)
    d.rectangle(
        (w * 0.62, h * 0.12, w * 0.9, h * 0.42), fill=hexc("#c8dcef"), outline=WHITE, width=max(2, unit // 80)
    )
    d.rectangle(
        (w * 0.1, h * 0.18, w * 0.3, h * 0.34),
        fill=hexc("#d9a441"),
        outline=hexc("#6b4226"),
        width=max(2, unit // 80),
    )
    d.rounded_rectangle((-w * 0.05, h * 0.66, w * 1.05, h), radius=unit * 0.05, fill=hexc("#7a8f6a"))
    d.line((w * 0.94, h * 0.3, w * 0.94, h * 0.66), fill=hexc("#3a3a3a"), width=max(2, unit // 150))
    d.chord((w * 0.88, h * 0.22, w * 1.0, h * 0.36), 180, 360, fill=hexc("#f2dfb0"))
