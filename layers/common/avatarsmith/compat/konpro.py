"""KonPro (`POST /v1/photo_avatar/photo/generate`): its request, its limits and its answer.

KonPro's fields are native generate fields with the same names; KonPro's own rule is the shorter
`appearance` (at most 1000 characters). `name` names the avatar (kept with the job's attributes, never
written into the image prompt). The answer is KonPro's `{"job_id", "status", "message"}`; the job is then
read at GET /v1/jobs/{job_id} or announced to `callback_url` with `callback_id` in the signed payload.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from avatarsmith.models.api import ShortText
from avatarsmith.models.domain import Job
from avatarsmith.models.text import DisplayText, UrlText

MAX_APPEARANCE = 1000
STARTED_MESSAGE = "Avatar generation started successfully"


class KonProGenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayText | None = Field(default=None, max_length=100, description="Name assigned to the avatar")
    age: str | None = Field(
        default=None,
        max_length=40,
        description="Young Adult, Early Middle Age, Late Middle Age, Senior, Unspecified",
    )
    gender: str | None = Field(default=None, max_length=40, description="Woman, Man, Unspecified")
    ethnicity: str | None = Field(default=None, max_length=60)
    orientation: str | None = Field(default=None, max_length=40, description="square, horizontal, vertical")
    pose: str | None = Field(default=None, max_length=40, description="half_body, close_up, full_body")
    style: str | None = Field(
        default=None,
        max_length=40,
        description="Realistic, Pixar, Cinematic, Vintage, Noir, Cyberpunk, Unspecified",
    )
    appearance: str | None = Field(default=None, max_length=MAX_APPEARANCE)
    callback_url: UrlText | None = Field(default=None, max_length=2048)
    callback_id: ShortText | None = None


class KonProStarted(BaseModel):
    job_id: str
    status: Literal["processing"] = "processing"
    message: str = STARTED_MESSAGE


def native_body(request: KonProGenerateRequest) -> dict[str, Any]:
    return request.model_dump(exclude_none=True)


def present_started(job: Job) -> dict[str, Any]:
    return KonProStarted(job_id=job.id).model_dump()
