"""The person part of a scene: gender, age, skin, hair, eyes, expression, facial hair, glasses, headwear
and small accessories, from attributes first, then words, then the seed (see describe.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from avatarsmith.renderer import vocabulary as V
from avatarsmith.renderer.palette import (
    EYE_COLOURS,
    HAIR_COLOURS,
    RGB,
    SKIN_TONES,
    WHITE,
    Look,
    hexc,
    luma,
    mix,
    shade,
)

if TYPE_CHECKING:
    from avatarsmith.models.domain import GenerationSpec
    from avatarsmith.renderer.describe import Keywords

# Ethnicity words -> the range of SKIN_TONES they draw from (inclusive).
ETHNICITY_TONES: tuple[tuple[str, tuple[int, int]], ...] = (
    (r"south[ _-]?asian|indian|pakistani|bangladeshi|sri[ _-]?lankan", (3, 5)),
    (r"south[ _-]?east[ _-]?asian|filipin\w*|vietnamese|thai|indonesian|malay\w*", (2, 4)),
    (r"east[ _-]?asian|asian|chinese|japanese|korean|mongolian", (0, 3)),
    (r"african|black|nigerian|kenyan|ethiopian|caribbean", (5, 7)),
    (r"hispanic|latin\w*|mexican|brazilian", (2, 4)),
    (r"middle[ _-]?east(ern)?|arab\w*|persian|turkish|north[ _-]?african", (2, 4)),
    (r"pacific|polynesian|native|indigenous|aboriginal", (3, 6)),
    (r"mixed|multi[ _-]?racial|biracial", (2, 5)),
    (r"caucasian|white|european|nordic|scandinavian", (0, 2)),
)
SKIN_WORDS: tuple[tuple[str, tuple[int, int]], ...] = (
    (r"\b(pale|fair|light)[ -]skin(?:ned)?", (0, 1)),
    (r"\b(olive|tan|tanned)[ -]?skin(?:ned)?|\btanned\b", (2, 4)),
    (r"\bbrown[ -]skin(?:ned)?", (4, 6)),
    (r"\bdark[ -]skin(?:ned)?", (5, 7)),
)
SKIN_NAMES = ("fair", "light", "light", "medium", "olive", "tan", "brown", "dark")
_AGE_ATTRIBUTE = {
    "kid": "child",
    "young_adult": "young",
    "early_middle_age": "adult",
    "late_middle_age": "middle-aged",
    "senior": "elderly",
}
_HAT_PALETTE = ("#2f3640", "#6d214f", "#1e3799", "#b33939", "#218c74", "#d1ccc0", "#84817a")
_SCARF_PALETTE = ("#2c3e50", "#8e44ad", "#16a085", "#c0392b", "#d35400", "#7f8c8d", "#e8d5b7", "#34495e")
_FIXED_HAT_COLOURS = {
    "crown": "#e2b33c", "tiara": "#d9dde3", "chef hat": "#f4f4f2", "graduation cap": "#1e1e24",
    "santa hat": "#c0392b", "hard hat": "#f2b705", "straw hat": "#e0c27a", "wizard hat": "#3b2a7a",
    "cowboy hat": "#8a5a32", "top hat": "#1e1e24", "helmet": "#9aa3ad", "pirate hat": "#1e1e24",
}  # fmt: skip


def _gender(spec: GenerationSpec, kw: Keywords) -> str | None:
    a = spec.attributes
    if a.gender in ("female", "male"):
        return a.gender
    if a.person_type in ("female", "male"):
        return a.person_type
    if kw.kept("gender"):
        female, male = kw.found(V.FEMALE), kw.found(V.MALE)
        if female and (not male or female.start() < male.start()):
            return "female"
        if male:
            return "male"
    return None


def _age(spec: GenerationSpec, kw: Keywords) -> str:
    a = spec.attributes
    if a.person_type == "kid":
        return "child"
    if a.age and a.age in _AGE_ATTRIBUTE:
        return _AGE_ATTRIBUTE[a.age]
    numeric = kw.found(V.NUMERIC_AGE)
    if numeric and not kw.vetoed(r"\bold\b") and kw.kept("age"):
        years = int(numeric.group(1) or numeric.group(2) or (numeric.group(3) + "5"))
        return V.age_for_years(years)
    return kw.first("age", V.AGES) or "adult"


def _skin(spec: GenerationSpec, kw: Keywords, draw: float) -> tuple[int, RGB]:
    tone_range = (0, len(SKIN_TONES) - 1)
    ethnicity = (spec.attributes.ethnicity or "").lower().replace("_", " ")
    structured = False
    for pattern, tones in ETHNICITY_TONES if ethnicity else ():
        if re.search(pattern, ethnicity):
            tone_range, structured = tones, True
            break
    if not structured and kw.kept("skin"):
        people = r"(?:man|woman|men|women|person|people|girl|boy|guy|lady|kid|child|gentleman)"
        if kw.found(rf"\bblack {people}\b|\b(?:african[ -])?american black\b"):
            tone_range = (5, 7)
        elif kw.found(rf"\bwhite {people}\b"):
            tone_range = (0, 2)
        for pattern, tones in ETHNICITY_TONES[:3] + ETHNICITY_TONES[4:8]:  # not "black"/"white": colours
            if kw.found(rf"\b({pattern})\b"):
                tone_range = tones
                break
    if kw.kept("skin"):
        for pattern, tones in SKIN_WORDS:
            if kw.found(pattern):
                low, high = max(tone_range[0], tones[0]), min(tone_range[1], tones[1])
                if not structured:
                    tone_range = tones
                elif low <= high:  # a skin word may narrow the ethnicity's range, never leave it
                    tone_range = (low, high)
    low, high = tone_range
    index = min(high, low + int(draw * (high - low + 1)))
    return index, SKIN_TONES[index]


def _words_before(kw: Keywords, start: int) -> list[tuple[str, int, int]]:
    """Up to six words before `start`, nearest first, with their spans."""
    before = kw.text[max(0, start - 80) : start]
    offset = max(0, start - 80)
    tokens = [(m.group(0), offset + m.start(), offset + m.end()) for m in re.finditer(r"[a-z'-]+", before)]
    return tokens[::-1][:6]


def _hair_words(kw: Keywords) -> dict[str, str]:
    """Length, texture and colour named in "short black hair", "long, wavy and red hair", "red-haired"."""
    found: dict[str, str] = {}
    for m in re.finditer(rf"\b{V.HAIR_NOUN}\b", kw.text):
        if kw.vetoed(rf"\b{re.escape(m.group(0))}\b") and not kw.kept("hair"):
            continue
        noun = m.group(0)
        if noun == "curls":
            found.setdefault("texture", "curly")
        if noun == "waves":
            found.setdefault("texture", "wavy")
        words = _words_before(kw, m.start())
        i = 0
        while i < len(words):
            word, start, end = words[i]
            word = word.strip("-")
            pair = f"{words[i + 1][0]} {word}" if i + 1 < len(words) else ""
            hit = None
            for candidate, span_start in ((pair, words[i + 1][1] if pair else 0), (word, start)):
                if not candidate:
                    continue
                for key, table in (("length", V.HAIR_LENGTH_WORDS), ("texture", V.HAIR_TEXTURE_WORDS),
                                   ("colour", V.HAIR_COLOUR_WORDS)):  # fmt: skip
                    if candidate in table:
                        hit = (key, table[candidate], span_start, candidate == pair)
                        break
                if hit:
                    break
            if hit:
                key, value, span_start, two = hit
                found.setdefault(key, value)
                written = pair if two else word
                if written != value:
                    kw.written.setdefault(value, written)
                kw._mark(span_start, end)
                i += 2 if two else 1
            elif word in ("and", "or", "with") and i > 0 and word != "with":
                i += 1
            else:
                break
        kw._mark(m.start(), m.end())
    return found


def person_parts(spec: GenerationSpec, kw: Keywords, look: Look, d: list[float]) -> dict[str, Any]:
    (r_skin, r_hair, r_length, r_curly, r_fringe, r_part, r_eyes, r_mouth, r_glasses, r_hat) = d[:10]
    (r_hat_colour, r_style, r_beard, r_acc, r_blush, _r15, _r16, _r17, _r18, _r19) = d[10:20]
    gender = _gender(spec, kw)
    age = _age(spec, kw)
    kid, senior = age in ("child", "teen"), age == "elderly"
    feminine, masculine = gender == "female", gender == "male"
    skin_index, skin = _skin(spec, kw, r_skin)

    words = _hair_words(kw) if kw.kept("hair_colour") else {}
    colour_name: str | None = words.get("colour")
    if colour_name is None and kw.kept("hair_colour"):
        colour_name = kw.first("hair_colour", V.HAIR_NOUN_COLOURS)
    if colour_name is not None and not kw.vetoed(rf"\b{re.escape(colour_name)}[ -]hair"):
        hair: RGB | None = HAIR_COLOURS[colour_name]
    elif senior:
        colour_name = ("grey", "silver", "white")[int(r_hair * 3)]
        hair = HAIR_COLOURS[colour_name]
    else:
        natural: tuple[str, ...]
        if skin_index >= 4:
            natural = ("black", "black", "dark brown", "dark brown", "brown")
        elif skin_index >= 2:
            natural = ("black", "dark brown", "dark brown", "brown", "brown", "light brown")
        else:
            natural = ("dark brown", "brown", "brown", "light brown", "blonde", "blonde", "red", "black")
        colour_name = natural[int(r_hair * len(natural))]
        hair = HAIR_COLOURS[colour_name]
        if age == "middle-aged":
            hair = mix(hair, HAIR_COLOURS["grey"], 0.35)
        if abs(luma(hair) - luma(skin)) < 50:  # keep natural hair readable against the face
            hair = shade(hair, 0.45) if luma(hair) <= luma(skin) + 20 else mix(hair, WHITE, 0.3)
    beard_colour = hair if hair is not None else hexc("#3b2416")
    if kw.asks("bald", V.BALD):
        hair = None

    styles = kw.every("hair_style", V.HAIR_STYLES)
    texture = words.get("texture") or ("afro" if "afro" in styles else None)
    length = words.get("length") or ("short" if "short" in styles else None)
    bun, ponytail, braids = "bun" in styles, "ponytail" in styles, "braids" in styles
    if length is None and (braids or ponytail) and not bun:
        length = "long"
    if length is None and not kw.strict:
        if r_style < 0.06 and not kw.vetoed(r"\bafro\b") and skin_index >= 4 and texture is None:
            texture = "afro"
        elif r_style > 0.9 and feminine and not kid and not kw.vetoed(r"\bbun\b") and not styles:
            bun = True
    if texture == "afro" or bun:
        length = length or "short"
    if length is None:
        long_hair = r_length < (0.8 if feminine else 0.1 if masculine else 0.45)
        length = "long" if long_hair and not kw.vetoed(r"\blong[ -]hair") else "short"
        if length == "long" and r_length < 0.22 and feminine:
            length = "medium"
    if texture is None:
        curly = not kw.strict and not kw.vetoed(r"\bcurl") and r_curly < 0.15
        texture = "curly" if curly else "wavy" if r_curly > 0.85 and not kw.strict else "straight"
    fringe = "fringe" in styles or (
        not kw.vetoed(r"\b(bangs|fringe)\b")
        and texture != "afro"
        and r_fringe < (0.45 if kid or look.eye_scale > 1.2 else 0.2)
    )

    eye_match = kw.found(V.EYES)
    if eye_match and kw.kept("eye_colour"):
        eye_name = eye_match.group(1).replace("gray", "grey")
    else:
        choices = (
            ("brown", "dark", "hazel")
            if skin_index >= 3
            else ("brown", "brown", "hazel", "blue", "green", "grey")
        )
        eye_name = choices[int(r_eyes * len(choices))]

    expression = kw.first("expression", V.EXPRESSIONS)
    if expression is None:
        if kw.strict or kw.vetoed(r"\bsmil"):
            expression = "neutral"
        else:
            expression = "smiling" if r_mouth < (0.6 if look.blush or kid else 0.45) else "neutral"

    glasses: str | None = None
    if kw.asks("glasses", V.GLASSES):
        glasses = "sun" if kw.found(V.SUNGLASSES) and not kw.vetoed(V.SUNGLASSES) else "clear"
    elif not kw.strict and not kw.vetoed(V.GLASSES) and age != "child":
        glasses = "clear" if r_glasses < (0.45 if senior else 0.08) else None

    beard_words = kw.found(
        rf"\b({'|'.join(V.HAIR_COLOUR_WORDS)})[ -](?:beard|goatee|mou?stache|mustache|stubble)"
    )
    named: dict[str, str] = {}
    if beard_words and V.HAIR_COLOUR_WORDS[beard_words.group(1)] in HAIR_COLOURS:
        named["facial_hair"] = V.HAIR_COLOUR_WORDS[beard_words.group(1)]
        beard_colour = HAIR_COLOURS[named["facial_hair"]]
    facial_hair = None if kid or kw.found(V.CLEAN_SHAVEN) else kw.first("facial_hair", V.FACIAL_HAIR)
    open_face = not kid and not kw.strict and not kw.found(V.CLEAN_SHAVEN)
    if facial_hair is None and masculine and open_face and not kw.vetoed(V.ANY_FACIAL_HAIR):
        facial_hair = (None, None, None, "stubble", "beard", "moustache", "goatee")[int(r_beard * 7)]
        if senior and facial_hair == "stubble":
            facial_hair = "beard"

    hat_vetoed = kw.vetoed(r"\bhats?\b|\bheadwear\b")
    headwear = None
    for pattern, name in V.HEADWEAR:
        if kw.asks(f"headwear:{name}", pattern) and not (hat_vetoed and name != "hijab"):
            headwear = name
            kw._remember(name)
            break
    if headwear == "hat":
        headwear = ("fedora", "beanie", "cap")[int(r_hat * 3)]
    fixed = _FIXED_HAT_COLOURS.get(headwear or "")
    palette = _SCARF_PALETTE if headwear in ("hijab", "turban", "bandana") else _HAT_PALETTE
    headwear_colour = hexc(fixed or palette[int(r_hat_colour * len(palette))])
    if headwear == "hijab":
        length, bun, ponytail, braids = "short", False, False, False
        texture = "straight" if texture == "afro" else texture

    accessories = kw.every("accessories", V.ACCESSORIES)
    if (
        not accessories
        and not kw.strict
        and feminine
        and not kid
        and r_acc < 0.3
        and not kw.vetoed(r"\bearrings?")
    ):
        accessories.append("earrings")
    return {
        "gender": gender,
        "age": age,
        "headwear": headwear,
        "headwear_colour": headwear_colour,
        "accessories": accessories,
        "named": named,
        "fields": {
            "age": age,
            "gender": gender,
            "skin": skin,
            "skin_tone": SKIN_NAMES[skin_index],
            "hair": hair,
            "hair_colour": colour_name if hair is not None else None,
            "hair_length": "bald" if hair is None else length,
            "hair_texture": texture,
            "bun": bun and hair is not None,
            "ponytail": ponytail and hair is not None,
            "braids": braids and hair is not None,
            "fringe": fringe,
            "part": r_part * 2 - 1,
            "eyes": EYE_COLOURS[eye_name],
            "eye_colour": eye_name,
            "expression": expression,
            "facial_hair": facial_hair,
            "beard_colour": beard_colour,
            "glasses": glasses,
            "blush": look.blush or kid or (feminine and r_blush < 0.5),
        },
    }
