"""Response models, field for field the component schemas of the API's OpenAPI document
(`docs/openapi.json`; a test fails when the two disagree). Unknown fields are kept, so a newer server
never breaks an older SDK. `SPEC_SCHEMAS` names the schema each model mirrors."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

T = TypeVar("T")

TERMINAL_STATUSES = frozenset({"completed", "failed", "canceled"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Credits(_Model):
    reserved: int = 0
    charged: int = 0
    refunded: int = 0


class JobError(_Model):
    code: str
    message: str = ""


class JobAvatar(_Model):
    """One variation of a job; `image_url` is presigned and set once the variation completed."""

    index: int
    status: str
    seed: int | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    error_code: str | None = None
    _client: Any = PrivateAttr(None)  # set on the SDK's job handles, for download()
    _job_id: str = PrivateAttr("")


class JobData(_Model):
    id: str
    object: str = "job"
    job_id: str | None = None
    status: str
    created_at: str
    updated_at: str | None = None
    model: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    credits: Credits = Field(default_factory=Credits)
    avatars: list[JobAvatar] = Field(default_factory=list)
    provenance: dict[str, Any] = Field(default_factory=dict)
    error: JobError | None = None
    client_reference_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    callback_id: str | None = None
    links: dict[str, str] = Field(default_factory=dict)
    prompt: str | None = None
    credits_used: int | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    progress: dict[str, Any] | None = None
    deadline_at: str | None = None
    reference_retention: str | None = None
    references_purged_at: str | None = None
    erased_at: str | None = None
    _client: Any = PrivateAttr(None)  # set on the SDK's job handles, for wait() and cancel()

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def absorb(self, other: JobData) -> None:
        """Take every field of a fresher read of the same job (in place: `job.wait()` updates `job`)."""
        for name in type(self).model_fields:
            object.__setattr__(self, name, getattr(other, name))
        object.__setattr__(self, "__pydantic_extra__", other.__pydantic_extra__)


J = TypeVar("J", bound=JobData)


def bind_job(cls: type[J], client: Any, data: Any) -> J:
    """A job handle of type `cls` whose methods (and its avatars' download) use `client`."""
    job = cls.model_validate(data)
    job._client = client
    for avatar in job.avatars:
        avatar._client = client
        avatar._job_id = job.id
    return job


class SavedAvatarData(_Model):
    id: str
    object: str = "avatar"
    label: str | None = None
    job_id: str
    variation: int
    image_url: str
    thumbnail_url: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    style: str | None = None
    created_at: str
    updated_at: str | None = None
    published: bool = False
    community_id: str | None = None
    published_at: str | None = None


class Style(_Model):
    id: int
    object: str = "style"
    name: str
    title: str = ""
    description: str = ""


class ModelInfo(_Model):
    id: str
    object: str = "model"
    description: str = ""
    backend: str = ""
    credits_per_variation: int
    capabilities: list[str] = Field(default_factory=list)
    max_prompt_chars: int | None = None
    default: bool = False
    # True when no real backend of this model is configured and the offline renderer draws it, at the
    # offline model's price (`credits_per_variation` is what is charged); `served_by` names what draws it.
    fallback: bool = False
    served_by: str | None = None
    fallback_note: str | None = None


class Account(_Model):
    object: str = "account"
    tenant_id: str
    name: str | None = None
    balance: int
    reserved: int = 0
    running_jobs: int = 0
    limits: dict[str, Any] = Field(default_factory=dict)
    recent_ledger_entries: list[dict[str, Any]] = Field(default_factory=list)


class WebhookEndpoint(_Model):
    id: str
    object: str = "webhook_endpoint"
    url: str
    events: list[str] = Field(default_factory=list)
    description: str | None = None
    status: str = "enabled"
    secret: str | None = None  # only on create and rotate
    secrets: list[dict[str, Any]] = Field(default_factory=list)
    disabled_reason: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class WebhookDelivery(_Model):
    id: str
    object: str = "webhook_delivery"
    event_type: str
    job_id: str | None = None
    status: str
    attempt_count: int = 0


class Upload(_Model):
    id: str
    object: str = "upload"
    upload_url: str
    method: str = "POST"
    fields: dict[str, str] | None = None
    content_type: str | None = None
    max_bytes: int | None = None
    created_at: str | None = None
    expires_at: str | None = None
    usable_until: str | None = None


class Page(_Model, Generic[T]):
    object: str = "list"
    data: list[T]
    has_more: bool = False
    next_cursor: str | None = None


# The OpenAPI component schema(s) each model mirrors (first name found in the document wins).
SPEC_SCHEMAS: dict[type[BaseModel], tuple[str, ...]] = {
    JobData: ("JobResponse", "Job"),
    JobAvatar: ("JobAvatar", "JobVariation", "AvatarVariation"),
    Credits: ("JobCredits", "Credits"),
    SavedAvatarData: ("AvatarResponse", "SavedAvatarResponse", "SavedAvatar", "Avatar"),
    Style: ("StyleResponse", "Style"),
    ModelInfo: ("ModelResponse", "ModelInfo", "Model"),
    Account: ("AccountResponse", "Account"),
    WebhookEndpoint: ("WebhookEndpointResponse", "WebhookEndpoint"),
    Upload: ("UploadResponse", "Upload"),
}
