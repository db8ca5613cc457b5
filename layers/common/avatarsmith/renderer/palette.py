"""Colours and style looks shared by describe, draw and finish: pure data, no Pillow."""

from __future__ import annotations

from dataclasses import dataclass

from avatarsmith import catalog

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]


# --- colours -------------------------------------------------------------------------------------
def hexc(value: str) -> RGB:
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def shade(colour: RGB, factor: float) -> RGB:
    return mix(colour, (0, 0, 0), 1 - factor) if factor < 1 else mix(colour, (255, 255, 255), factor - 1)


WHITE: RGB = (255, 255, 255)
INK: RGB = (38, 30, 34)

SKIN_TONES: tuple[RGB, ...] = tuple(
    hexc(h) for h in ("#ffe0c4", "#f6d0ac", "#eac096", "#dcaa7e", "#c68c62", "#a56e4a", "#8a5a3c", "#6e4630")
)

HAIR_COLOURS: dict[str, RGB] = {
    "black": hexc("#231f20"),
    "dark brown": hexc("#3b2416"),
    "brown": hexc("#6b4226"),
    "light brown": hexc("#9a6b43"),
    "brunette": hexc("#5a3620"),
    "blonde": hexc("#e3c07a"),
    "blond": hexc("#e3c07a"),
    "red": hexc("#b0432a"),
    "ginger": hexc("#c8642f"),
    "auburn": hexc("#8c3b25"),
    "grey": hexc("#a3a3a3"),
    "gray": hexc("#a3a3a3"),
    "silver": hexc("#c9cbd0"),
    "white": hexc("#ecebe6"),
    "pink": hexc("#f07fb0"),
    "blue": hexc("#3f6fd8"),
    "green": hexc("#3d9b63"),
    "purple": hexc("#8050c0"),
    "platinum": hexc("#eee3c4"),
    "golden": hexc("#d9a441"),
    "jet black": hexc("#141213"),
    "orange": hexc("#e0702a"),
    "teal": hexc("#2a9d9a"),
    "salt and pepper": hexc("#8c8a86"),
}
EYE_COLOURS: dict[str, RGB] = {
    "brown": hexc("#6b4226"),
    "dark": hexc("#3b2416"),
    "hazel": hexc("#8e6b35"),
    "green": hexc("#4f8a4c"),
    "blue": hexc("#4a7fc1"),
    "grey": hexc("#7d8a96"),
    "gray": hexc("#7d8a96"),
    "amber": hexc("#b07a2a"),
}
NAMED_COLOURS: dict[str, RGB] = {
    "red": hexc("#c0392b"),
    "blue": hexc("#2f6db5"),
    "navy": hexc("#1f2f56"),
    "green": hexc("#2f8f5b"),
    "yellow": hexc("#e8b828"),
    "orange": hexc("#e07b2e"),
    "purple": hexc("#7048a8"),
    "pink": hexc("#e07aa0"),
    "black": hexc("#26262b"),
    "white": hexc("#f2f2f0"),
    "grey": hexc("#7b7f86"),
    "gray": hexc("#7b7f86"),
    "brown": hexc("#7a5034"),
    "teal": hexc("#1f8a8a"),
    "beige": hexc("#d8c3a0"),
    "maroon": hexc("#6e1f2a"),
    "gold": hexc("#d4a73a"),
    "golden": hexc("#d4a73a"),
    "silver": hexc("#c4c8cf"),
    "cyan": hexc("#1fc7d4"),
    "turquoise": hexc("#2bb3a8"),
    "olive": hexc("#6b7436"),
    "khaki": hexc("#b8a77a"),
    "tan": hexc("#c9a27a"),
    "cream": hexc("#efe6cf"),
    "burgundy": hexc("#6d1a2c"),
    "crimson": hexc("#b3152f"),
    "violet": hexc("#7f4fc9"),
    "lavender": hexc("#b7a3e0"),
    "magenta": hexc("#d0308f"),
    "charcoal": hexc("#3a3d42"),
    "emerald": hexc("#1f8f5f"),
    "denim": hexc("#4a6a94"),
    "camel": hexc("#b98a52"),
}


def luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


# --- style looks -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Look:
    backgrounds: tuple[tuple[RGB, RGB], ...]  # (top, bottom) gradient choices
    glow: RGB  # soft halo behind the head
    clothes: tuple[RGB, ...]
    outline: float = 0.03  # head outline width, in head radii
    eye_scale: float = 1.0
    blush: bool = False
    decor: str = ""
    letterbox: float = 0.0  # the finishing filter's bars, as a fraction of the height (keep heads clear)


def _look(bgs: tuple[tuple[str, str], ...], glow: str, clothes: tuple[str, ...], **kw: object) -> Look:
    return Look(
        backgrounds=tuple((hexc(a), hexc(b)) for a, b in bgs),
        glow=hexc(glow),
        clothes=tuple(hexc(c) for c in clothes),
        **kw,  # type: ignore[arg-type]
    )


LOOKS: dict[str, Look] = {
    "professional": _look(
        (("#e4e9ef", "#aebccb"), ("#ece8e3", "#b9b0a6")),
        "#ffffff",
        ("#1f2f4a", "#3a3f47", "#4b5563", "#5b2333"),
        decor="collar",
    ),
    "anime": _look(
        (("#8fd3ff", "#fbe3ff"), ("#ffd6e8", "#c6e8ff")),
        "#ffffff",
        ("#ff6f91", "#4d96ff", "#6bcb77", "#ffd93d"),
        outline=0.055,
        eye_scale=1.4,
        blush=True,
        decor="bokeh",
    ),
    "fantasy": _look(
        (("#2b1055", "#7597de"), ("#1d2b64", "#c06c84")),
        "#f8e1a1",
        ("#2e7d5b", "#5b2a86", "#1f6f78", "#8a5a1c"),
        decor="sparkles",
    ),
    "cyberpunk": _look(
        (("#0d0221", "#3a0d5c"), ("#090b1f", "#1b3a5c")),
        "#ff2a6d",
        ("#1a1a2e", "#16213e", "#2d0b3a", "#0f3b3f"),
        outline=0.04,
        decor="skyline",
    ),
    "renaissance": _look(
        (("#2a1c10", "#5e4327"), ("#1f2418", "#4d4a2c")),
        "#a47a45",
        ("#7b1e1e", "#2f4f2f", "#1f2f4f", "#6b4c1a"),
    ),
    "realistic": _look(
        (("#e8e4df", "#bdb5ab"), ("#dfe5e8", "#a9b4ba")),
        "#ffffff",
        ("#4a6f95", "#6b7449", "#8a8f96", "#9c5b4a"),
    ),
    "pixar": _look(
        (("#a1c4fd", "#c2e9fb"), ("#ffe29f", "#ffa99f")),
        "#ffffff",
        ("#ff7f50", "#3fa7d6", "#59cd90", "#fac05e", "#ee6c8a"),
        eye_scale=1.25,
        blush=True,
        decor="bokeh",
    ),
    "cinematic": _look(
        (("#1b2735", "#d9874a"), ("#0f2027", "#2c5364")),
        "#f0b27a",
        ("#1f3b44", "#5a3a24", "#2f3136", "#3d4f3a"),
        letterbox=0.14,
    ),
    "vintage": _look((("#efe1c6", "#c9b28f"),), "#fff6e0", ("#8c6d4f", "#5e7161", "#a65e4e", "#4f5d75")),
    "noir": _look(
        (("#2a2a2a", "#8a8a8a"), ("#1a1a1a", "#6a6a6a")),
        "#d0d0d0",
        ("#2b2b2b", "#3c3c3c", "#1e1e1e"),
        decor="blinds",
    ),
}
DEFAULT_LOOK = _look(
    (("#eef1f4", "#c9d1d9"), ("#f1efe9", "#d3cdc1")),
    "#ffffff",
    ("#4c6ef5", "#12b886", "#fa5252", "#fab005", "#7950f2"),
)


def style_name(style: str | None) -> str | None:
    if style is None:
        return None
    preset = catalog.find_style(style)
    return preset.name if preset else None
