"""API models: the generate request (every seed's field names accepted) and its normalisation.

Strict where DESIGN.md sets a limit (`num_variations`, `output.width`, `seed`, …: out of range is a 422);
lenient exactly where a seed documents leniency (302.AI: `num`, top-level `width`/`height` outside the
supported range are treated as 1 and 1024). Every documented integer is a JSON integer (`true`, `"2"` and
`1.0` are refused: strict), every documented number a JSON number; labels and names follow
`models.text` (no control, zero-width or bidi characters; NFC), URLs hold no control characters.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from avatarsmith import catalog
from avatarsmith.models.domain import AgeGroup, Attributes, Gender, OutputSpec, Pose
from avatarsmith.models.text import DisplayText, ReferenceText, UrlText

MAX_PROMPT = 5000
#: The validation error type of a blank prompt: answered 400 `invalid_prompt` (not 422) on every route.
INVALID_PROMPT = "invalid_prompt"
MIN_SIDE, MAX_SIDE, DEFAULT_SIDE = 256, 2048, 1024
MAX_REFERENCE_IMAGES = 6
MAX_SEED = 2_147_483_647
ASPECT_RATIOS: dict[str, tuple[int, int]] = {
    "1:1": (1, 1),
    "16:9": (16, 9),
    "9:16": (9, 16),
    "4:3": (4, 3),
    "3:4": (3, 4),
}
ORIENTATION_RATIOS = {"square": "1:1", "horizontal": "16:9", "vertical": "9:16"}
RESOLUTIONS = {"0.5k": 512, "512": 512, "1k": 1024, "1024": 1024, "2k": 2048, "2048": 2048}

ShortText = Annotated[DisplayText, StringConstraints(strip_whitespace=True, max_length=200)]
#: A hint's value: text, a flag or a number (numbers bounded so that they can be stored as given).
HintValue = (
    Annotated[str, StringConstraints(max_length=500)]
    | bool
    | Annotated[int, Field(strict=True, ge=-(2**53), le=2**53)]
    | Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-1e15, le=1e15)]
)
#: Metadata: short names to text, echoed in the job and in webhook deliveries.
Metadata = dict[
    Annotated[DisplayText, StringConstraints(min_length=1, max_length=40)],
    Annotated[str, StringConstraints(max_length=500)],
]


def Integer(**constraints: Any) -> Any:
    """A documented integer: only a JSON integer is accepted (not `true`, `"2"` or `1.0`)."""
    return Field(strict=True, **constraints)


_GENDERS: dict[str, Gender] = {
    "female": "female",
    "woman": "female",
    "f": "female",
    "girl": "female",
    "male": "male",
    "man": "male",
    "m": "male",
    "boy": "male",
    "non_binary": "non_binary",
    "non-binary": "non_binary",
    "nonbinary": "non_binary",
    "unspecified": "unspecified",
    "": "unspecified",
}
_AGES: dict[str, AgeGroup] = {
    "kid": "kid",
    "child": "kid",
    "young_adult": "young_adult",
    "early_middle_age": "early_middle_age",
    "late_middle_age": "late_middle_age",
    "senior": "senior",
    "unspecified": "unspecified",
    "": "unspecified",
}
_POSES: dict[str, Pose] = {
    "close_up": "close_up",
    "closeup": "close_up",
    "half_body": "half_body",
    "full_body": "full_body",
    "portrait": "close_up",
    "headshot": "close_up",
    "bust": "close_up",
    "upper_body": "half_body",
    "waist_up": "half_body",
    "full_length": "full_body",
}
# Pi's documented hints steer the request (style, framing, cultural context) instead of prompt text.
STEERING_HINTS = ("art_direction", "avatar_composition", "filter_culture")
_ORIENTATIONS = {
    "square": "square",
    "horizontal": "horizontal",
    "landscape": "horizontal",
    "vertical": "vertical",
    "portrait": "vertical",
}


def _key(value: str) -> str:
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def _age_from_years(years: int) -> AgeGroup:
    if years < 13:
        return "kid"
    if years <= 35:
        return "young_adult"
    if years <= 50:
        return "early_middle_age"
    if years <= 64:
        return "late_middle_age"
    return "senior"


class AttributesRequest(BaseModel):
    """Person attributes (KonPro, 302.AI). Values are matched case-insensitively."""

    model_config = ConfigDict(extra="forbid")

    gender: str | None = Field(default=None, max_length=40)
    age: str | Annotated[int, Field(strict=True)] | None = None
    ethnicity: str | None = Field(default=None, max_length=60)
    person_type: str | None = Field(default=None, max_length=40)
    pose: str | None = Field(default=None, max_length=40)
    orientation: str | None = Field(default=None, max_length=40)
    name: DisplayText | None = Field(default=None, max_length=100)

    @field_validator("gender")
    @classmethod
    def _gender(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if _key(v) not in _GENDERS:
            raise ValueError("gender must be one of female (Woman), male (Man), non_binary, unspecified")
        return _GENDERS[_key(v)]

    @field_validator("age")
    @classmethod
    def _age(cls, v: str | int | None) -> str | None:
        if v is None:
            return None
        if isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit() and len(v.strip()) <= 3):
            years = int(v)
            if not 0 <= years <= 120:
                raise ValueError("age in years must be between 0 and 120")
            return _age_from_years(years)
        if _key(v) not in _AGES:
            raise ValueError(
                "age must be a number of years or one of Kid, Young Adult, Early Middle Age, Late Middle Age,"
                " Senior, Unspecified"
            )
        return _AGES[_key(v)]

    @field_validator("person_type")
    @classmethod
    def _person_type(cls, v: str | None) -> str | None:
        if v is None:
            return None
        key = _key(v)
        mapped = {
            "female": "female",
            "woman": "female",
            "male": "male",
            "man": "male",
            "kid": "kid",
            "child": "kid",
            "custom": "custom",
        }.get(key)
        if mapped is None:
            raise ValueError("person_type must be one of female, male, kid")
        return mapped

    @field_validator("pose")
    @classmethod
    def _pose(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if _key(v) not in _POSES:
            raise ValueError("pose must be one of close_up, half_body, full_body")
        return _POSES[_key(v)]

    @field_validator("orientation")
    @classmethod
    def _orientation(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if _key(v) not in _ORIENTATIONS:
            raise ValueError("orientation must be one of square, horizontal, vertical")
        return _ORIENTATIONS[_key(v)]

    @field_validator("ethnicity")
    @classmethod
    def _ethnicity(cls, v: str | None) -> str | None:
        return None if v is None or _key(v) in ("", "unspecified") else _key(v)


class OutputRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    aspect_ratio: str | None = Field(default=None, description="1:1, 16:9, 9:16, 4:3, 3:4 or auto")
    width: int | None = Integer(default=None, ge=MIN_SIDE, le=MAX_SIDE)
    height: int | None = Integer(default=None, ge=MIN_SIDE, le=MAX_SIDE)
    resolution: str | None = Field(default=None, description="0.5K, 1K or 2K (the long side)")
    format: Literal["png", "webp", "jpeg", "jpg"] | None = None
    thinking_intensity: str | None = Field(
        default=None,
        max_length=40,
        description="Accepted for Pi compatibility; no effect on built-in models.",
    )

    @field_validator("aspect_ratio")
    @classmethod
    def _aspect(cls, v: str | None) -> str | None:
        if v is None or v.strip().lower() == "auto":
            return None
        if v.strip() not in ASPECT_RATIOS:
            raise ValueError(f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)} or auto")
        return v.strip()

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if v.strip().lower() not in RESOLUTIONS:
            raise ValueError("resolution must be one of 0.5K, 1K, 2K")
        return v.strip().lower()


class GenerateAvatarRequest(AttributesRequest):
    """POST /v1/avatars/generate. Top-level attribute fields (KonPro/302.AI style) are allowed too."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    custom_prompt: str | None = Field(
        default=None, max_length=MAX_PROMPT, description="302.AI alias of prompt"
    )
    appearance: str | None = Field(default=None, max_length=MAX_PROMPT, description="KonPro alias of prompt")
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT)
    model: str | None = Field(default=None, max_length=100)
    style: str | Annotated[int, Field(strict=True)] | None = None
    attributes: AttributesRequest | None = None
    hints: dict[Annotated[str, StringConstraints(max_length=64)], HintValue] | None = Field(
        default=None, max_length=32
    )
    reference_images: list[ReferenceText] | None = Field(
        default=None, min_length=1, max_length=MAX_REFERENCE_IMAGES
    )
    image: ReferenceText | None = Field(default=None, description="302.AI alias: one reference image")
    output: OutputRequest | None = None
    aspect_ratio: str | None = None
    width: int | None = Integer(default=None, description="302.AI: outside 256-2048 is treated as 1024")
    height: int | None = Integer(default=None, description="302.AI: outside 256-2048 is treated as 1024")
    guidance_scale: float | None = Field(default=None, strict=True, ge=1, le=20)
    cfg_scale: float | None = Field(
        default=None, strict=True, ge=1, le=20, description="Percify alias of guidance_scale"
    )
    seed: int | None = Integer(default=None, ge=0, le=MAX_SEED)
    num_variations: int | None = Integer(default=None, ge=1, le=4)
    num_images: int | None = Integer(default=None, ge=1, le=4, description="Percify alias of num_variations")
    num: int | None = Integer(default=None, description="302.AI alias: outside 1-4 is treated as 1")
    callback_url: UrlText | None = Field(default=None, max_length=2048)
    deadline_seconds: int | None = Integer(
        default=None, ge=1, le=86_400, description="cancel the job this long after creation (or Cancel-After)"
    )
    reference_retention: Literal["delete", "keep"] = Field(
        default="delete", description="delete the reference photos when the job ends (default), or keep them"
    )
    callback_id: ShortText | None = None
    client_reference_id: ShortText | None = None
    metadata: Metadata | None = Field(default=None, max_length=16)

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v: str | None) -> str | None:
        """A prompt that is given must say something (Percify: Invalid Prompt; Pi: non-empty string)."""
        if v is not None and not v.strip():
            raise PydanticCustomError(INVALID_PROMPT, "Invalid Prompt: prompt must be a non-empty string")
        return None if v is None else v.strip()

    @field_validator("custom_prompt", "appearance", "negative_prompt")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        """Optional texts: empty means not given (302.AI: an empty custom_prompt leaves the style on)."""
        if v is None:
            return None
        v = v.strip()
        return v or None

    @field_validator("style")
    @classmethod
    def _style(cls, v: str | int | None) -> str | int | None:
        if v is None or str(v).strip().lower() in catalog.NO_STYLE_VALUES:
            return None
        if catalog.find_style(v) is None:
            names = ", ".join(f"{s.name} ({s.id})" for s in catalog.STYLES)
            raise ValueError(f"unknown style; use a preset name or id from GET /v1/styles: {names}")
        return v

    @field_validator("aspect_ratio")
    @classmethod
    def _top_aspect(cls, v: str | None) -> str | None:
        return OutputRequest._aspect(v)

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not re.match(r"^https?://[^\s/?#]+[^\s]*$", v):
            raise ValueError("callback_url must be an absolute http(s) URL")
        return v

    @model_validator(mode="after")
    def _one_prompt_field(self) -> GenerateAvatarRequest:
        given = [n for n in ("prompt", "custom_prompt", "appearance") if getattr(self, n)]
        if len(given) > 1:
            raise ValueError(f"send the description in one field only (got {', '.join(given)})")
        if self.image is not None and self.reference_images is not None:
            raise ValueError("send either image or reference_images, not both")
        for name, alias in (("guidance_scale", "cfg_scale"), ("num_variations", "num_images")):
            if getattr(self, name) is not None and getattr(self, alias) is not None:
                raise ValueError(f"send either {name} or {alias}, not both")
        return self

    # --- normalisation -------------------------------------------------------------------------
    def description(self) -> str | None:
        return self.prompt or self.custom_prompt or self.appearance

    def reference_inputs(self) -> list[str]:
        if self.reference_images is not None:
            return self.reference_images
        return [self.image] if self.image else []

    def variations(self) -> int:
        if self.num_variations is not None:
            return self.num_variations
        if self.num_images is not None:
            return self.num_images
        if self.num is not None:
            return self.num if 1 <= self.num <= 4 else 1
        return 1

    def guidance(self) -> float | None:
        return self.guidance_scale if self.guidance_scale is not None else self.cfg_scale

    def style_name(self) -> str | None:
        """The preset, or None. 302.AI: a non-empty custom_prompt makes the service ignore `style`.
        Without `style`, Pi's `art_direction` hint picks the preset it names (e.g. Ultra Realistic)."""
        if self.custom_prompt:
            return None
        if self.style is None:
            return self._steering()[0]
        preset = catalog.find_style(self.style)
        return preset.name if preset else None

    def _steering(self) -> tuple[str | None, str | None, str | None]:
        """(style, pose, ethnicity) named by Pi's hints; None where a hint is absent or not understood."""
        hints = self.hints or {}
        art = hints.get("art_direction")
        preset = catalog.find_style(art) if isinstance(art, str) and art.strip() else None
        composition = hints.get("avatar_composition")
        pose = _POSES.get(_key(composition)) if isinstance(composition, str) else None
        culture = hints.get("filter_culture")
        culture_key = _key(culture) if isinstance(culture, str) else ""
        ethnicity = culture_key if culture_key not in ("", "unspecified") else None
        return (preset.name if preset else None), pose, ethnicity

    def merged_attributes(self) -> Attributes:
        nested = self.attributes or AttributesRequest()
        fields = ("gender", "age", "ethnicity", "person_type", "pose", "orientation", "name")
        values: dict[str, Any] = {
            f: getattr(nested, f) if getattr(nested, f) is not None else getattr(self, f) for f in fields
        }
        _, hinted_pose, hinted_ethnicity = self._steering()
        if values["pose"] is None:
            values["pose"] = hinted_pose
        if values["ethnicity"] is None:
            values["ethnicity"] = hinted_ethnicity
        if values["person_type"] == "kid" and values["age"] in (None, "unspecified"):
            values["age"] = "kid"
        if values["person_type"] in ("female", "male") and values["gender"] in (None, "unspecified"):
            values["gender"] = values["person_type"]
        return Attributes(**values)

    def output_spec(self, attributes: Attributes) -> OutputSpec:
        out = self.output or OutputRequest()
        fmt = {"jpg": "jpeg"}.get(out.format or "png", out.format or "png")
        width = out.width if out.width is not None else _lenient_side(self.width)
        height = out.height if out.height is not None else _lenient_side(self.height)
        ratio_name = out.aspect_ratio or self.aspect_ratio
        if ratio_name is None and attributes.orientation:
            ratio_name = ORIENTATION_RATIOS[attributes.orientation]
        long_side = RESOLUTIONS[out.resolution] if out.resolution else DEFAULT_SIDE
        if width is None or height is None:
            rw, rh = ASPECT_RATIOS[ratio_name or "1:1"]
            if width is not None:
                height = _clamp(_round8(width * rh / rw))
            elif height is not None:
                width = _clamp(_round8(height * rw / rh))
            elif rw >= rh:
                width, height = long_side, _clamp(_round8(long_side * rh / rw))
            else:
                width, height = _clamp(_round8(long_side * rw / rh)), long_side
        return OutputSpec(width=width, height=height, aspect_ratio=ratio_name, format=fmt)

    def hint_map(self) -> dict[str, str | int | float | bool]:
        """Hints left for the prompt: the steering hints that were understood are applied as style,
        pose and ethnicity (see `_steering`) and not repeated as text."""
        style, pose, ethnicity = self._steering()
        understood = {"art_direction": style, "avatar_composition": pose, "filter_culture": ethnicity}
        hints: dict[str, str | int | float | bool] = {
            k: v for k, v in (self.hints or {}).items() if understood.get(k) is None
        }
        if self.output and self.output.thinking_intensity:
            hints.setdefault("thinking_intensity", self.output.thinking_intensity)
        return hints


