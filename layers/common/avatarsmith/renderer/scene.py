"""`Scene`: everything one avatar shows, decided before a pixel is drawn.

describe.describe(spec, index) builds it from the prompt, attributes, style and hints (and the seed for
whatever they leave open); draw_* paint it; finish applies the style; `summary()` is what the job's
`provenance.scene` reports, in plain words. Pure data: no Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from avatarsmith.renderer.palette import RGB


@dataclass(frozen=True)
class Framing:
    """How variation i frames the same scene: zoom around the head, a sideways shift (a fraction of the
    width), and whether the picture is mirrored."""

    zoom: float = 1.0
    shift: float = 0.0
    mirror: bool = False


@dataclass(frozen=True)
class Scene:
    # who, and how they are framed
    pose: str  # close_up | half_body | full_body
    age: str  # child | teen | young | adult | middle-aged | elderly
    gender: str | None  # female | male | None (left open)
    skin: RGB
    skin_tone: str  # fair | light | medium | olive | tan | brown | dark
    # hair: colour None = bald
    hair: RGB | None
    hair_colour: str | None  # the colour's name
    hair_length: str  # bald | short | medium | long
    hair_texture: str  # straight | wavy | curly | afro
    bun: bool
    ponytail: bool
    braids: bool
    fringe: bool
    part: float  # -1 .. 1, where the side parting sits
    eyes: RGB
    eye_colour: str
    expression: str  # smiling | laughing | serious | neutral | surprised | angry | sad | winking | smirking
    facial_hair: str | None  # stubble | goatee | moustache | beard | long beard
    beard_colour: RGB
    glasses: str | None  # clear | sun
    headwear: str | None  # cap | beanie | fedora | cowboy hat | top hat | crown | wizard hat | hijab | ...
    headwear_colour: RGB
    outfit: str  # suit | hoodie | armour | lab coat | uniform | dress | jacket | t-shirt | sweater | ...
    outfit_words: str | None  # the garment as the prompt named it, when that is not the kind ("sari")
    outfit_colour: str  # its name ("navy"), chosen by the prompt or the palette
    clothes: RGB
    accent: RGB  # trousers, tie, trim
    outfit_extras: tuple[str, ...]  # tie | bow tie | badge | cape | hood ...
    accessories: tuple[str, ...]  # headphones | earrings | scarf | necklace | mask | ...
    accessory_colour: RGB
    setting: str  # studio | neon city | forest | office | beach | space | library | castle | ...
    lighting: str  # soft | neon | golden hour | dramatic | moonlight | studio | candlelight | ...
    style: str | None  # the preset drawn (given, or implied by the words)
    style_implied: bool
    blush: bool
    framing: Framing = field(default_factory=Framing)
    palette: int = 0  # which of the look's background gradients
    unmatched: tuple[str, ...] = ()  # prompt words the renderer could not draw
    item_colours: dict[str, str] = field(default_factory=dict)  # "cap": "blue", "scarf": "red" ...
    as_written: dict[str, str] = field(default_factory=dict)  # "golden hour": "sunset" ...

    # --- the drawing's older, narrower view (kept for callers of describe_person) -----------------
    @property
    def kid(self) -> bool:
        return self.age in ("child", "teen")

    @property
    def child(self) -> bool:
        return self.age == "child"

    @property
    def senior(self) -> bool:
        return self.age == "elderly"

    @property
    def feminine(self) -> bool:
        return self.gender == "female"

    @property
    def masculine(self) -> bool:
        return self.gender == "male"

    @property
    def long_hair(self) -> bool:
        return self.hair is not None and self.hair_length == "long"

    @property
    def curly(self) -> bool:
        return self.hair_texture in ("curly", "afro")

    @property
    def afro(self) -> bool:
        return self.hair is not None and self.hair_texture == "afro"

    @property
    def beard(self) -> str | None:
        return {"beard": "short", "long beard": "long", "goatee": "short"}.get(self.facial_hair or "")

    @property
    def moustache(self) -> bool:
        return self.facial_hair in ("moustache", "beard", "long beard", "goatee")

    @property
    def mouth(self) -> str:
        return {
            "smiling": "smile",
            "laughing": "laugh",
            "serious": "serious",
            "winking": "smile",
            "smirking": "smirk",
            "surprised": "open",
            "angry": "frown",
            "sad": "frown",
        }.get(self.expression, "neutral")

    @property
    def eye_state(self) -> str:
        return (
            "wink" if self.expression == "winking" else "happy" if self.expression == "laughing" else "open"
        )

    @property
    def dress(self) -> bool:
        return self.outfit in ("dress", "gown")

    # --- what provenance.scene reports --------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        hair: dict[str, Any] = {"length": self.hair_length}
        if self.hair is not None:
            hair["colour"] = self.hair_colour
            hair["texture"] = self.hair_texture
            named = (
                ("bun", self.bun),
                ("ponytail", self.ponytail),
                ("braids", self.braids),
                ("fringe", self.fringe),
            )
            styles = [name for name, on in named if on]
            if styles:
                hair["style"] = styles
        accessories = list(self.accessories)
        if self.glasses:
            accessories.insert(0, "sunglasses" if self.glasses == "sun" else "glasses")
        if self.headwear:
            accessories.insert(0, self.headwear)
        out: dict[str, Any] = {
            "hair": hair,
            "outfit": {
                "kind": self.outfit,
                "colour": self.outfit_colour,
                "extras": list(self.outfit_extras),
                **({"as_written": self.outfit_words} if self.outfit_words else {}),
            },
            "accessories": accessories,
            "colours": dict(self.item_colours) or None,
            "as_written": dict(self.as_written) or None,
            "facial_hair": self.facial_hair,
            "expression": self.expression,
            "age": self.age,
            "gender": self.gender,
            "skin": self.skin_tone,
            "eyes": self.eye_colour,
            "setting": self.setting,
            "lighting": self.lighting,
            "style": self.style,
            "style_implied": self.style_implied,
            "pose": self.pose,
        }
        return {k: v for k, v in out.items() if v is not None}
