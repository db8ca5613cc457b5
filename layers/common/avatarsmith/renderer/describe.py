"""Prompt, attributes, style and hints -> a `Scene` (what the avatar will show), and the prompt words the
offline renderer could not draw.

Structured attributes win over words; words fill what they leave open; the seed fills the rest. Every
open choice draws its number up front, in a fixed order, from `random.Random(str(variation_seed))`, and
every keyword family has its own pre-drawn number, so one keyword's fate never shifts another's (adding
"glasses" keeps the same person). A negative prompt vetoes what it names; guidance_scale weighs keywords
(see README "Offline avatar studio"). No Pillow here.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING

from avatarsmith.renderer import vocabulary as V
from avatarsmith.renderer import wardrobe as W
from avatarsmith.renderer.palette import DEFAULT_LOOK, LOOKS, NAMED_COLOURS, RGB, Look, hexc, style_name
from avatarsmith.renderer.people import person_parts
from avatarsmith.renderer.scene import Framing, Scene

if TYPE_CHECKING:  # pydantic costs ~80 ms to import; the renderer only reads the spec
    from avatarsmith.models.domain import GenerationSpec

DEFAULT_GUIDANCE = 7.5
LOOSE_BELOW = 5.0  # below: each keyword is only kept with probability (g - 1) / (LOOSE_BELOW - 1)
STRICT_FROM = 12.0  # from here on the seed adds no extras the prompt did not ask for
DRAWS = 30  # numbers drawn up front from the variation's generator

_NEGATION = re.compile(r"\b(?:without|no|not wearing|never)\s+(?:a |an |any )?([a-z'-]+(?: [a-z'-]+)?)")
_WORD = re.compile(r"[^\W_][\w'&-]*")
LEFTOVER_WORDS = 25  # at most this many words are reported as not drawn (then "+N more")
LEFTOVER_CHARS = 30


class Keywords:
    """The prompt's keywords, vetoed by the negative prompt (and by "without X" / "no X" in the prompt)
    and weighed by guidance_scale. Remembers which characters of the prompt it understood."""

    def __init__(self, text: str, negative: str, guidance: float | None, seed: int):
        negated = [m.group(1) for m in _NEGATION.finditer(text)]
        self.text = text
        self.negative = " ".join([negative, *negated]).strip()
        g = DEFAULT_GUIDANCE if guidance is None else guidance
        self.keep = 1.0 if g >= LOOSE_BELOW else max(0.0, (g - 1) / (LOOSE_BELOW - 1))
        self.strict = g >= STRICT_FROM
        self.seed = seed
        self.last = ""  # the words of the latest keyword `asks` kept
        self.written: dict[str, str] = {}  # canonical name -> the prompt's own words, where they differ
        self.understood = [False] * len(text)
        for m in _NEGATION.finditer(text):
            self._mark(m.start(), m.end())

    def _mark(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.understood[i] = True

    def vetoed(self, pattern: str) -> bool:
        return bool(self.negative) and re.search(pattern, self.negative) is not None

    def found(self, pattern: str | re.Pattern[str]) -> re.Match[str] | None:
        match = None
        for m in re.finditer(pattern, self.text):
            match = match or m
            tail = re.match(r" (?:hats?|caps?)\b", self.text[m.end() :])
            self._mark(m.start(), m.end() + (tail.end() if tail else 0))
        return match

    def kept(self, slot: str) -> bool:
        return random.Random(f"{self.seed}:keywords:{slot}").random() < self.keep

    def asks(self, slot: str, pattern: str) -> bool:
        """The prompt names it, the negative prompt does not, and guidance keeps it."""
        match = self.found(pattern)
        if match is None or self.vetoed(pattern) or not self.kept(slot):
            return False
        self.last = match.group(0).strip()
        return True

    def first(self, slot: str, table: V.Table) -> str | None:
        """The canonical name of the first row of `table` the prompt asks for (every row's words count as
        understood)."""
        chosen = None
        for pattern, name in table:
            if self.asks(f"{slot}:{name}", pattern) and chosen is None:
                chosen = name
                self._remember(name)
        return chosen

    def every(self, slot: str, table: V.Table) -> list[str]:
        names = []
        for pattern, name in table:
            if name not in names and self.asks(f"{slot}:{name}", pattern):
                names.append(name)
                self._remember(name)
        return names

    def _remember(self, name: str) -> None:
        if self.last and self.last not in name and name not in self.last:
            self.written[name] = self.last

    def leftover(self) -> tuple[str, ...]:
        """Words of the prompt nothing understood (the ones the renderer could not draw)."""
        words: list[str] = []
        for m in _WORD.finditer(self.text):
            word = m.group(0).strip("'-")
            if any(self.understood[m.start() : m.end()]) or word in V.FILLER or word.isdigit():
                continue
            word = word if len(word) <= LEFTOVER_CHARS else word[: LEFTOVER_CHARS - 1] + "…"
            if (len(word) > 1 or not word.isascii()) and word not in words:
                words.append(word)
        if len(words) > LEFTOVER_WORDS:
            words[LEFTOVER_WORDS:] = [f"+{len(words) - LEFTOVER_WORDS} more"]
        return tuple(words)


def spec_text(spec: GenerationSpec) -> str:
    hint_text = " ".join(str(v) for v in spec.hints.values() if isinstance(v, str))
    return f"{spec.prompt or ''} {hint_text}".lower().replace("_", " ")


def keywords(spec: GenerationSpec, seed: int) -> Keywords:
    return Keywords(spec_text(spec), (spec.negative_prompt or "").lower(), spec.guidance_scale, seed)


def pose_of(spec: GenerationSpec, kw: Keywords) -> str:
    if spec.attributes.pose:
        return spec.attributes.pose
    return kw.first("pose", V.POSES) or "close_up"


def _style(spec: GenerationSpec, kw: Keywords) -> tuple[str | None, bool]:
    given = style_name(spec.style) if spec.style else None
    if given:
        kw.found(rf"\b{re.escape(given)}\b")
        return given, False
    implied = kw.first("style", V.IMPLIED_STYLES)
    return implied, implied is not None


def _colour_before(kw: Keywords, start: int, skip: str) -> str | None:
    """A colour named just before position `start`, over at most three `skip` adjectives."""
    before = kw.text[max(0, start - 60) : start]
    colours = "|".join(re.escape(c) for c in W.COLOUR_WORDS)
    m = re.search(rf"\b({colours})(?:[ -]and[ -](?:{colours}))?[ ,-]+(?:(?:{skip})[ ,-]+){{0,3}}$", before)
    if not m:
        return None
    offset = max(0, start - 60)
    kw._mark(offset + m.start(), offset + m.end())
    word = m.group(1)
    return word


def _outfit(
    kw: Keywords, look: Look, gender: str | None, age: str, draws: list[float], style: str | None
) -> tuple[str, str | None, str, RGB, tuple[str, ...], str | None, RGB]:
    """(kind, the garment as written, colour name, colour, extras, headwear a role implies, accent: tie,
    trousers, trim)."""
    kind: str | None = None
    written: str | None = None
    colour_name: str | None = None
    for pattern, name in W.OUTFITS:
        m = kw.found(pattern)
        if m and not kw.vetoed(pattern) and kw.kept("outfit"):
            if kind is None:
                kind, written = name, m.group(0)
                colour_name = _colour_before(kw, m.start(), W.OUTFIT_ADJECTIVES)
            words = "|".join([W.OUTFIT_ADJECTIVES, *map(re.escape, W.COLOUR_WORDS)])
            kw.found(rf"\b(?:(?:{words})[ ,-]+){{1,4}}(?={re.escape(m.group(0))})")
    extras = kw.every("extras", W.EXTRAS)
    tie = kw.found(r"\b(?:bow[ -]?)?(?:ties?|neckties?)\b")
    tie_colour = _colour_before(kw, tie.start(), W.OUTFIT_ADJECTIVES) if tie and extras else None
    role_hat = None
    role_found = False
    for pattern, name, role_extras, hat in W.ROLES:
        if kw.asks(f"role:{name}", pattern) and not role_found:
            role_found = True
            kind = kind or name
            extras += [e for e in role_extras if e not in extras and not kw.vetoed(rf"\b{e}")]
            role_hat = role_hat or hat
    if colour_name is None:
        colours = "|".join(re.escape(c) for c in W.COLOUR_WORDS)
        m = kw.found(
            rf"\b(?:dressed in|wearing|clad in|in|all in)\s+(?:all\s+)?({colours})\b(?![ -](?:hair|eyes?))"
        )
        if m and kw.kept("outfit_colour"):
            colour_name = m.group(1)
    if kind is None:
        kind = _default_outfit(kw, look, gender, age, draws[0], style)
    tied = "tie" in extras or "bow tie" in extras
    if (
        kind in ("suit", "tuxedo")
        and not tied
        and (kind == "tuxedo" or (gender == "male" and not kw.vetoed(r"\bties?\b")))
    ):
        extras.append("bow tie" if kind == "tuxedo" else "tie")
    if colour_name is None and kind == "armour" and style == "cyberpunk":
        colour_name = ("charcoal", "black", "silver")[int(draws[1] * 3)]
    if colour_name is None and kind == "jacket" and kw.found(r"\bleather\b"):
        colour_name = ("black", "brown")[int(draws[1] * 2)]
    if colour_name is not None:
        colour = W.colour_rgb(colour_name, NAMED_COLOURS["grey"]) or NAMED_COLOURS["grey"]
    else:
        colour_name, colour = _palette_colour(kind, look, draws[1])
    accent = (W.colour_rgb(tie_colour) if tie_colour else None) or _ACCENTS[int(draws[1] * 7 % 1 * 5)]
    plain = (kind, f"{kind}s", f"{kind}es", kind.replace("-", ""))
    garment = written if written and written not in plain else None
    return kind, garment, colour_name, colour, tuple(extras), role_hat, accent


_ACCENTS = tuple(hexc(c) for c in ("#2f3542", "#34495e", "#8e2f3c", "#1e272e", "#3b5b7a"))
_KIND_COLOURS: dict[str, tuple[str, ...]] = {
    "lab coat": ("white",),
    "scrubs": ("teal", "blue", "green"),
    "armour": ("silver", "grey", "silver", "gold"),
    "spacesuit": ("white",),
    "uniform": ("navy", "olive", "black", "navy"),
    "tuxedo": ("black",),
    "suit": ("navy", "charcoal", "grey", "black", "navy"),
    "blazer": ("navy", "charcoal", "burgundy", "camel"),
    "robe": ("purple", "navy", "maroon", "emerald", "brown"),
    "kimono": ("crimson", "navy", "emerald", "violet"),
    "vest": ("orange", "yellow"),
}


def _palette_colour(kind: str, look: Look, draw: float) -> tuple[str, RGB]:
    names = _KIND_COLOURS.get(kind)
    if names:
        name = names[int(draw * len(names))]
        return name, NAMED_COLOURS[name]
    colour = look.clothes[int(draw * len(look.clothes))]
    nearest = min(
        NAMED_COLOURS, key=lambda n: sum((a - b) ** 2 for a, b in zip(NAMED_COLOURS[n], colour, strict=True))
    )
    return nearest, colour


def _default_outfit(
    kw: Keywords, look: Look, gender: str | None, age: str, draw: float, style: str | None
) -> str:
    if style == "professional":
        return "suit" if gender != "female" else ("blazer", "suit", "blazer")[int(draw * 3)]
    if style == "fantasy":
        return ("robe", "robe", "armour", "cloak")[int(draw * 4)].replace("cloak", "robe")
    if style == "cyberpunk":
        return ("jacket", "jacket", "hoodie", "armour")[int(draw * 4)]
    if style == "renaissance":
        return ("robe", "dress" if gender == "female" else "robe", "shirt")[int(draw * 3)]
    if age in ("child", "teen"):
        return ("t-shirt", "hoodie", "sweater", "t-shirt")[int(draw * 4)]
    if gender == "female" and not kw.strict and not kw.vetoed(r"\bdress"):
        return ("dress", "blouse", "sweater", "jacket", "t-shirt", "dress")[int(draw * 6)].replace(
            "blouse", "shirt"
        )
    return ("t-shirt", "shirt", "sweater", "jacket", "shirt", "t-shirt")[int(draw * 6)]


def _setting(kw: Keywords, style: str | None) -> str:
    named = kw.first("setting", V.SETTINGS)
    if named:
        return named
    return {
        "cyberpunk": "neon city",
        "fantasy": "starry night",
        "anime": "pastel sky",
        "pixar": "sunny sky",
        "cinematic": "dusk",
        "noir": "blinds",
        "renaissance": "dark studio",
    }.get(style or "", "studio")


def _lighting(kw: Keywords, style: str | None, setting: str) -> str:
    named = kw.every("lighting", V.LIGHTING)
    if named:
        return ", ".join(named[:2])
    if setting in ("neon city",) or style == "cyberpunk":
        return "neon"
    if style in ("noir", "cinematic", "renaissance") or setting in ("castle", "cave", "battlefield"):
        return "dramatic"
    if setting in ("space", "starry night"):
        return "moonlight"
    if setting in ("beach", "desert", "dusk"):
        return "golden hour"
    return "soft"


_ITEM_PATTERNS: dict[str, str] = {name: pattern for pattern, name in (*V.HEADWEAR, *V.ACCESSORIES, *W.EXTRAS)}


def _item_colours(kw: Keywords, items: list[str | None]) -> dict[str, str]:
    """Colours named for hats, accessories and extras: "a blue baseball cap", "red scarf", "red cape"."""
    colours: dict[str, str] = {}
    for item in items:
        pattern = _ITEM_PATTERNS.get(item or "")
        if item and pattern:
            for m in re.finditer(pattern, kw.text):
                inside = re.search(rf"\b({'|'.join(W.COLOUR_WORDS)})\b", m.group(0))
                named = _colour_before(kw, m.start(), W.OUTFIT_ADJECTIVES + "|baseball|wool|knit|silk|pearl")
                named = named or (inside.group(1) if inside else None)
                if named and W.colour_rgb(named):
                    colours[item] = named
                    break
    return colours


def _as_written(kw: Keywords, drawn: list[str | None]) -> dict[str, str]:
    """The prompt's own words for what was drawn, where they are not the plain name ("sunset" for golden
    hour, "stetson" for a cowboy hat)."""
    names = [n for value in drawn if value for n in value.split(", ")]
    return {name: kw.written[name] for name in names if name in kw.written}


def _words_of(fields: dict[str, object]) -> list[str | None]:
    keys = ("expression", "hair_colour", "hair_length", "hair_texture", "age", "facial_hair")
    return [value if isinstance(value, str) else None for value in (fields.get(k) for k in keys)]


def describe(spec: GenerationSpec, index: int) -> Scene:
    """The scene variation `index` of `spec` shows."""
    seed = spec.variation_seed(index)
    rng = random.Random(f"{seed}")
    draws = [rng.random() for _ in range(DRAWS)]
    kw = keywords(spec, seed)
    style, implied = _style(spec, kw)
    look = LOOKS.get(style or "", DEFAULT_LOOK)
    parts = person_parts(spec, kw, look, draws[:20])
    outfit, written, colour_name, clothes, extras, role_hat, accent = _outfit(
        kw, look, parts["gender"], parts["age"], draws[20:22], style
    )
    headwear = parts["headwear"]
    if headwear is None and role_hat and not kw.vetoed(r"\bhats?\b|headwear"):
        headwear = role_hat if role_hat != "mask" else None
    accessories = list(parts["accessories"])
    if role_hat == "mask" and "mask" not in accessories:
        accessories.append("mask")
    if headwear == "hood" and outfit in ("t-shirt", "shirt"):
        outfit = "robe"
    setting = _setting(kw, style)
    lighting = _lighting(kw, style, setting)
    pose = pose_of(spec, kw)
    zoom, shift, mirror = draws[22], draws[23], draws[25]  # draws[24] is spare
    framing = Framing(  # from the variation's own seed: variation i of seed s is variation 0 of seed s+i
        zoom=0.92 + zoom * 0.18,
        shift=(shift - 0.5) * 0.12,
        mirror=mirror < 0.5,
    )
    accessory_colours = ("#d4a73a", "#c4c8cf", "#b3152f", "#1f8a8a", "#2f3640", "#7048a8")
    colours = _item_colours(kw, [headwear, *accessories, *extras])
    if "facial_hair" in parts["named"]:
        colours["facial hair"] = parts["named"]["facial_hair"]
    accessory_colour = hexc(accessory_colours[int(draws[26] * len(accessory_colours))])
    for item in ("scarf", "mask", "headphones", "headband", "eye mask", "backpack"):
        if item in colours and item in accessories:
            accessory_colour = W.colour_rgb(colours[item], accessory_colour) or accessory_colour
            break
    return Scene(
        **parts["fields"],
        pose=pose,
        headwear=headwear,
        headwear_colour=W.colour_rgb(colours.get(headwear or "", ""), parts["headwear_colour"])
        or parts["headwear_colour"],
        outfit=outfit,
        outfit_words=written,
        outfit_colour=colour_name,
        clothes=clothes,
        accent=accent,
        outfit_extras=extras,
        accessories=tuple(accessories),
        accessory_colour=accessory_colour,
        item_colours=colours,
        setting=setting,
        lighting=lighting,
        style=style,
        style_implied=implied,
        framing=framing,
        palette=int(draws[27] * len(look.backgrounds)),
        unmatched=kw.leftover(),
        as_written=_as_written(kw, [setting, lighting, headwear, *accessories, *_words_of(parts["fields"])]),
    )
