"""`make gallery`: contact sheets of the offline studio renderer, written into docs/.

docs/gallery.png         every style preset (rows) x a spread of attributes and prompt keywords (columns)
docs/gallery-prompts.png prompts as people write them, each with what the renderer drew (provenance.scene)
                         and the words it could not draw
docs/gallery-photos.png  photo avatars (photo_gallery: the photo path's sheet)

Deterministic: running it again gives the same files (with the same Pillow and OpenCV versions).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common")]

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from avatarsmith import catalog  # noqa: E402
from avatarsmith.models.domain import Attributes, GenerationSpec, OutputSpec  # noqa: E402
from avatarsmith.renderer import RENDERER_VERSION  # noqa: E402
from avatarsmith.renderer.describe import describe  # noqa: E402
from avatarsmith.renderer.simple import render_variation  # noqa: E402

TILE = 176
LABEL_W = 120
HEADER_H = 44
SHEET_BG = (246, 246, 244)
INK = (40, 40, 48)

# (column title, attributes, prompt, output size)
TEXT_COLUMNS: list[tuple[str, dict[str, Any], str, tuple[int, int]]] = [
    (
        "woman, East Asian\nlong hair, glasses",
        {"gender": "female", "ethnicity": "East Asian", "pose": "close_up"},
        "smiling, long black hair, glasses",
        (TILE, TILE),
    ),
    (
        "man, senior, White\nbeard, fedora",
        {"gender": "male", "age": "senior", "ethnicity": "White", "pose": "half_body"},
        "grey beard, fedora, serious",
        (TILE, TILE),
    ),
    (
        "kid, South Asian\ncurly, laughing",
        {"person_type": "kid", "ethnicity": "South Asian", "pose": "close_up"},
        "curly hair, laughing",
        (TILE, TILE),
    ),
    (
        "woman, Middle Eastern\nhijab, wink",
        {"gender": "female", "ethnicity": "Middle Eastern", "pose": "half_body"},
        "hijab, winking",
        (TILE, TILE),
    ),
    (
        "man, Black, full body\nafro, sunglasses",
        {"gender": "male", "ethnicity": "Black", "pose": "full_body"},
        "afro, sunglasses, smiling",
        (TILE, TILE),
    ),
    (
        "woman, Hispanic, 9:16\nbun, full body",
        {"gender": "female", "ethnicity": "Hispanic", "pose": "full_body", "orientation": "vertical"},
        "hair in a bun, red dress",
        (99, TILE),
    ),
    (
        "man, 16:9\nbald, moustache, beanie",
        {"gender": "male", "age": "early_middle_age", "pose": "half_body", "orientation": "horizontal"},
        "bald, moustache, beanie",
        (TILE, 99),
    ),
]
PHOTO_TILE = 150  # photos compress less than drawings: smaller cells keep the sheet under 1.5 MB


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError):  # Pillow without FreeType: the bitmap font
        return ImageFont.load_default()


def _sheet(
    rows: list[tuple[str, list[Image.Image]]], titles: list[str], heading: str, tile: int = TILE
) -> Image.Image:
    cols = len(titles)
    sheet = Image.new(
        "RGB", (LABEL_W + cols * (tile + 4) + 4, HEADER_H + 18 + len(rows) * (tile + 4)), SHEET_BG
    )
    draw = ImageDraw.Draw(sheet)
    small, big = _font(11), _font(14)
    draw.text((8, 6), heading, fill=INK, font=big)
    for c, title in enumerate(titles):
        draw.multiline_text((LABEL_W + c * (tile + 4) + 4, 26), title, fill=INK, font=small, spacing=2)
    for r, (label, tiles) in enumerate(rows):
        y = HEADER_H + 18 + r * (tile + 4)
        draw.multiline_text((8, y + tile // 2 - 14), label, fill=INK, font=big, spacing=3)
        for c, cell in enumerate(tiles):
            x = LABEL_W + c * (tile + 4) + 4
            sheet.paste(cell, (x + (tile - cell.width) // 2, y + (tile - cell.height) // 2))
    return sheet


def _spec(
    style: str | None, attributes: dict[str, Any], prompt: str | None, size: tuple[int, int], seed: int
) -> GenerationSpec:
    return GenerationSpec(
        model="avatarsmith-studio",
        seed=seed,
        style=style,
        prompt=prompt,
        attributes=Attributes(**attributes),
        output=OutputSpec(width=size[0], height=size[1]),
    )


def text_gallery() -> Image.Image:
    rows = []
    for style in catalog.STYLES:
        tiles = [
            render_variation(_spec(style.name, attrs, prompt, size, seed=100 + i), 0, [])
            for i, (_, attrs, prompt, size) in enumerate(TEXT_COLUMNS)
        ]
        rows.append((f"{style.id}. {style.title}", tiles))
    return _sheet(
        rows,
        [title for title, *_ in TEXT_COLUMNS],
        f"Avatarsmith offline studio ({RENDERER_VERSION}): every style x attributes and prompt keywords",
    )


# The photo sheet: three public-domain photos (tests/fixtures/README.md) x every style, then what the
# attributes, a prompt and the variations change on one of them.
PHOTOS: list[tuple[str, str]] = [
    ("astronaut.jpg", "Eileen Collins\n(NASA, public\ndomain)"),
    ("hopper.jpg", "Grace Hopper\n(US Navy, public\ndomain)"),
    ("cameraman.jpg", "cameraman, in\nprofile (CC0)"),
]
PHOTO_ASKS: list[tuple[str, dict[str, Any], str | None, str | None, int]] = [
    # (column title, attributes, prompt, style, variation index)
    ("male", {"gender": "male"}, None, "pixar", 0),
    ("female", {"gender": "female"}, None, "pixar", 0),
    ("kid", {"person_type": "kid"}, None, "pixar", 0),
    ("sunglasses, beach", {}, "wearing sunglasses and a red jacket on a beach", "pixar", 0),
    ("suit, office", {}, "in a navy suit and tie, in an office", "professional", 0),
    ("wizard, castle", {}, "wizard hat, purple robe, castle at night", "fantasy", 0),
    ("headphones", {}, "headphones, neon city", "cyberpunk", 0),
    ("variation 2", {}, None, "anime", 1),
    ("variation 3", {}, None, "anime", 2),
    ("half body", {"pose": "half_body"}, None, "realistic", 0),
    ("full body", {"pose": "full_body"}, None, "noir", 0),
]


def photo_gallery() -> Image.Image:
    styles: list[str | None] = [None, *(style.name for style in catalog.STYLES)]
    tile = (PHOTO_TILE, PHOTO_TILE)
    rows = []
    for name, credit in PHOTOS:
        data = (ROOT / "tests" / "fixtures" / name).read_bytes()
        original = Image.open(ROOT / "tests" / "fixtures" / name).convert("RGB")
        tiles = [original.resize((PHOTO_TILE, round(PHOTO_TILE * original.height / original.width)))]
        tiles += [render_variation(_spec(style, {}, None, tile, seed=7), 0, [data]) for style in styles]
        rows.append((credit, tiles))
    titles = ["the photo", "no style", *(f"{s.id}. {s.title}" for s in catalog.STYLES)]
    data = (ROOT / "tests" / "fixtures" / PHOTOS[1][0]).read_bytes()
    asks = [
        render_variation(_spec(style, attrs, prompt, tile, seed=7), index, [data])
        for _, attrs, prompt, style, index in PHOTO_ASKS
    ]
    rows.append(("Grace Hopper,\nasked (2nd line\nof the titles)", asks))
    # two lines per column: the style (the photo rows), what was asked (the last row)
    asked = [f"> {title} ({style})" for title, _, _, style, _ in PHOTO_ASKS]
    titles = [f"{title}\n{asked[c] if c < len(asked) else ''}" for c, title in enumerate(titles)]
    return _sheet(
        rows,
        titles,
        f"Photo avatars ({RENDERER_VERSION}): three public-domain photos x every style; last row: the "
        "attributes, a prompt and the variations (column titles, second line)",
        PHOTO_TILE,
    )


PROMPTS: list[str] = [
    "cyberpunk warrior, neon lights, futuristic city, dramatic lighting",
    "Man, 35, short black hair, blue suit and red tie, smiling, office",
    "elderly woman with long wavy red hair, glasses, green sweater, library",
    "70-year-old cowboy with a grey goatee on a beach at golden hour",
    "teen girl with headphones and a red hoodie, laughing, neon city",
    "wizard with a long white beard, purple robe, wizard hat, castle, moonlight",
    "female scientist in a lab coat with curly brown hair, laboratory",
    "astronaut in a white spacesuit floating in outer space",
    "knight in silver armour with a crown, serious, mountains",
    "young woman in a kimono with a hair bun, cherry garden, soft light",
    "man with stubble, leather jacket and sunglasses, city street at night",
    "surprised child with freckles in a yellow raincoat, snowy forest",
    "smiling nurse in blue scrubs with a ponytail and a face mask",
    "angry pirate with an eye patch and a bandana, stormy sea",
    "woman with a pixie cut, earrings and a black dress, cafe, candlelight",
    "ultra realistic portrait of a middle-aged man with a moustache, studio lighting",
]
PROMPT_TILE = 220


def _caption(prompt: str, size: tuple[int, int], seed: int) -> list[str]:
    """What was drawn for variation 0, in the words provenance.scene uses (and what was not)."""
    spec = _spec(None, {}, prompt, size, seed=seed)
    scene = describe(spec, 0)
    s = scene.summary()
    hair = s["hair"]
    lines = [
        "hair: "
        + " ".join(str(hair.get(k)) for k in ("length", "texture", "colour") if hair.get(k))
        + "".join(f" + {style}" for style in hair.get("style", [])),
        f"outfit: {s['outfit']['colour']} {s['outfit']['kind']} {' '.join(s['outfit']['extras'])}".rstrip(),
        "wears: " + (", ".join(s["accessories"]) or "-"),
        f"{s['age']}, {s['expression']}" + (f", {s['facial_hair']}" if s.get("facial_hair") else ""),
        f"{s['setting']} / {s['lighting']} / {s.get('style', 'no style')}"
        + (" (implied)" if s["style_implied"] else ""),
    ]
    if scene.unmatched:
        lines.append("not drawn: " + ", ".join(scene.unmatched))
    return lines


def prompts_gallery() -> Image.Image:
    cols, tile, caption_h = 4, PROMPT_TILE, 150
    rows = (len(PROMPTS) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (tile + 12) + 12, HEADER_H + rows * (tile + caption_h + 12)), SHEET_BG)
    draw = ImageDraw.Draw(sheet)
    small, big = _font(11), _font(14)
    draw.text(
        (12, 12),
        f"Prompts and what the offline studio drew ({RENDERER_VERSION}, no style given)",
        fill=INK,
        font=big,
    )
    for i, prompt in enumerate(PROMPTS):
        x = 12 + (i % cols) * (tile + 12)
        y = HEADER_H + (i // cols) * (tile + caption_h + 12)
        spec = _spec(None, {}, prompt, (tile, tile), seed=21 + i)
        sheet.paste(render_variation(spec, 0, []), (x, y))
        wrapped = _wrap(f'"{prompt}"', 34)
        draw.multiline_text(
            (x, y + tile + 3),
            "\n".join(
                wrapped[:2] + [w for line in _caption(prompt, (tile, tile), 21 + i) for w in _wrap(line, 34)]
            ),
            fill=INK,
            font=small,
            spacing=1,
        )
    return sheet


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def main() -> None:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    sheets = (
        ("gallery.png", text_gallery()),
        ("gallery-prompts.png", prompts_gallery()),
        ("gallery-photos.png", photo_gallery()),
    )
    for name, sheet in sheets:
        path = docs / name
        sheet.save(path, "PNG", optimize=True)
        print(f"{path.relative_to(ROOT)}: {sheet.width}x{sheet.height}, {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
