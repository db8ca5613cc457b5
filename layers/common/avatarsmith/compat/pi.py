"""Pi (`/api/v1/...`): its generate request, its 202 answer, its job and saved-avatar shapes.

Pi's request fields are a subset of the native generate request with the same names, so the mapping is
a re-validation; the differences are Pi's own rules (a non-empty `prompt` is required) and its answers
(`created_at` in Unix seconds, the job id under `data.job_id` as a UUID — the same 128 bits as our
`job_…` id, and either is accepted wherever Pi takes a job id —, the image under `data.avatar` when the
caller asks for `expand=avatar`).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from avatarsmith.ids import job_id_as_uuid, job_id_from_pi
from avatarsmith.logic.presenters import present_avatar, present_job
from avatarsmith.logic.services import Services
from avatarsmith.models.api import (
    INVALID_PROMPT,
    MAX_PROMPT,
    MAX_REFERENCE_IMAGES,
    HintValue,
    Metadata,
    OutputRequest,
    ShortText,
)
from avatarsmith.models.domain import Job, SavedAvatar
from avatarsmith.models.text import DisplayText, ReferenceText

ROUTE_PREFIX = "/api/v1"


class PiGenerateRequest(BaseModel):
    """POST /api/v1/avatars/generate."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(max_length=MAX_PROMPT, description="Creative description, 1-5000 chars")
    hints: dict[Annotated[str, StringConstraints(max_length=64)], HintValue] | None = Field(
        default=None,
        max_length=32,
        description="art_direction -> style preset, avatar_composition -> pose, filter_culture -> "
        "cultural context (ethnicity); other keys are added to the prompt",
    )
    reference_images: list[ReferenceText] | None = Field(
        default=None, min_length=1, max_length=MAX_REFERENCE_IMAGES
    )
    output: OutputRequest | None = None
    client_reference_id: ShortText | None = None
    metadata: Metadata | None = Field(
        default=None, max_length=16, description="Echoed in the job and in webhook deliveries"
    )

    @field_validator("prompt")
    @classmethod
    def _non_empty(cls, v: str) -> str:
        if not v.strip():
            raise PydanticCustomError(INVALID_PROMPT, "Invalid Prompt: prompt must be a non-empty string")
        return v


class PiSaveRequest(BaseModel):
    """POST /api/v1/avatars/save."""

    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(min_length=1, max_length=64, description="The job's UUID (or its job_... id)")
    label: DisplayText | None = Field(default=None, max_length=200)


class PiJobData(BaseModel):
    job_id: str = Field(description="UUID of the generation job (the same 128 bits as its job_... id)")


class PiJobAccepted(BaseModel):
    """The 202 answer to a generate request."""

    id: str = Field(description="Request identifier (req_pi_...)")
    object: Literal["job"] = "job"
    status: str
    created_at: int = Field(description="Unix seconds")
    data: PiJobData


class PiAvatarImage(BaseModel):
    index: int
    image_url: str
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    seed: int | None = None


class PiJobDetail(BaseModel):
    job_id: str
    model: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    error: dict[str, str] | None = None
    avatar: PiAvatarImage | None = Field(default=None, description="With expand=avatar, once completed")
    avatars: list[PiAvatarImage] | None = Field(default=None, description="With expand=avatar: every image")


class PiJob(BaseModel):
    """GET /api/v1/jobs/{job_id}."""

    id: str
    object: Literal["job"] = "job"
    status: str = Field(description="queued, processing, completed, failed or canceled")
    created_at: int
    updated_at: int
    data: PiJobDetail


class PiAvatar(BaseModel):
    """A saved avatar."""

    id: str
    object: Literal["avatar"] = "avatar"
    label: str | None
    image_url: str
    thumbnail_url: str | None = None
    job_id: str
    width: int
    height: int
    created_at: int = Field(description="Unix seconds")


class PiAvatarList(BaseModel):
    object: Literal["list"] = "list"
    data: list[PiAvatar]
    has_more: bool
    total: int
    limit: int
    offset: int


def unix_seconds(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def native_body(request: PiGenerateRequest) -> dict[str, Any]:
    """The native generate body: Pi's fields keep their names (`hints` steer style, pose and culture)."""
    return request.model_dump(exclude_none=True)


def new_request_id() -> str:
    return f"req_pi_{secrets.token_hex(12)}"


def present_accepted(job: Job) -> dict[str, Any]:
    return PiJobAccepted(
        id=new_request_id(),
        status=job.status.value,
        created_at=unix_seconds(job.created_at),
        data=PiJobData(job_id=job_id_as_uuid(job.id)),
    ).model_dump(mode="json")


def present_pi_job(job: Job, services: Services, *, expand: set[str]) -> dict[str, Any]:
    native = present_job(job, services)
    detail = PiJobDetail(
        job_id=job_id_as_uuid(job.id),
        model=job.spec.model,
        client_reference_id=job.client_reference_id,
        metadata=job.metadata,
        error=job.error.model_dump() if job.error else None,
    )
    if "avatar" in expand:
        images = [PiAvatarImage.model_validate(a) for a in native["avatars"] if a.get("image_url")]
        detail.avatars = images
        detail.avatar = images[0] if images else None
    body = PiJob(
        id=job_id_as_uuid(job.id),
        status=job.status.value,
        created_at=unix_seconds(job.created_at),
        updated_at=unix_seconds(job.updated_at),
        data=detail,
    ).model_dump(mode="json", exclude_none=True)
    return body


def present_pi_avatar(avatar: SavedAvatar, services: Services) -> dict[str, Any]:
    native = present_avatar(avatar, services)
    shown = {**native, "job_id": job_id_as_uuid(avatar.job_id), "created_at": unix_seconds(avatar.created_at)}
    return PiAvatar.model_validate(shown).model_dump(mode="json")


def native_job_id(value: str) -> str:
    """The job id a Pi request names (its UUID or our `job_…` id) as ours."""
    return job_id_from_pi(value)
