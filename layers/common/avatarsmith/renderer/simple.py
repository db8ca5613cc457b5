"""A small deterministic avatar renderer: a flat-illustration person drawn with Pillow, or a reference
photo cropped to size, finished with the style preset's filter.

Everything the spec leaves open is drawn from `random.Random(str(variation_seed))`, in a fixed order, so
the same spec and index give the same pixels in any process (and adding "glasses" to a prompt keeps the
same person). No `random` globals, no `Image.effect_noise`.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageOps

from avatarsmith import catalog
from avatarsmith.renderer import RENDERER_VERSION, photo

if TYPE_CHECKING:  # pydantic costs ~80 ms to import; the renderer only reads the spec
    from avatarsmith.models.domain import GenerationSpec

__all__ = ["RENDERER_VERSION", "apply_style", "describe_person", "load_reference", "render_variation"]

RGB = tuple[int, int, int]
Box = tuple[float, float, float, float]

SUPERSAMPLE_MAX_PIXELS = 2_400_000  # above this (e.g. 2048x2048) draw at 1x: big shapes alias little


# --- colours -------------------------------------------------------------------------------------
def _hex(value: str) -> RGB:
    return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _shade(colour: RGB, factor: float) -> RGB:
    return _mix(colour, (0, 0, 0), 1 - factor) if factor < 1 else _mix(colour, (255, 255, 255), factor - 1)


WHITE: RGB = (255, 255, 255)
INK: RGB = (38, 30, 34)

SKIN_TONES: tuple[RGB, ...] = tuple(
    _hex(h) for h in ("#ffe0c4", "#f6d0ac", "#eac096", "#dcaa7e", "#c68c62", "#a56e4a", "#8a5a3c", "#6e4630")
)
# Ethnicity words -> the range of SKIN_TONES they draw from (inclusive).
_ETHNICITY_TONES: tuple[tuple[str, tuple[int, int]], ...] = (
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
_SKIN_WORDS: tuple[tuple[str, tuple[int, int]], ...] = (
    (r"\b(pale|fair|light)[ -]skin", (0, 1)),
    (r"\b(olive|tan|tanned)[ -]?skin|\btanned\b", (2, 4)),
    (r"\bbrown[ -]skin", (4, 6)),
    (r"\bdark[ -]skin", (5, 7)),
)

HAIR_COLOURS: dict[str, RGB] = {
    "black": _hex("#231f20"),
    "dark brown": _hex("#3b2416"),
    "brown": _hex("#6b4226"),
    "light brown": _hex("#9a6b43"),
    "brunette": _hex("#5a3620"),
    "blonde": _hex("#e3c07a"),
    "blond": _hex("#e3c07a"),
    "red": _hex("#b0432a"),
    "ginger": _hex("#c8642f"),
    "auburn": _hex("#8c3b25"),
    "grey": _hex("#a3a3a3"),
    "gray": _hex("#a3a3a3"),
    "silver": _hex("#c9cbd0"),
    "white": _hex("#ecebe6"),
    "pink": _hex("#f07fb0"),
    "blue": _hex("#3f6fd8"),
    "green": _hex("#3d9b63"),
    "purple": _hex("#8050c0"),
}
_HAIR_RE = re.compile(
    r"\b(dark brown|light brown|black|brown|brunette|blonde?|red|ginger|auburn|gr[ae]y|silver|white|"
    r"pink|blue|green|purple)[- ]hair(?:ed)?\b|\b(blonde?|brunette|redhead|ginger)\b"
)
EYE_COLOURS: dict[str, RGB] = {
    "brown": _hex("#6b4226"),
    "dark": _hex("#3b2416"),
    "hazel": _hex("#8e6b35"),
    "green": _hex("#4f8a4c"),
    "blue": _hex("#4a7fc1"),
    "grey": _hex("#7d8a96"),
    "gray": _hex("#7d8a96"),
    "amber": _hex("#b07a2a"),
}
_EYES_RE = re.compile(r"\b(brown|dark|hazel|green|blue|gr[ae]y|amber)[- ]eyed?s?\b")
NAMED_COLOURS: dict[str, RGB] = {
    "red": _hex("#c0392b"),
    "blue": _hex("#2f6db5"),
    "navy": _hex("#1f2f56"),
    "green": _hex("#2f8f5b"),
    "yellow": _hex("#e8b828"),
    "orange": _hex("#e07b2e"),
    "purple": _hex("#7048a8"),
    "pink": _hex("#e07aa0"),
    "black": _hex("#26262b"),
    "white": _hex("#f2f2f0"),
    "grey": _hex("#7b7f86"),
    "gray": _hex("#7b7f86"),
    "brown": _hex("#7a5034"),
    "teal": _hex("#1f8a8a"),
    "beige": _hex("#d8c3a0"),
    "maroon": _hex("#6e1f2a"),
}
_CLOTHES_RE = re.compile(
    r"\b("
    + "|".join(NAMED_COLOURS)
    + r")\s+(?:shirt|t-shirt|suit|jacket|dress|hoodie|sweater|top|blouse|coat|"
    r"blazer|jumper|uniform|robe|cloak)\b"
)


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _words(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


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
        backgrounds=tuple((_hex(a), _hex(b)) for a, b in bgs),
        glow=_hex(glow),
        clothes=tuple(_hex(c) for c in clothes),
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


def _style_name(style: str | None) -> str | None:
    if style is None:
        return None
    preset = catalog.find_style(style)
    return preset.name if preset else None


# --- the person ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    pose: str
    kid: bool
    senior: bool
    feminine: bool
    masculine: bool
    skin: RGB
    hair: RGB | None  # None: bald
    long_hair: bool
    curly: bool
    afro: bool
    bun: bool
    fringe: bool
    part: float  # -1 .. 1, where the side parting sits
    eyes: RGB
    eye_state: str  # open | wink | happy
    mouth: str  # smile | laugh | neutral | serious
    glasses: str | None  # clear | sun
    beard: str | None  # short | long
    moustache: bool
    headwear: str | None  # hijab | beanie | fedora | cap
    headwear_colour: RGB
    facial_hair: RGB  # beard/moustache colour (the hair's, or dark brown when bald)
    clothes: RGB
    accent: RGB  # trousers, tie
    neckline: str  # crew | v | collar
    dress: bool
    blush: bool


# guidance_scale tiers (see README "Offline avatar studio"): below LOOSE_BELOW each keyword is only a
# suggestion kept with probability (g - 1) / (LOOSE_BELOW - 1); from STRICT_FROM on, the seed adds no
# extras (accessories, expression) that the prompt did not ask for.
DEFAULT_GUIDANCE = 7.5
LOOSE_BELOW = 5.0
STRICT_FROM = 12.0

# Keyword slots: each keyword family has its own pre-drawn number, so one keyword's fate never shifts
# another's (and never shifts the person's own draws).
_SLOTS = (
    "gender",
    "age",
    "skin",
    "hair_colour",
    "hair_style",
    "bald",
    "eye_colour",
    "mouth",
    "eye_state",
    "glasses",
    "beard",
    "moustache",
    "headwear",
    "clothes",
    "pose",
    "dress",
)

_FEMALE_RE = r"\b(woman|women|girl|female|lady|she|her|mother|mom|grandma|grandmother|queen|princess)\b"
_MALE_RE = r"\b(man|men|boy|male|guy|gentleman|he|his|father|dad|grandpa|grandfather|king|prince)\b"
_KID_RE = r"\b(kid|kids|child|children|toddler|little (boy|girl)|boy|girl|teen|teenager)\b"
_SENIOR_RE = r"\b(old|elderly|senior|aged|grandma|grandpa|grand(mother|father)|retired)\b"
_BALD_RE = r"\b(bald|shaved head|shaven head|no hair)\b"
_LONG_RE = r"\blong[ -]hair|\bponytail\b|\bbraids?\b|\bflowing hair\b"
_SHORT_RE = r"\bshort[ -]hair|\bbuzz ?cut\b|\bcrew ?cut\b|\bpixie\b|\bundercut\b"
_CURLY_RE = r"\b(curly|curls|wavy|ringlets)\b"
_AFRO_RE = r"\bafro\b"
_BUN_RE = r"\b(bun|top ?knot|updo|chignon)\b"
_FRINGE_RE = r"\b(bangs|fringe)\b"
_SMILE_RE = r"\b(smil\w*|happy|cheerful|joyful|friendly|warm expression)\b"
_LAUGH_RE = r"\b(laugh\w*|grin\w*|big smile)\b"
_SERIOUS_RE = r"\b(serious|stern|sad|angry|grumpy|neutral expression|no smile|unsmiling|stoic)\b"
_WINK_RE = r"\bwink\w*\b"
_GLASSES_RE = r"\b(glasses|spectacles|eyeglasses|eyewear|sunglasses|shades)\b"
_SUNGLASSES_RE = r"\b(sunglasses|shades)\b"
_BEARD_RE = r"\b(beard\w*|goatee|facial hair)\b"
_LONG_BEARD_RE = r"\b(long|full|big|bushy|wizard)[ -]beard\w*\b"
_MOUSTACHE_RE = r"\b(moustache\w*|mustache\w*|facial hair)\b"
_HIJAB_RE = r"\b(hijab|headscarf|head scarf|khimar)\b"
_HAT_RE = r"\b(hat|beanie|fedora|cap|baseball cap|trilby|beret)\b"
_DRESS_RE = r"\bdress\b"


class _Keywords:
    """The prompt's keywords, vetoed by the negative prompt and weighed by guidance_scale."""

    def __init__(self, text: str, negative: str, guidance: float | None, seed: int):
        self.text, self.negative = text, negative
        g = DEFAULT_GUIDANCE if guidance is None else guidance
        self.keep = 1.0 if g >= LOOSE_BELOW else max(0.0, (g - 1) / (LOOSE_BELOW - 1))
        self.strict = g >= STRICT_FROM
        draws = random.Random(f"{seed}:keywords")
        self._draw = {slot: draws.random() for slot in _SLOTS}

    def vetoed(self, pattern: str) -> bool:
        return bool(self.negative) and re.search(pattern, self.negative) is not None

    def found(self, pattern: str | re.Pattern[str]) -> re.Match[str] | None:
        return re.search(pattern, self.text)

    def asks(self, slot: str, pattern: str) -> bool:
        """The prompt names it, the negative prompt does not, and guidance keeps it."""
        return self.found(pattern) is not None and not self.vetoed(pattern) and self._draw[slot] < self.keep

    def kept(self, slot: str) -> bool:
        return self._draw[slot] < self.keep


