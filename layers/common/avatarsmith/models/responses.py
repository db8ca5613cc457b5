"""Response bodies as the API sends them, for the OpenAPI document (the presenters build the dicts).

Each model names the fields clients rely on with their types; objects stay open (`additionalProperties`)
so fields added later are not breaking changes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .domain import JobStatus


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- the error envelope --------------------------------------------------------------------------------
class ErrorDetail(_Open):
    """One failed check (422: `loc`, `in` body/query/header/path, `message`, `type`), or the figures behind
    another error (402: `cost`, `balance`)."""

    loc: str | None = None
    message: str | None = None
    type: str | None = None


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. validation_error, rate_limited")
    message: str
    param: str | None = Field(default=None, description="The request field at fault, when there is one")
    details: list[ErrorDetail] | None = Field(default=None, description="Every failed check (422)")
    request_id: str


class ErrorEnvelope(BaseModel):
    """Every error the API answers: `{"error": {"code", "message", "param"?, "details"?, "request_id"}}`."""

    error: ErrorBody


# --- resources -----------------------------------------------------------------------------------------
class Health(_Open):
    status: Literal["ok"]
    version: str


class JobAvatar(_Open):
    index: int
    status: Literal["pending", "completed", "failed"]
    seed: int | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    error_code: str | None = None


class JobCredits(_Open):
    reserved: int
    charged: int
    refunded: int


class SceneHair(_Open):
    length: str | None = Field(default=None, description="bald, short, medium or long")
    colour: str | None = None
    texture: str | None = Field(default=None, description="straight, wavy, curly or afro")
    style: list[str] | None = Field(default=None, description="bun, ponytail, braids, fringe")


class SceneOutfit(_Open):
    kind: str = Field(description="suit, hoodie, armour, lab coat, uniform, dress, jacket, t-shirt, ...")
    colour: str | None = None
    extras: list[str] = Field(default_factory=list, description="tie, bow tie, badge, cape, ...")


class Scene(_Open):
    """What the offline renderer drew, in plain words (other backends do not report it)."""

    hair: SceneHair | None = None
    outfit: SceneOutfit | None = None
    accessories: list[str] = Field(default_factory=list, description="hats, glasses, headphones, ...")
    colours: dict[str, str] | None = Field(default=None, description="Colours named for items: cap: blue")
    as_written: dict[str, str] | None = Field(
        default=None, description="The prompt's own words for what was drawn, e.g. golden hour: sunset"
    )
    skin: str | None = None
    facial_hair: str | None = Field(default=None, description="stubble, goatee, moustache, beard, long beard")
    expression: str | None = None
    age: str | None = Field(default=None, description="child, teen, young, adult, middle-aged, elderly")
    gender: str | None = None
    eyes: str | None = None
    setting: str | None = Field(default=None, description="studio, neon city, forest, office, beach, ...")
    lighting: str | None = Field(
        default=None, description="soft, neon, golden hour, dramatic, moonlight, ..."
    )
    style: str | None = Field(
        default=None, description="The style preset drawn: given, or implied by the words"
    )
    style_implied: bool | None = None
    pose: str | None = None


class JobProvenance(_Open):
    """How the job was made. `adjustments` names everything the backend could not do as asked (for the
    offline renderer: the prompt words it could not draw, and its limits, e.g. no photorealism)."""

    backend: str | None = None
    backend_model: str | None = None
    backend_job_id: str | None = None
    final_prompt: str | None = None
    seed: int | None = None
    renderer_version: str | None = None
    reproducible: bool | None = None
    adjustments: list[str] = Field(default_factory=list)
    catalog_version: str | None = None
    scene: Scene | None = Field(default=None, description="What the offline renderer drew")


class JobErrorOut(_Open):
    code: str
    message: str


class Job(_Open):
    id: str
    object: Literal["job"]
    job_id: str
    status: JobStatus
    created_at: str
    updated_at: str
    model: str
    request: dict[str, Any]
    credits: JobCredits
    avatars: list[JobAvatar]
    provenance: JobProvenance
    client_reference_id: str | None = None
    metadata: dict[str, str] | None = None
    links: dict[str, str]
    callback_id: str | None = None
    error: JobErrorOut | None = None
    # Percify's top-level fields: the prompt, the credits the job costs, the first image and its size.
    prompt: str | None = None
    credits_used: int
    image_url: str | None = None
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    progress: dict[str, Any] | None = Field(default=None, description="stage and variations done/total")
    deadline_at: str | None = Field(default=None, description="When the job is canceled if not finished")
    reference_retention: Literal["delete", "keep"] | None = None
    references_purged_at: str | None = None
    erased_at: str | None = Field(default=None, description="When DELETE erased its images and inputs")


class Avatar(_Open):
    id: str
    object: Literal["avatar"]
    label: str | None = None
    job_id: str
    variation: int
    image_url: str
    thumbnail_url: str | None = None
    width: int
    height: int
    format: str
    style: str | None = None
    created_at: str
    updated_at: str
    published: bool = Field(description="Shared in the community gallery")
    community_id: str | None = Field(default=None, description="Its community gallery entry, if published")
    published_at: str | None = None


class DeletedAvatar(_Open):
    id: str
    object: Literal["avatar"]
    deleted: Literal[True]


class CommunityAvatar(_Open):
    id: str
    object: Literal["community_avatar"]
    label: str | None = None
    style: str | None = None
    image_url: str
    thumbnail_url: str | None = None
    width: int
    height: int
    format: str
    created_at: str


class Upload(_Open):
    id: str = Field(description="Pass it in reference_images once the file is posted")
    object: Literal["upload"]
    upload_url: str
    method: Literal["POST"]
    fields: dict[str, str] = Field(description="Form fields to send before the file field")
    content_type: str
    max_bytes: int
    created_at: str
    expires_at: str = Field(description="The form must be posted before this")
    usable_until: str = Field(description="The uploaded photo can be referenced until this")


class BatchCounts(_Open):
    total: int
    queued: int
    processing: int
    completed: int
    failed: int
    canceled: int


class Batch(_Open):
    id: str
    object: Literal["batch"]
    status: Literal["creating", "processing", "completed", "failed"]
    counts: BatchCounts
    job_ids: list[str]
    credits: JobCredits
    created_at: str
    updated_at: str
    completed_at: str | None = None
    canceled_at: str | None = None
    callback_id: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] | None = None
    links: dict[str, str]


class _Page(_Open):
    object: Literal["list"]
    has_more: bool
    next_cursor: str | None = None


class JobList(_Page):
    data: list[Job]


class AvatarList(_Page):
    data: list[Avatar]
    limit: int | None = None
    offset: int | None = None
    total: int | None = None


class CommunityAvatarList(_Page):
    data: list[CommunityAvatar]


class BatchList(_Page):
    data: list[Batch]


class Style(_Open):
    id: int
    object: Literal["style"]
    name: str
    title: str
    description: str


class StyleList(_Page):
    data: list[Style]


class Model(_Open):
    id: str
    object: Literal["model"]
    description: str
    backend: str
    credits_per_variation: int
    capabilities: list[str]
    max_prompt_chars: int | None = None
    default: bool
    fallback: bool = Field(
        False,
        description="True when none of the model's own backends is configured here and the offline renderer "
        "serves it instead, priced as the offline model (credits_per_variation is the price charged).",
    )
    served_by: str | None = Field(None, description="The backend that draws this model's images here.")
    fallback_note: str | None = None


class ModelList(_Page):
    data: list[Model]
    catalog_version: str | None = None


class Account(_Open):
    object: Literal["account"]
    tenant_id: str
    name: str | None = None
    balance: int
    reserved: int
    running_jobs: int
    limits: dict[str, Any]
    recent_ledger_entries: list[dict[str, Any]]


class WebhookSecretInfo(_Open):
    fingerprint: str
    created_at: str | None = None
    expires_at: str | None = None


class WebhookEndpoint(_Open):
    id: str
    object: Literal["webhook_endpoint"]
    url: str
    events: list[str]
    description: str | None = None
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None = None
    secrets: list[WebhookSecretInfo]
    created_at: str
    updated_at: str
    secret: str | None = Field(default=None, description="Only when the endpoint is created or rotated")


class WebhookEndpointList(_Page):
    data: list[WebhookEndpoint]


class DeletedWebhookEndpoint(_Open):
    id: str
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


class WebhookDelivery(_Open):
    id: str
    object: Literal["webhook_delivery"]
    webhook_id: str
    event_type: str
    job_id: str | None = None
    target: str
    endpoint_id: str | None = None
    url: str
    status: Literal["pending", "succeeded", "failed"]
    attempt_count: int
    attempts: list[dict[str, Any]]
    next_attempt_at: str | None = None
    created_at: str
    updated_at: str


class WebhookDeliveryList(_Page):
    data: list[WebhookDelivery]


class CallbackSecret(_Open):
    object: Literal["webhook_callback_secret"]
    secret: str
    previous_secret_expires_at: str | None = None
