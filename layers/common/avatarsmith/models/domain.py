"""Domain models: what a job, a generation spec and a saved avatar are, independent of HTTP and storage."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ImageFormat = Literal["png", "webp", "jpeg"]
Pose = Literal["close_up", "half_body", "full_body"]
Gender = Literal["female", "male", "non_binary", "unspecified"]
AgeGroup = Literal["kid", "young_adult", "early_middle_age", "late_middle_age", "senior", "unspecified"]
PersonType = Literal["female", "male", "kid", "custom"]
Orientation = Literal["square", "horizontal", "vertical"]


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Attributes(_Frozen):
    gender: Gender | None = None
    age: AgeGroup | None = None
    ethnicity: str | None = None
    person_type: PersonType | None = None
    pose: Pose | None = None
    orientation: Orientation | None = None
    name: str | None = None


class ReferenceImage(_Frozen):
    """A reference photo: stored in our bucket at submit (`s3`), or a URL fetched by the processor."""

    kind: Literal["s3", "url"]
    location: str  # S3 key (tenant-scoped) or https URL
    media_type: str | None = None  # image/jpeg | image/png | image/webp, when known
    size_bytes: int | None = None


class OutputSpec(_Frozen):
    width: int
    height: int
    aspect_ratio: str | None = None  # as requested, when one was
    format: ImageFormat = "png"


class GenerationSpec(_Frozen):
    """The normalised generate request: what every backend and the renderer consume."""

    prompt: str | None = None
    negative_prompt: str | None = None
    model: str
    style: str | None = None  # a preset name from catalog.STYLES
    attributes: Attributes = Attributes()
    hints: dict[str, str | int | float | bool] = Field(default_factory=dict)
    reference_images: list[ReferenceImage] = Field(default_factory=list)
    output: OutputSpec
    guidance_scale: float | None = None
    seed: int  # always resolved at submit so every job is reproducible
    num_variations: int = 1
    prompt_model: str | None = None
    # The backend route chosen when the job was created (the processor keeps it even if configuration
    # changes meanwhile). None for jobs created before routes existed: the catalog is asked again.
    backend: str | None = None
    backend_model: str | None = None
    # Set only on the copy the workflow hands to a backend: the prompt chosen at submit (the composer's,
    # or the optional optimiser's rewrite). Never stored with the job; provenance records it.
    final_prompt: str | None = None

    def variation_seed(self, index: int) -> int:
        return (self.seed + index) % 2_147_483_648


class Credits(_Frozen):
    reserved: int = 0
    charged: int = 0
    refunded: int = 0


class Variation(_Frozen):
    index: int
    status: Literal["pending", "completed", "failed"] = "pending"
    width: int | None = None
    height: int | None = None
    format: ImageFormat | None = None
    seed: int | None = None
    image_key: str | None = None
    thumbnail_key: str | None = None
    error_code: str | None = None


class Provenance(_Frozen):
    backend: str | None = None
    backend_model: str | None = None
    backend_job_id: str | None = None
    final_prompt: str | None = None
    seed: int | None = None
    renderer_version: str | None = None
    reproducible: bool = True
    # How the request was mapped onto the backend, e.g. "negative_prompt folded into the prompt",
    # "generated at 1024x1536, cropped to 512x768", "prompt rewritten by amazon.nova-lite-v1:0".
    adjustments: list[str] = Field(default_factory=list)
    catalog_version: str | None = None
    # What the offline renderer drew, in plain words: hair, outfit, accessories, facial hair, expression,
    # age, setting, lighting, style (renderer.scene.Scene.summary). None for other backends.
    scene: dict[str, Any] | None = None


class JobError(_Frozen):
    code: str
    message: str


class Job(_Frozen):
    id: str
    tenant_id: str
    status: JobStatus
    created_at: str
    updated_at: str
    spec: GenerationSpec
    credits: Credits
    variations: list[Variation]
    provenance: Provenance = Provenance()
    error: JobError | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    callback_url: str | None = None
    callback_id: str | None = None
    # EXPRESS workflow runs (at least once): the run that owns the generation, since when (epoch
    # seconds), and the run whose step settled the job (it alone publishes the terminal event).
    generation_run: str | None = None
    generation_claimed_at: int | None = None
    settled_by: str | None = None
    deadline_at: str | None = None  # per-request deadline (Cancel-After / deadline_seconds), from creation
    reference_retention: Literal["delete", "keep"] = "delete"
    references_purged_at: str | None = None  # when the reference photos were deleted
    erased_at: str | None = None  # when DELETE /v1/jobs/{id} erased the images and inputs
    variations_stored: int = 0  # written by StoreImages as each variation is stored (progress)
    batch_id: str | None = None


class SavedAvatar(_Frozen):
    id: str
    tenant_id: str
    label: str | None = None  # stored without the attribute when absent (see dal.avatars)
    job_id: str
    variation: int
    image_key: str
    thumbnail_key: str | None = None
    width: int
    height: int
    format: ImageFormat
    created_at: str
    style: str | None = None
    updated_at: str | None = None
    published_id: str | None = None  # the community gallery entry, while published
    published_at: str | None = None


class Upload(_Frozen):
    """A reference photo the caller uploads straight to S3 with a presigned POST."""

    id: str
    tenant_id: str
    key: str
    content_type: str
    max_bytes: int
    created_at: str
    form_expires_at: str  # the upload form stops working
    usable_until: str  # jobs may reference the upload until then


class CommunityEntry(_Frozen):
    """A published avatar as the public gallery stores it: no tenant id, prompt or metadata."""

    id: str
    tenant_id: str  # kept for unpublish and takedown; never presented
    avatar_id: str
    label: str | None = None
    style: str | None = None
    image_key: str
    thumbnail_key: str | None = None  # None: rendered on request (logic/thumbnails.py)
    width: int
    height: int
    format: ImageFormat
    created_at: str


class Batch(_Frozen):
    """Up to 100 generate requests submitted (and paid for) together; one event when all have ended."""

    id: str
    tenant_id: str
    status: Literal["creating", "processing", "completed", "failed"]
    job_ids: list[str]
    created_at: str
    updated_at: str
    finished_job_ids: list[str] = Field(default_factory=list)
    completed_at: str | None = None
    canceled_at: str | None = None
    callback_url: str | None = None
    callback_id: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class Tenant(_Frozen):
    id: str
    name: str


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)