def _pose(spec: GenerationSpec, kw: _Keywords) -> str:
    if spec.attributes.pose:
        return spec.attributes.pose
    if kw.asks("pose", r"\bfull[ -]?(body|length)\b|\bstanding\b|\bhead to toe\b"):
        return "full_body"
    if kw.asks("pose", r"\b(half|upper)[ -]?body\b|\bwaist[ -]up\b"):
        return "half_body"
    return "close_up"


def _spec_text(spec: GenerationSpec) -> str:
    hint_text = " ".join(str(v) for v in spec.hints.values() if isinstance(v, str))
    return f"{spec.prompt or ''} {hint_text}".lower().replace("_", " ")


def _keywords(spec: GenerationSpec, seed: int) -> _Keywords:
    return _Keywords(_spec_text(spec), (spec.negative_prompt or "").lower(), spec.guidance_scale, seed)


def _person(spec: GenerationSpec, rng: random.Random, look: Look, seed: int) -> Person:
    # Every open choice draws its number up front, in a fixed order.
    (
        r_skin,
        r_hair,
        r_length,
        r_curly,
        r_fringe,
        r_part,
        r_eyes,
        r_clothes,
        r_accent,
        r_neck,
        r_dress,
        r_mouth,
        r_glasses,
        r_hat,
        r_hat_colour,
        r_style,
    ) = (rng.random() for _ in range(16))
    a = spec.attributes
    kw = _keywords(spec, seed)
    text = kw.text

    # Structured attributes first; keywords only fill what they leave open.
    gender = a.gender if a.gender in ("female", "male") else None
    if gender is None and a.person_type in ("female", "male"):
        gender = a.person_type
    if gender is None and kw.kept("gender"):
        if kw.found(_FEMALE_RE):
            gender = "female"
        elif kw.found(_MALE_RE):
            gender = "male"
    feminine, masculine = gender == "female", gender == "male"
    if a.person_type == "kid" or a.age == "kid":
        kid, senior = True, False
    elif a.age not in (None, "unspecified"):
        kid, senior = False, a.age == "senior"
    else:
        senior = kw.asks("age", _SENIOR_RE)
        kid = not senior and kw.asks("age", _KID_RE)

    tone_range = (0, len(SKIN_TONES) - 1)
    ethnicity = (a.ethnicity or "").lower().replace("_", " ")
    structured_tone = False
    if ethnicity:
        for pattern, tones in _ETHNICITY_TONES:
            if _words(pattern, ethnicity):
                tone_range, structured_tone = tones, True
                break
    if not structured_tone and kw.kept("skin"):
        for pattern, tones in (
            _ETHNICITY_TONES[:3] + _ETHNICITY_TONES[4:8]
        ):  # not "black"/"white": hair colours
            if _words(rf"\b({pattern})\b", text):
                tone_range = tones
                break
    if kw.kept("skin"):
        for pattern, tones in _SKIN_WORDS:
            if _words(pattern, text):
                low, high = max(tone_range[0], tones[0]), min(tone_range[1], tones[1])
                if not structured_tone:
                    tone_range = tones
                elif low <= high:  # a skin word may narrow the ethnicity's range, never leave it
                    tone_range = (low, high)
    low, high = tone_range
    skin_index = min(high, low + int(r_skin * (high - low + 1)))
    skin = SKIN_TONES[skin_index]

    hair: RGB | None
    match = kw.found(_HAIR_RE)
    if match and kw.kept("hair_colour") and not kw.vetoed(re.escape(match.group(0))):
        word = match.group(1) or match.group(2)
        word = {"redhead": "red", "gray": "grey", "blond": "blonde"}.get(word, word)
        hair = HAIR_COLOURS[word]
    elif senior:
        hair = (HAIR_COLOURS["grey"], HAIR_COLOURS["silver"], HAIR_COLOURS["white"])[int(r_hair * 3)]
    else:
        natural: tuple[str, ...]
        if skin_index >= 4:
            natural = ("black", "black", "dark brown", "dark brown", "brown")
        elif skin_index >= 2:
            natural = ("black", "dark brown", "dark brown", "brown", "brown", "light brown")
        else:
            natural = ("dark brown", "brown", "brown", "light brown", "blonde", "blonde", "red", "black")
        hair = HAIR_COLOURS[natural[int(r_hair * len(natural))]]
        if a.age == "late_middle_age":
            hair = _mix(hair, HAIR_COLOURS["grey"], 0.4)
        if abs(_luma(hair) - _luma(skin)) < 50:  # keep natural hair readable against the face
            hair = _shade(hair, 0.45) if _luma(hair) <= _luma(skin) + 20 else _mix(hair, WHITE, 0.3)
    facial = hair if hair is not None else _hex("#3b2416")
    if kw.asks("bald", _BALD_RE):
        hair = None

    # hair style: explicit words first, then the seed (a style the negative prompt names is never drawn)
    afro = kw.asks("hair_style", _AFRO_RE)
    bun = not afro and kw.asks("hair_style", _BUN_RE)
    if afro or bun:
        long_hair = False
    elif kw.asks("hair_style", _LONG_RE):
        long_hair = True
    elif kw.asks("hair_style", _SHORT_RE):
        long_hair = False
    else:
        long_hair = r_length < (0.8 if feminine else 0.1 if masculine else 0.45)
        if kw.vetoed(r"\blong[ -]hair"):
            long_hair = False
    curly = afro or kw.asks("hair_style", _CURLY_RE)
    if not curly and not kw.strict and not kw.vetoed(_CURLY_RE) and not _words(r"\bstraight[ -]hair", text):
        curly = r_curly < 0.15
    if not afro and not bun and not kw.found(_LONG_RE) and not kw.found(_SHORT_RE) and not kw.strict:
        # a few seeded styles beyond short/long
        if r_style < 0.06 and not kw.vetoed(_AFRO_RE) and skin_index >= 4:
            afro, curly, long_hair = True, True, False
        elif r_style > 0.9 and feminine and not kid and not kw.vetoed(_BUN_RE):
            bun, long_hair = True, False
    fringe = kw.asks("hair_style", _FRINGE_RE) or (
        not kw.vetoed(_FRINGE_RE) and not afro and r_fringe < (0.45 if kid or look.eye_scale > 1.2 else 0.2)
    )

    eye_match = kw.found(_EYES_RE)
    if eye_match and kw.kept("eye_colour"):
        eyes = EYE_COLOURS[eye_match.group(1)]
    else:
        choices = (
            ("brown", "dark", "hazel")
            if skin_index >= 3
            else ("brown", "brown", "hazel", "blue", "green", "grey")
        )
        eyes = EYE_COLOURS[choices[int(r_eyes * len(choices))]]

    # expression
    if kw.asks("mouth", _LAUGH_RE):
        mouth = "laugh"
    elif kw.asks("mouth", _SMILE_RE):
        mouth = "smile"
    elif kw.asks("mouth", _SERIOUS_RE):
        mouth = "serious"
    elif kw.strict or kw.vetoed(_SMILE_RE):
        mouth = "neutral"
    else:
        mouth = "smile" if r_mouth < (0.6 if look.blush or kid else 0.45) else "neutral"
    eye_state = "wink" if kw.asks("eye_state", _WINK_RE) else "happy" if mouth == "laugh" else "open"

    # accessories
    glasses: str | None = None
    if kw.asks("glasses", _GLASSES_RE):
        glasses = "sun" if kw.found(_SUNGLASSES_RE) and not kw.vetoed(_SUNGLASSES_RE) else "clear"
    elif not kw.strict and not kw.vetoed(_GLASSES_RE) and not kid:
        glasses = "clear" if r_glasses < (0.45 if senior else 0.1) else None
    beard: str | None = None
    if not kid and kw.asks("beard", _BEARD_RE):
        beard = "long" if kw.found(_LONG_BEARD_RE) else "short"
    moustache = not kid and (
        (beard is not None and not kw.vetoed(_MOUSTACHE_RE)) or kw.asks("moustache", _MOUSTACHE_RE)
    )
    headwear: str | None = None
    if kw.asks("headwear", _HIJAB_RE):
        headwear = "hijab"
    elif kw.asks("headwear", _HAT_RE):
        hat = kw.found(r"\b(beanie|fedora|trilby|cap)\b")
        named = {"trilby": "fedora"}.get(hat.group(1), hat.group(1)) if hat else None
        headwear = named or ("fedora", "beanie", "cap")[int(r_hat * 3)]
    hat_palette = (
        ("#2f3640", "#6d214f", "#1e3799", "#b33939", "#218c74", "#d1ccc0", "#84817a")
        if headwear != "hijab"
        else ("#2c3e50", "#8e44ad", "#16a085", "#c0392b", "#d35400", "#7f8c8d", "#e8d5b7", "#34495e")
    )
    headwear_colour = _hex(hat_palette[int(r_hat_colour * len(hat_palette))])
    if headwear == "hijab":
        long_hair, bun, afro = False, False, False

    clothes_match = kw.found(_CLOTHES_RE)
    palette = look.clothes
    clothes = (
        NAMED_COLOURS[clothes_match.group(1)]
        if clothes_match and kw.kept("clothes")
        else palette[int(r_clothes * len(palette))]
    )
    accent_choices = (_hex("#2f3542"), _hex("#34495e"), _hex("#5d4037"), _hex("#1e272e"), _hex("#3b5b7a"))
    accent = accent_choices[int(r_accent * len(accent_choices))]
    neckline = "collar" if look.decor == "collar" else ("crew", "crew", "v", "collar")[int(r_neck * 4)]
    if kw.vetoed(_DRESS_RE):
        dress = False
    else:
        dress = kw.asks("dress", _DRESS_RE) or (feminine and not kid and not kw.strict and r_dress < 0.4)
    return Person(
        pose=_pose(spec, kw),
        kid=kid,
        senior=senior,
        feminine=feminine,
        masculine=masculine,
        skin=skin,
        hair=hair,
        long_hair=long_hair and hair is not None,
        curly=curly,
        afro=afro and hair is not None,
        bun=bun and hair is not None,
        fringe=fringe,
        part=(r_part * 2 - 1),
        eyes=eyes,
        eye_state=eye_state,
        mouth=mouth,
        glasses=glasses,
        beard=beard,
        moustache=moustache,
        headwear=headwear,
        headwear_colour=headwear_colour,
        facial_hair=facial,
        clothes=clothes,
        accent=accent,
        neckline=neckline,
        dress=dress,
        blush=look.blush or kid or (feminine and r_accent < 0.5),
    )


