"""Job events on the EventBridge bus: one per transition, schema `schemas/events/avatar-job-event.v2.json`.

source `avatarsmith`, detail-type `Avatar Job <Status>` (Queued, Processing, Completed, Failed, Canceled).
The detail is thin: ids, status, model, credits, per-variation status and the API path of the job. No
image bytes, no presigned URLs (they expire), no prompts, no callback URLs, no secrets. Version 2 echoes the
job's `metadata` (the caller's own keys and values); the webhook payload is built from this detail, so
webhooks carry it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from avatarsmith.dal.events import EVENT_SOURCE as EVENT_SOURCE  # re-exported: the functions name it
from avatarsmith.models.domain import Job, JobStatus
from avatarsmith.models.webhooks import event_type_for

if TYPE_CHECKING:
    from avatarsmith.logic.services import Services

EVENT_VERSION = "2"


def detail_type_for(status: str) -> str:
    return f"Avatar Job {status.capitalize()}"


def job_links(job_id: str) -> dict[str, str]:
    return {"job": f"/v1/jobs/{job_id}"}


def job_event_detail(job: Job) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "version": EVENT_VERSION,
        "job_id": job.id,
        "tenant_id": job.tenant_id,
        "status": job.status.value,
        "model": job.spec.model,
        "credits": job.credits.model_dump(),
        "variations": [{"index": v.index, "status": v.status} for v in job.variations],
        "client_reference_id": job.client_reference_id,
        "callback_id": job.callback_id,
        "metadata": job.metadata,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "links": job_links(job.id),
    }
    if job.error:
        detail["error"] = job.error.model_dump()
    return {k: v for k, v in detail.items() if v is not None}


def queued_event_detail(
    *,
    job_id: str,
    tenant_id: str,
    model: str | None,
    credits_reserved: int | None,
    created_at: str | None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The `queued` detail, built by the dispatcher from the queue message (no table read)."""
    detail: dict[str, Any] = {
        "version": EVENT_VERSION,
        "job_id": job_id,
        "tenant_id": tenant_id,
        "status": JobStatus.QUEUED.value,
        "model": model,
        "credits": {"reserved": credits_reserved, "charged": 0, "refunded": 0}
        if credits_reserved is not None
        else None,
        "metadata": metadata,
        "created_at": created_at,
        "updated_at": created_at,
        "links": job_links(job_id),
    }
    return {k: v for k, v in detail.items() if v is not None}


def with_webhook_receivers(services: Services, job: Job, detail: dict[str, Any]) -> dict[str, Any]:
    """The terminal event as the state machine publishes it: without a per-job callback, it says how many
    of the tenant's webhook endpoints want it (`webhook_receivers`), and the bus rule leaves an event that
    nobody wants out of the webhook queue (no delivery, no notifier run)."""
    terminal = {s.value for s in JobStatus if s.is_terminal}
    if services.webhooks is None or job.callback_url or detail.get("status") not in terminal:
        return detail
    wanted = event_type_for(str(detail["status"]))
    endpoints = services.webhooks.list_endpoints(job.tenant_id)
    receivers = sum(1 for e in endpoints if e.status == "enabled" and wanted in e.events)
    return {**detail, "webhook_receivers": receivers}