def _lenient_side(value: int | None) -> int | None:
    if value is None:
        return None
    return value if MIN_SIDE <= value <= MAX_SIDE else DEFAULT_SIDE


def _round8(value: float) -> int:
    return max(8, round(value / 8.0) * 8)


def _clamp(value: int) -> int:
    return max(MIN_SIDE // 2, min(MAX_SIDE, value))


class SaveAvatarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(min_length=1, max_length=64)
    label: DisplayText | None = Field(default=None, max_length=200)
    variation: int = Integer(default=0, ge=0, le=3)


class CreateUploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content_type: Literal["image/jpeg", "image/png", "image/webp"]
    size: int = Integer(ge=1, description="the file's size in bytes (at most 15 MB = 15728640)")


class UpdateAvatarRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: DisplayText | None = Field(max_length=200)


MAX_BATCH_ITEMS = 100


class CreateBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)
    callback_url: UrlText | None = Field(default=None, max_length=2048)
    callback_id: Annotated[DisplayText, StringConstraints(min_length=1, max_length=200)] | None = None
    client_reference_id: Annotated[DisplayText, StringConstraints(min_length=1, max_length=200)] | None = None
    metadata: Metadata | None = Field(default=None, max_length=16)

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://", v):
            raise ValueError("callback_url must be an absolute http(s) URL")
        return v