# --- drawing ---------------------------------------------------------------------------------------
def _vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    h = size[1]
    column = Image.new("RGB", (1, h))
    column.putdata([_mix(top, bottom, y / max(1, h - 1)) for y in range(h)])
    return column.resize(size, Image.Resampling.NEAREST)


def _soft_spot(
    canvas: Image.Image, centre: tuple[float, float], radius: float, colour: RGB, strength: float
) -> None:
    """Paste `colour` through a radial falloff (a glow, or a shadow with a dark colour)."""
    size = max(2, round(radius * 2))
    # radial_gradient is 0 at the centre, 181 at the edge midpoints (255 only in the corners)
    lut = [round(255 * strength * max(0.0, 1 - v / 181) ** 1.6) for v in range(256)]
    mask = Image.radial_gradient("L").point(lut).resize((size, size), Image.Resampling.BILINEAR)
    canvas.paste(colour, (round(centre[0] - radius), round(centre[1] - radius)), mask)


class _Pen:
    """ImageDraw in head-radius units around the head centre: `p(x, y)` -> canvas pixels."""

    def __init__(self, canvas: Image.Image, cx: float, cy: float, r: float):
        self.canvas, self.draw = canvas, ImageDraw.Draw(canvas)
        self.cx, self.cy, self.r = cx, cy, r

    def box(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        cx, cy, r = self.cx, self.cy, self.r
        return (cx + x0 * r, cy + y0 * r, cx + x1 * r, cy + y1 * r)

    def w(self, width: float) -> int:
        return max(1, round(width * self.r))

    def ellipse(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: RGB | None = None,
        outline: RGB | None = None,
        width: float = 0,
    ) -> None:
        self.draw.ellipse(
            self.box(x0, y0, x1, y1), fill=fill, outline=outline, width=self.w(width) if outline else 0
        )

    def rrect(self, x0: float, y0: float, x1: float, y1: float, radius: float, fill: RGB) -> None:
        self.draw.rounded_rectangle(
            self.box(x0, y0, x1, y1), radius=max(0, round(radius * self.r)), fill=fill
        )

    def arc(
        self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill: RGB, width: float
    ) -> None:
        self.draw.arc(self.box(x0, y0, x1, y1), start, end, fill=fill, width=self.w(width))

    def chord(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill: RGB) -> None:
        self.draw.chord(self.box(x0, y0, x1, y1), start, end, fill=fill)

    def polygon(self, points: list[tuple[float, float]], fill: RGB) -> None:
        self.draw.polygon([(self.cx + x * self.r, self.cy + y * self.r) for x, y in points], fill=fill)

    def line(self, points: list[tuple[float, float]], fill: RGB, width: float) -> None:
        self.draw.line(
            [(self.cx + x * self.r, self.cy + y * self.r) for x, y in points],
            fill=fill,
            width=self.w(width),
            joint="curve",
        )


def _background(
    size: tuple[int, int], ss: int, look: Look, rng: random.Random, head: tuple[float, float, float]
) -> Image.Image:
    """The backdrop at `ss` times the output size: the smooth parts (gradient, glow) are made at 1x and
    scaled up, only the shapes are drawn at full resolution."""
    w, h = size
    top, bottom = look.backgrounds[int(rng.random() * len(look.backgrounds))]
    canvas = _vertical_gradient((w // ss, h // ss), top, bottom)
    cx, cy, r = head
    _soft_spot(canvas, (cx / ss, cy / ss), r * 2.6 / ss, look.glow, 0.55)
    if ss > 1:
        canvas = canvas.resize(size, Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(canvas)
    unit = min(w, h)
    if look.decor == "bokeh":
        for _ in range(9):
            x, y, rad = rng.random() * w, rng.random() * h * 0.8, unit * (0.03 + rng.random() * 0.07)
            base = canvas.getpixel((min(w - 1, max(0, round(x))), min(h - 1, max(0, round(y)))))
            draw.ellipse((x - rad, y - rad, x + rad, y + rad), fill=_mix(base, WHITE, 0.22))  # type: ignore[arg-type]
    elif look.decor == "skyline":
        x = -rng.random() * unit * 0.1
        neon = (_hex("#ff2a6d"), _hex("#05d9e8"), _hex("#d1f7ff"))
        while x < w:
            bw, bh = unit * (0.08 + rng.random() * 0.12), h * (0.2 + rng.random() * 0.35)
            draw.rectangle((x, h - bh, x + bw, h), fill=_hex("#140a2a"))
            step = unit * 0.03
            wy = h - bh + step
            while wy < h - step:
                wx = x + step * 0.6
                while wx < x + bw - step:
                    if rng.random() < 0.35:
                        draw.rectangle(
                            (wx, wy, wx + step * 0.4, wy + step * 0.5), fill=neon[int(rng.random() * 3)]
                        )
                    wx += step
                wy += step
            x += bw + unit * 0.01
        draw.rectangle((0, h * 0.62, w, h * 0.62 + max(2, unit * 0.006)), fill=_hex("#ff2a6d"))
    elif look.decor == "sparkles":
        for _ in range(22):
            x, y, s = rng.random() * w, rng.random() * h, unit * (0.006 + rng.random() * 0.014)
            colour = _mix(look.glow, WHITE, rng.random() * 0.6)
            draw.polygon([(x, y - 3 * s), (x + s, y), (x, y + 3 * s), (x - s, y)], fill=colour)
            draw.polygon([(x - 3 * s, y), (x, y - s), (x + 3 * s, y), (x, y + s)], fill=colour)
    elif look.decor == "blinds":
        for k in range(6):
            x0 = w * (0.1 + k * 0.2) + rng.random() * unit * 0.02
            band = unit * 0.06
            draw.polygon(
                [(x0, 0), (x0 + band, 0), (x0 + band - w * 0.35, h), (x0 - w * 0.35, h)],
                fill=_mix(bottom, WHITE, 0.12),
            )
    return canvas


def _hair_cap(canvas: Image.Image, pen: _Pen, p: Person, ry: float) -> None:
    """The hair on top of the head: an outer ellipse minus the face opening, through a mask."""
    assert p.hair is not None
    r = pen.r
    pad = 2.0
    x0, y0 = pen.cx - pad * r, pen.cy - (ry + 1.1) * r
    mask_size = (max(1, round(2 * pad * r)), max(1, round((2 * ry + 1.4) * r)))
    mask = Image.new("L", mask_size, 0)
    draw = ImageDraw.Draw(mask)

    def box(a: float, b: float, c: float, d: float) -> Box:
        return (pen.cx + a * r - x0, pen.cy + b * r - y0, pen.cx + c * r - x0, pen.cy + d * r - y0)

    grow = 1.5 if p.afro else 1.32 if p.curly and p.long_hair else 1.1
    # short hair: a flattened ellipse whose lower edge curves in at the temples; long hair: full height
    lower = ry * grow - 0.05 if p.long_hair else ry * (0.45 if p.afro else 0.3)
    outer = (-grow, -ry * grow - 0.05, grow, lower)
    draw.ellipse(box(*outer), fill=255)
    if p.curly:
        ocx, ocy, orx, ory = 0.0, (outer[1] + outer[3]) / 2, grow, (outer[3] - outer[1]) / 2
        curl = 0.3 if p.afro else 0.24
        for deg in range(150, 391, 13 if p.afro else 16):
            t = math.radians(deg)
            px, py = ocx + orx * math.cos(t), ocy + ory * math.sin(t)
            draw.ellipse(box(px - curl, py - curl, px + curl, py + curl), fill=255)
    dx = p.part * 0.14
    hairline = -ry * (0.32 if p.fringe else 0.55)
    draw.ellipse(box(-0.9 + dx, hairline, 0.9 + dx, ry * 1.9), fill=0)
    if p.fringe:
        for k in range(-3, 4):
            fx = k * 0.24 + dx * 0.5
            tip = hairline + 0.18 + (0.06 if k % 2 else 0)
            draw.polygon(
                [
                    box(fx - 0.2, hairline - 0.05, fx + 0.2, hairline - 0.05)[:2],
                    box(fx + 0.2, hairline - 0.05, fx + 0.2, hairline - 0.05)[:2],
                    box(fx, tip, fx, tip)[:2],
                ],
                fill=255,
            )
    if p.long_hair:
        draw.rectangle(box(-pad, ry * 0.55, pad, ry + 1), fill=0)
    canvas.paste(p.hair, (round(x0), round(y0)), mask)
    # a highlight on the crown
    pen.arc(-0.78, -ry - 0.02, 0.78, 0.2 * ry, 215, 255, _mix(p.hair, WHITE, 0.28), 0.07)


def _hijab(canvas: Image.Image, pen: _Pen, p: Person, ry: float, sy: float) -> None:
    """A headscarf framing the face: drawn over the hair line, ears and neck through a mask."""
    r, colour = pen.r, p.headwear_colour
    pad = 1.9
    x0, y0 = pen.cx - pad * r, pen.cy - (ry + 0.4) * r
    size = (max(1, round(2 * pad * r)), max(1, round((ry + 0.4 + sy + 1.3) * r)))
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)

    def box(a: float, b: float, c: float, d: float) -> Box:
        return (pen.cx + a * r - x0, pen.cy + b * r - y0, pen.cx + c * r - x0, pen.cy + d * r - y0)

    draw.ellipse(box(-1.32, -ry - 0.3, 1.32, ry + 0.55), fill=255)
    draw.polygon(
        [
            box(-1.25, 0.2, 0, 0)[:2],
            box(1.25, 0.2, 0, 0)[:2],
            box(1.7, sy + 1.25, 0, 0)[:2],
            box(-1.7, sy + 1.25, 0, 0)[:2],
        ],
        fill=255,
    )
    draw.ellipse(box(-0.86, -ry * 0.72, 0.86, ry * 1.0), fill=0)  # the face opening
    canvas.paste(colour, (round(x0), round(y0)), mask)
    fold = _shade(colour, 0.82)
    pen.arc(-0.98, -ry * 0.86, 0.98, ry * 1.14, 200, 340, fold, 0.06)
    pen.arc(-1.15, -ry * 0.5, 1.15, ry * 1.45, 40, 140, fold, 0.05)


def _hat(pen: _Pen, p: Person, ry: float) -> None:
    colour, band = p.headwear_colour, _shade(p.headwear_colour, 0.6)
    light = _mix(colour, WHITE, 0.2)
    if p.headwear == "fedora":
        pen.ellipse(-1.75, -ry * 0.78, 1.75, -ry * 0.42, fill=_shade(colour, 0.85))
        pen.polygon([(-0.95, -ry * 0.6), (-0.82, -ry - 0.55), (0.82, -ry - 0.55), (0.95, -ry * 0.6)], colour)
        pen.chord(-0.82, -ry - 0.75, 0.82, -ry - 0.35, 180, 360, colour)
        pen.rrect(-0.95, -ry * 0.8, 0.95, -ry * 0.6, 0.02, band)
    elif p.headwear == "beanie":
        pen.chord(-1.12, -ry - 0.22, 1.12, ry * 0.1, 180, 360, colour)
        pen.rrect(-1.14, -ry * 0.56, 1.14, -ry * 0.3, 0.1, _shade(colour, 0.85))
        for k in range(-4, 5):
            pen.line([(k * 0.24, -ry * 0.54), (k * 0.24, -ry * 0.32)], _shade(colour, 0.75), 0.03)
        pen.ellipse(-0.22, -ry - 0.5, 0.22, -ry - 0.06, fill=light)
    else:  # cap: crown and a visor seen from the front
        pen.chord(-1.08, -ry - 0.15, 1.08, ry * 0.02, 180, 360, colour)
        pen.ellipse(-1.2, -ry * 0.62, 1.2, -ry * 0.3, fill=_shade(colour, 0.8))
        pen.line([(0, -ry - 0.12), (0, -ry * 0.52)], _shade(colour, 0.85), 0.04)
        pen.ellipse(-0.09, -ry - 0.2, 0.09, -ry - 0.04, fill=band)


def _draw_person(canvas: Image.Image, p: Person, look: Look, cx: float, cy: float, r: float) -> None:
    pen = _Pen(canvas, cx, cy, r)
    ry = 1.1 if p.kid else 1.24  # head half-height, in head radii
    skin, skin_dark = p.skin, _shade(p.skin, 0.8)
    outline = INK if look.outline >= 0.05 else _shade(p.skin, 0.72)
    hair = p.hair
    full = p.pose == "full_body"

    # shoulders start under the chin; widths in head radii
    sy = ry + 0.28
    half_w = 1.35 if p.kid else 1.55 if p.feminine else 1.8
    if hair is not None and p.long_hair:
        pen.rrect(-1.12, -0.7 * ry, 1.12, ry + 1.0, 0.9, _shade(hair, 0.85))

    clothes, clothes_dark = p.clothes, _shade(p.clothes, 0.82)
    if full:
        torso_h = 2.5 if p.kid else 3.1
        hip, leg_h = sy + torso_h, (2.6 if p.kid else 3.9)
        feet = hip + leg_h
        for side in (-1, 1):  # legs and shoes
            x0, x1 = (side * 0.1, side * 0.72) if side > 0 else (side * 0.72, side * 0.1)
            leg_colour = skin if p.dress else p.accent
            pen.rrect(x0, hip - 0.3, x1, feet - 0.1, 0.22, leg_colour)
            pen.ellipse(
                min(x0, x1) - (0.25 if side < 0 else 0.02),
                feet - 0.32,
                max(x0, x1) + (0.25 if side > 0 else 0.02),
                feet + 0.05,
                fill=_hex("#2b2424"),
            )
        for side in (-1, 1):  # arms and hands
            ax = side * (half_w * 0.86 + 0.12)
            pen.rrect(ax - 0.3, sy + 0.04, ax + 0.3, sy + torso_h * 0.92, 0.28, clothes_dark)
            pen.ellipse(ax - 0.26, sy + torso_h * 0.86, ax + 0.26, sy + torso_h * 0.86 + 0.52, fill=skin)
        pen.rrect(-half_w * 0.86, sy, half_w * 0.86, hip + 0.05, 0.6, clothes)
        if p.dress:
            waist = sy + torso_h * 0.62
            pen.polygon(
                [
                    (-half_w * 0.8, waist),
                    (half_w * 0.8, waist),
                    (half_w * 1.15, hip + leg_h * 0.45),
                    (-half_w * 1.15, hip + leg_h * 0.45),
                ],
                clothes,
            )
        else:
            pen.rrect(-half_w * 0.86, hip - 0.35, half_w * 0.86, hip + 0.05, 0.1, _shade(p.accent, 0.9))
    else:
        bottom = (canvas.height - cy) / r + 1
        pen.rrect(-half_w, sy, half_w, bottom, 0.95, clothes)
        if p.pose == "half_body":  # arms hanging along the torso
            for side in (-1, 1):
                pen.line(
                    [(side * (half_w - 0.55), sy + 1.1), (side * (half_w - 0.55), bottom)], clothes_dark, 0.05
                )

    # neck and neckline
    neck = 0.3 if p.kid else 0.36 if p.feminine else 0.42
    pen.rrect(-neck, 0.4 * ry, neck, sy + 0.35, 0.1, skin_dark)
    if p.neckline == "collar":
        shirt = _hex("#f4f4f2") if clothes != NAMED_COLOURS["white"] else _hex("#dfe6ee")
        pen.polygon([(-0.7, sy - 0.02), (0.7, sy - 0.02), (0, sy + 1.45)], shirt)
        pen.polygon([(-neck, sy - 0.05), (neck, sy - 0.05), (0, sy + 0.42)], skin_dark)
        if p.masculine:
            pen.polygon(
                [(-0.13, sy + 0.36), (0.13, sy + 0.36), (0.18, sy + 1.3), (0, sy + 1.48), (-0.18, sy + 1.3)],
                p.accent,
            )
            pen.polygon(
                [(-0.15, sy + 0.3), (0.15, sy + 0.3), (0.09, sy + 0.46), (-0.09, sy + 0.46)],
                _shade(p.accent, 0.8),
            )
        pen.polygon(
            [(-0.72, sy - 0.06), (-neck - 0.02, sy - 0.06), (-0.08, sy + 0.5), (-0.48, sy + 0.55)],
            _shade(shirt, 0.93),
        )
        pen.polygon(
            [(0.72, sy - 0.06), (neck + 0.02, sy - 0.06), (0.08, sy + 0.5), (0.48, sy + 0.55)],
            _shade(shirt, 0.93),
        )
    elif p.neckline == "v":
        pen.polygon([(-neck - 0.08, sy - 0.02), (neck + 0.08, sy - 0.02), (0, sy + 0.8)], skin_dark)
    else:
        pen.chord(-neck - 0.1, sy - 0.4, neck + 0.1, sy + 0.38, 0, 180, skin_dark)
        pen.arc(-neck - 0.1, sy - 0.4, neck + 0.1, sy + 0.38, 0, 180, clothes_dark, 0.08)

    if hair is not None and p.long_hair:  # locks falling over the shoulders
        for side in (-1, 1):
            x0, x1 = (0.7, 1.14) if side > 0 else (-1.14, -0.7)
            pen.rrect(x0, -0.2 * ry, x1, sy + (0.7 if not p.curly else 0.9), 0.22, hair)

    # ears, head
    ey = 0.06 * ry
    for side in (-1, 1):
        ex0, ex1 = (1.0 - 0.22, 1.0 + 0.16) if side > 0 else (-1.0 - 0.16, -1.0 + 0.22)
        pen.ellipse(ex0, ey - 0.24, ex1, ey + 0.26, fill=skin, outline=outline, width=look.outline * 0.8)
    pen.ellipse(-1, -ry, 1, ry, fill=skin, outline=outline, width=look.outline)

    # face
    e = look.eye_scale * (1.15 if p.kid else 1.0)
    brow = _shade(hair, 0.75) if hair is not None and hair[0] + hair[1] + hair[2] < 560 else _hex("#5a4030")
    if p.senior:
        for y in (-0.52, -0.4):
            pen.arc(-0.38, y * ry, 0.38, y * ry + 0.18, 200, 340, skin_dark, 0.025)
    if p.blush:
        blush = _mix(skin, _hex("#f08090"), 0.35)
        for side in (-1, 1):
            pen.ellipse(side * 0.6 - 0.16, 0.36 * ry - 0.08, side * 0.6 + 0.16, 0.36 * ry + 0.08, fill=blush)
    for side in (-1, 1):
        x = side * 0.38
        bw = 0.075 if p.masculine else 0.055
        closed = p.eye_state == "happy" or (p.eye_state == "wink" and side > 0)
        if closed:  # a closed, smiling eye: an upward arc
            pen.arc(x - 0.19 * e, ey - 0.06 * e, x + 0.19 * e, ey + 0.16 * e, 200, 340, INK, 0.05)
            pen.arc(x - 0.23, ey - 0.4 - 0.05 * e, x + 0.23, ey - 0.19 - 0.05 * e, 205, 335, brow, bw)
            continue
        pen.ellipse(x - 0.19 * e, ey - 0.125 * e, x + 0.19 * e, ey + 0.125 * e, fill=_hex("#fbfbfb"))
        ir = 0.105 * e
        pen.ellipse(x - ir, ey - ir + 0.01, x + ir, ey + ir + 0.01, fill=p.eyes)
        pen.ellipse(
            x - ir * 0.5, ey - ir * 0.5 + 0.01, x + ir * 0.5, ey + ir * 0.5 + 0.01, fill=_hex("#1d1718")
        )
        hl = 0.032 * e
        pen.ellipse(
            x - ir * 0.35 - hl, ey - ir * 0.4 - hl, x - ir * 0.35 + hl, ey - ir * 0.4 + hl, fill=WHITE
        )
        lash = 0.045 if p.feminine or look.eye_scale > 1.2 else 0.032
        pen.arc(x - 0.2 * e, ey - 0.13 * e, x + 0.2 * e, ey + 0.13 * e, 195, 345, INK, lash)
        pen.arc(x - 0.23, ey - 0.36 - 0.05 * e, x + 0.23, ey - 0.15 - 0.05 * e, 205, 335, brow, bw)
        if p.senior:
            pen.arc(
                x + side * 0.2 - 0.08,
                ey - 0.08,
                x + side * 0.2 + 0.08,
                ey + 0.1,
                -40 if side > 0 else 140,
                40 if side > 0 else 220,
                skin_dark,
                0.02,
            )
    ny, my = 0.36 * ry, 0.64 * ry
    pen.arc(-0.1, ny - 0.07, 0.1, ny + 0.06, 20, 160, _shade(skin, 0.68), 0.04)
    facial = p.facial_hair
    if p.beard == "long":
        pen.polygon(
            [(-0.8, ry * 0.6), (0.8, ry * 0.6), (0.42, ry * 1.5), (0, ry * 1.72), (-0.42, ry * 1.5)], facial
        )
        pen.chord(-1.0, -ry * 0.85, 1.0, ry * 1.08, 24, 156, facial)
    elif p.beard:
        pen.chord(-1.0, -ry * 0.85, 1.0, ry * 1.06, 22, 158, facial)
    if p.moustache:
        pen.rrect(-0.3, my - 0.2, 0.3, my - 0.06, 0.07, _shade(facial, 0.92))
    lips = _mix(skin, _hex("#b8404f"), 0.55)
    if p.mouth == "smile":
        pen.chord(-0.28, my - 0.15, 0.28, my + 0.17, 0, 180, _hex("#8e2f3c"))
        pen.draw.rectangle(pen.box(-0.21, my + 0.005, 0.21, my + 0.055), fill=_hex("#fbfbfb"))
        pen.chord(-0.13, my + 0.06, 0.13, my + 0.16, 180, 360, _hex("#e0707a"))
    elif p.mouth == "laugh":
        pen.chord(-0.32, my - 0.2, 0.32, my + 0.3, 0, 180, _hex("#7a2432"))
        pen.draw.rectangle(pen.box(-0.24, my + 0.05, 0.24, my + 0.1), fill=_hex("#fbfbfb"))
        pen.chord(-0.16, my + 0.14, 0.16, my + 0.28, 180, 360, _hex("#e0707a"))
    elif p.mouth == "serious":
        pen.line([(-0.16, my + 0.02), (0.16, my + 0.02)], lips, 0.045)
    else:
        pen.arc(-0.2, my - 0.1, 0.2, my + 0.06, 25, 155, lips, 0.05)

    if hair is not None and p.headwear != "hijab":
        if p.bun:
            pen.ellipse(-0.42, -ry - 0.62, 0.42, -ry + 0.16, fill=hair)
            pen.arc(-0.3, -ry - 0.5, 0.3, -ry, 200, 260, _mix(hair, WHITE, 0.25), 0.05)
        _hair_cap(canvas, pen, p, ry)
    if p.headwear == "hijab":
        _hijab(canvas, pen, p, ry, sy)
    elif p.headwear:
        _hat(pen, p, ry)
    if p.glasses:
        frame = _hex("#26262b")
        lens = _hex("#202028") if p.glasses == "sun" else None
        for side in (-1, 1):
            x = side * 0.38
            pen.draw.rounded_rectangle(
                pen.box(x - 0.27, ey - 0.2, x + 0.27, ey + 0.19),
                radius=pen.w(0.09),
                fill=lens,
                outline=frame,
                width=pen.w(0.045),
            )
            pen.line([(side * 0.65, ey - 0.08), (side * 0.99, ey - 0.12)], frame, 0.04)
        pen.arc(-0.13, ey - 0.12, 0.13, ey + 0.04, 200, 340, frame, 0.045)


def _figure_geometry(w: int, h: int, p: Person, look: Look) -> tuple[float, float, float]:
    """(head centre x, head centre y, head radius) for the pose."""
    if p.pose == "full_body":
        ry = 1.1 if p.kid else 1.24
        total = (ry * 2 + 0.28 + 2.5 + 2.6 + 0.1) if p.kid else (ry * 2 + 0.28 + 3.1 + 3.9 + 0.1)
        scale = (0.72 if p.kid else 0.8) - 1.6 * look.letterbox
        r = min(scale * h / total, w / 5.0)
        feet = h * (0.95 - look.letterbox * 0.8)
        return w / 2, feet - (total - ry) * r, r
    if p.pose == "half_body":
        r = min(0.125 * h, 0.19 * w) * (0.88 if p.kid else 1.0)
        return w / 2, h * (0.33 if p.kid else 0.3), r
    r = min(0.22 * h, 0.3 * w) * (0.86 if p.kid else 1.0)
    return w / 2, h * (0.5 if p.kid else 0.47), r


# --- style finishing -------------------------------------------------------------------------------
def _vignette_mask(size: tuple[int, int], strength: float) -> Image.Image:
    """L mask, 255 at the centre falling to 255*(1-strength) in the corners."""
    radial = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return radial.point(lambda v: round(255 - min(255, v * 1.1) * strength))


def _grain(size: tuple[int, int], rng: random.Random, amount: int) -> Image.Image:
    noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return noise.point(lambda v: v * amount // 255)


def apply_style(image: Image.Image, style: str | None, rng: random.Random) -> Image.Image:
    """The preset's finishing filter on an RGB image of the final size."""
    name = _style_name(style)
    w, h = image.size
    if name == "noir":
        grey = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=1)
        grey = grey.point(lambda v: round(255 / (1 + math.exp(-(v - 128) / 30))))
        grey = ImageChops.multiply(grey, _vignette_mask((w, h), 0.75))
        return grey.convert("RGB")
    if name == "vintage":
        grey = ImageOps.grayscale(image)
        grey = ImageChops.add(grey, _grain((w, h), rng, 22), scale=1.0, offset=-11)
        sepia = ImageOps.colorize(grey, black=(46, 30, 16), white=(250, 236, 206), mid=(164, 126, 86))
        faded = Image.blend(sepia, Image.new("RGB", (w, h), (232, 214, 180)), 0.12)
        vignette = _vignette_mask((w, h), 0.3)
        return Image.merge("RGB", [ImageChops.multiply(band, vignette) for band in faded.split()])
    if name == "cyberpunk":
        tint = Image.linear_gradient("L").rotate(90).resize((w, h), Image.Resampling.BILINEAR)
        neon = Image.composite(
            Image.new("RGB", (w, h), (255, 42, 109)), Image.new("RGB", (w, h), (5, 217, 232)), tint
        )
        out = ImageChops.screen(image, Image.blend(Image.new("RGB", (w, h)), neon, 0.2))
        out = ImageEnhance.Contrast(out).enhance(1.12)
        column = Image.new("L", (1, h), 0)
        column.putdata([90 if y % 4 == 3 else 0 for y in range(h)])
        out.paste((0, 0, 0), (0, 0), column.resize((w, h), Image.Resampling.NEAREST))  # scanlines
        return out
    if name == "cinematic":
        grey = ImageOps.grayscale(image)
        graded = ImageOps.colorize(grey, black=(8, 38, 52), white=(255, 214, 170), mid=(128, 118, 108))
        out = ImageEnhance.Contrast(Image.blend(image, graded, 0.38)).enhance(1.08)
        bar = min(round(h * 0.14), max(round(h * 0.07), round((h - w / 2.39) / 2)))
        draw = ImageDraw.Draw(out)
        draw.rectangle((0, 0, w, bar - 1), fill=(0, 0, 0))
        draw.rectangle((0, h - bar, w, h), fill=(0, 0, 0))
        return out
    if name == "renaissance":
        warm = Image.blend(image, Image.new("RGB", (w, h), (120, 78, 34)), 0.16)
        vignette = _vignette_mask((w, h), 0.55)
        out = Image.merge("RGB", [ImageChops.multiply(band, vignette) for band in warm.split()])
        return ImageEnhance.Contrast(out).enhance(1.06)
    if name == "anime":
        return ImageEnhance.Color(image).enhance(1.2)
    if name == "pixar":
        return ImageEnhance.Brightness(ImageEnhance.Color(image).enhance(1.15)).enhance(1.03)
    if name == "fantasy":
        return ImageEnhance.Color(
            Image.blend(image, Image.new("RGB", (w, h), (190, 160, 255)), 0.07)
        ).enhance(1.1)
    if name == "professional":
        return ImageEnhance.Contrast(image).enhance(1.05)
    if name == "realistic":
        return ImageEnhance.Contrast(image).enhance(1.03)
    return image


# --- references ------------------------------------------------------------------------------------
def load_reference(references: list[bytes], want: tuple[int, int]) -> Image.Image:
    """The reference photo the avatar is made from (see photo.choose_reference), upright RGB."""
    return photo.choose_reference(references, want).image


# --- entry point -----------------------------------------------------------------------------------
def describe_person(spec: GenerationSpec, index: int) -> Person:
    """The person variation `index` of `spec` would show (what the attributes and keywords mapped to)."""
    rng = random.Random(f"{spec.variation_seed(index)}")
    style = _style_name(spec.style)
    look = LOOKS.get(style, DEFAULT_LOOK) if style else DEFAULT_LOOK
    return _person(spec, rng, look, spec.variation_seed(index))


def render_variation(spec: GenerationSpec, index: int, references: list[bytes]) -> Image.Image:
    """Variation `index` of `spec`: an RGB image of exactly spec.output.width x spec.output.height."""
    width, height = spec.output.width, spec.output.height
    rng = random.Random(f"{spec.variation_seed(index)}")
    style = _style_name(spec.style)
    look = LOOKS.get(style, DEFAULT_LOOK) if style else DEFAULT_LOOK
    if references:
        reference = photo.choose_reference(references, (width, height))
        pose = _pose(spec, _keywords(spec, spec.variation_seed(index)))
        framed = photo.frame(reference, width, height, pose, look.letterbox)
        return apply_style(photo.photo_treatment(framed, style), style, rng)

    person = _person(spec, rng, look, spec.variation_seed(index))
    ss = 2 if width * height <= SUPERSAMPLE_MAX_PIXELS else 1
    w, h = width * ss, height * ss
    head = _figure_geometry(w, h, person, look)
    canvas = _background((w, h), ss, look, rng, head)
    _draw_person(canvas, person, look, *head)
    if ss > 1:
        # a 2x2 box average is exact supersampling; LANCZOS would cost ~40 ms more at 1024x1024
        canvas = canvas.reduce(ss)
    return apply_style(canvas, style, rng)
