"""Payloads of the non-HTTP triggers: the queue message and the state machine's processor tasks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobId = Annotated[str, Field(pattern=r"^job_[0-9a-z]{26}$")]
TenantId = Annotated[str, Field(min_length=1, max_length=64)]


class GenerationMessage(BaseModel):
    """The generation queue's message body (model/credits/created_at feed the `queued` event)."""

    model_config = ConfigDict(extra="forbid")
    job_id: JobId
    tenant_id: TenantId
    model: str | None = None
    credits_reserved: int | None = None
    created_at: str | None = None
    backend: str | None = None  # picks the workflow: EXPRESS for synchronous backends
    metadata: dict[str, str] | None = None  # echoed in the `queued` event


class _Task(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: JobId
    tenant_id: TenantId


class SubmitTask(_Task):
    action: Literal["submit"]
    run_id: str | None = None  # EXPRESS runs pass their execution id


class GenerateTask(_Task):
    """EXPRESS runs: submit, store and settle in one step."""

    action: Literal["generate"]
    run_id: str


class PollTask(_Task):
    action: Literal["poll"]
    generation: dict[str, Any]
    settle: bool = False  # a poll that finds the images ready also stores them and completes the job


class StoreTask(_Task):
    action: Literal["store"]
    generation: dict[str, Any]
    settle: bool = False  # also complete the job (MarkCompleted in the same invocation)


class MarkCompletedTask(_Task):
    action: Literal["mark_completed"]
    generation: dict[str, Any]
    variations: list[dict[str, Any]]
    run_id: str | None = None


class MarkFailedTask(_Task):
    action: Literal["mark_failed"]
    error: dict[str, Any]
    run_id: str | None = None


class ProcessorTask(BaseModel):
    task: Annotated[
        SubmitTask | GenerateTask | PollTask | StoreTask | MarkCompletedTask | MarkFailedTask,
        Field(discriminator="action"),
    ]
