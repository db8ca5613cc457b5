"""Webhooks: API inputs, stored endpoint/delivery records and the notifier's queue message."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from .domain import JobStatus
from .text import DisplayText, UrlText

EVENT_TYPE_PREFIX = "avatar.generation."
#: One webhook event type per job status (the EventBridge detail-type is "Avatar Job <Status>").
JOB_EVENT_TYPES: tuple[str, ...] = tuple(f"{EVENT_TYPE_PREFIX}{s.value}" for s in JobStatus)
TERMINAL_EVENT_TYPES: tuple[str, ...] = tuple(
    f"{EVENT_TYPE_PREFIX}{s.value}" for s in JobStatus if s.is_terminal
)
TEST_EVENT_TYPE = "webhook.test"
BATCH_COMPLETED_EVENT_TYPE = "avatar.batch.completed"
#: What an endpoint may subscribe to: the job events, and the batch event (only when listed).
SUBSCRIBABLE_EVENT_TYPES: tuple[str, ...] = (*JOB_EVENT_TYPES, BATCH_COMPLETED_EVENT_TYPE)

DeliveryStatus = Literal["pending", "succeeded", "failed"]
EndpointStatus = Literal["enabled", "disabled"]


def event_type_for(status: str) -> str:
    return f"{EVENT_TYPE_PREFIX}{status}"


# --- API inputs ------------------------------------------------------------------------------------
class CreateWebhookEndpointRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[UrlText, StringConstraints(min_length=8, max_length=2048)]
    events: list[str] = Field(
        default_factory=lambda: list(TERMINAL_EVENT_TYPES),
        min_length=1,
        max_length=len(SUBSCRIBABLE_EVENT_TYPES),
        description="Event types to receive; default: the terminal ones (completed, failed, canceled).",
    )
    description: Annotated[DisplayText, StringConstraints(max_length=500)] | None = None

    @field_validator("events")
    @classmethod
    def _known_events(cls, v: list[str]) -> list[str]:
        known = SUBSCRIBABLE_EVENT_TYPES
        unknown = [e for e in v if e not in known]
        if unknown:
            raise ValueError(f"unknown event type {unknown[0]!r}; use any of {', '.join(known)}")
        return sorted(set(v), key=known.index)


class RotateSecretRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_seconds: int = Field(
        default=86_400,
        strict=True,
        ge=0,
        le=7 * 86_400,
        description="How long the previous secret keeps signing next to the new one (0: stop at once).",
    )


# --- stored records --------------------------------------------------------------------------------
class WebhookSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str  # whsec_<base64>; never logged, never returned after creation/rotation
    created_at: str
    expires_at: float | None = None  # epoch seconds; None = current secret


class WebhookEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    tenant_id: str
    url: str
    events: list[str]
    description: str | None = None
    status: EndpointStatus = "enabled"
    disabled_reason: str | None = None
    secrets: list[WebhookSecret]
    created_at: str
    updated_at: str

    def active_secrets(self, now: float) -> list[str]:
        return [s.value for s in self.secrets if s.expires_at is None or s.expires_at > now]


class DeliveryAttempt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attempt: int
    at: str
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = None
    replay: bool = False


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    tenant_id: str
    webhook_id: str  # the `webhook-id` header: the same on every retry and replay
    target: Literal["endpoint", "callback"]
    endpoint_id: str | None = None
    url: str
    event_type: str
    job_id: str | None = None
    event: dict[str, Any]  # the EventBridge detail the payload is built from (ids, status: no secrets)
    status: DeliveryStatus = "pending"
    attempt_count: int = 0
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    next_attempt_at: str | None = None
    created_at: str
    updated_at: str


# --- the notifier's own queue message (next to EventBridge events on the same queue) -------------
class DeliveryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["delivery"] = "delivery"
    tenant_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    delivery_id: Annotated[str, StringConstraints(pattern=r"^whd_[0-9a-z]{26}$")]
    attempt: int = Field(ge=1, le=100)
    not_before: float = 0.0  # epoch seconds: earlier receipts re-enqueue themselves (delay hops)
    retry: bool = True  # False for a test ping or a manual replay: one attempt, no schedule
    replay: bool = False  # sent by POST /v1/webhook-deliveries/{id}/replay
