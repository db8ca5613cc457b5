"""Batches (Percify's batch generation): up to 100 generate requests submitted together, paid for
atomically (enough credits for all, or one 402 and nothing reserved), read and cancelled together, and one
`avatar.batch.completed` event (and webhook) once every item has ended, with per-status counts."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import ValidationError

from avatarsmith.dal.billing import RateWindow, SubmitRejected, TenantMissingError
from avatarsmith.dal.table import TransactionCancelled
from avatarsmith.errors import (
    AvatarsmithError,
    InsufficientCreditsError,
    JobNotCancelableError,
    NotFoundError,
    RateLimitedError,
    RequestValidationError,
    ServiceUnavailableError,
    StorageError,
    UnauthorizedError,
)
from avatarsmith.ids import new_batch_id
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic.auth import Principal
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.cursors import decode_cursor, encode_cursor
from avatarsmith.logic.jobs import build_generation_job, enqueue_or_fail
from avatarsmith.logic.ratelimit import current_window
from avatarsmith.logic.services import Services
from avatarsmith.models.api import CreateBatchRequest, GenerateAvatarRequest
from avatarsmith.models.domain import Batch, Job, JobStatus
from avatarsmith.observability import logger
from avatarsmith.urlguard import check_url_syntax

BATCH_EVENT_DETAIL_TYPE = "Avatar Batch Completed"
BATCH_EVENT_VERSION = "1"


def _item_request(index: int, item: dict[str, Any]) -> GenerateAvatarRequest:
    try:
        return GenerateAvatarRequest.model_validate(item)
    except ValidationError as exc:
        details = [
            {
                "loc": ".".join(["items", str(index), *(str(p) for p in err["loc"])]),
                "message": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors(include_url=False, include_input=False)
        ]
        first = details[0]
        raise RequestValidationError(
            f"{first['loc']}: {first['message']}", param=first["loc"], details=details
        ) from exc


def _build_jobs(services: Services, tenant_id: str, batch_id: str, request: CreateBatchRequest) -> list[Job]:
    jobs = []
    for index, item in enumerate(request.items):
        try:
            job = build_generation_job(services, tenant_id, _item_request(index, item))
        except RequestValidationError:
            raise
        except AvatarsmithError as exc:  # name the item in the error
            exc.param = f"items[{index}].{exc.param}" if exc.param else f"items[{index}]"
            exc.message = f"items[{index}]: {exc.message}"
            raise
        jobs.append(job.model_copy(update={"batch_id": batch_id}))
    return jobs


def _rejected(exc: SubmitRejected, cost: int, rate: RateWindow) -> AvatarsmithError:
    if exc.reason == "credits":
        balance = int((exc.tenant or {}).get("balance", 0))
        return InsufficientCreditsError(
            f"this batch costs {cost} credits but the balance is {balance}", cost=cost, balance=balance
        )
    if exc.reason == "concurrency":
        cap = int((exc.tenant or {}).get("max_concurrent_jobs", 0))
        return RateLimitedError(
            f"this batch would exceed the limit of {cap} concurrent jobs; retry when some finish",
            limit=cap,
            reset_seconds=billing_logic.CONCURRENCY_RETRY_AFTER_SECONDS,
        )
    _, reset = current_window()
    return RateLimitedError(
        f"this batch would exceed {rate.limit} generation requests per minute; retry in {reset} s",
        limit=rate.limit,
        reset_seconds=reset,
    )


def create_batch(
    services: Services,
    principal: Principal,
    request: CreateBatchRequest,
    *,
    idempotency_key: str | None,
    fingerprint: str,
    wait_seconds: float,
) -> billing_logic.ApiResult:
    """POST /v1/batches: 202 + the batch, or the replay of an earlier request with the same key."""
    tenant_id = principal.tenant_id
    if request.callback_url:
        check_url_syntax(
            request.callback_url, allow_loopback=services.allow_loopback_urls, param="callback_url"
        )
    batch_id = new_batch_id()
    jobs = _build_jobs(services, tenant_id, batch_id, request)
    now = now_iso()
    batch = Batch(
        id=batch_id,
        tenant_id=tenant_id,
        status="creating",
        job_ids=[j.id for j in jobs],
        created_at=now,
        updated_at=now,
        callback_url=request.callback_url,
        callback_id=request.callback_id,
        client_reference_id=request.client_reference_id,
        metadata=request.metadata or {},
    )
    cost = sum(j.credits.reserved for j in jobs)
    window, _ = current_window()
    rate = RateWindow(window=window, limit=principal.submits_per_minute, expires_at=(window + 2) * 60)
    account = services.billing.account(tenant_id)
    if account is None:
        raise UnauthorizedError("the API key's tenant no longer exists")
    if account.balance < cost:  # 402 before any 429: the limits below are checked before the credits
        raise InsufficientCreditsError(
            f"this batch costs {cost} credits but the balance is {account.balance}",
            cost=cost,
            balance=account.balance,
        )
    headers = {"Location": f"/v1/batches/{batch_id}"}
    body = json.dumps(
        present_batch(batch.model_copy(update={"status": "processing"}), jobs), separators=(",", ":")
    )
    record = (
        billing_logic._record(
            idempotency_key, fingerprint, status_code=202, response=body, headers=headers, job_id=None
        )
        if idempotency_key
        else None
    )
    try:
        services.batches.reserve(
            batch,
            cost=cost,
            now=now,
            max_concurrent=account.limits.max_concurrent_jobs,
            rate=rate,
            idempotency=record,
        )
    except TenantMissingError as exc:
        raise UnauthorizedError("the API key's tenant no longer exists") from exc
    except SubmitRejected as exc:
        if exc.reason != "idempotency":
            raise _rejected(exc, cost, rate) from exc
        assert idempotency_key is not None
        return billing_logic._resolve_existing(
            services, tenant_id, idempotency_key, fingerprint, exc.record, wait_seconds=wait_seconds
        )
    try:
        services.batches.write_jobs(batch, jobs)
    except (StorageError, TransactionCancelled) as exc:
        logger.exception(
            "batch jobs could not be written; releasing the reservation", extra={"batch_id": batch_id}
        )
        services.batches.release(batch, cost=cost, now=now_iso())
        if idempotency_key:
            services.billing.forget_idempotent_request(tenant_id, idempotency_key)
        raise ServiceUnavailableError("the batch could not be created; nothing was charged, retry") from exc
    services.batches.set_status(batch, "processing", expected="creating", now=now_iso())
    for job in jobs:
        try:
            enqueue_or_fail(services, job)
        except ServiceUnavailableError:  # that job failed and was refunded: the batch goes on without it
            failed = services.jobs.get(tenant_id, job.id, consistent=True)
            if failed is not None:
                note_job_finished(services, failed)
    if idempotency_key:
        services.billing.complete_idempotent_request(
            tenant_id, idempotency_key, status_code=202, response=body, headers=headers
        )
    logger.info("batch queued", extra={"batch_id": batch_id, "jobs": len(jobs)})
    return billing_logic.ApiResult(202, body, headers)


# --- reads ----------------------------------------------------------------------------------------------
def present_batch(batch: Batch, jobs: list[Job]) -> dict[str, Any]:
    counts = Counter(j.status.value for j in jobs)
    return {
        "id": batch.id,
        "object": "batch",
        "status": batch.status,
        "counts": {"total": len(batch.job_ids), **{s.value: counts.get(s.value, 0) for s in JobStatus}},
        "job_ids": batch.job_ids,
        "credits": {
            "reserved": sum(j.credits.reserved for j in jobs),
            "charged": sum(j.credits.charged for j in jobs),
            "refunded": sum(j.credits.refunded for j in jobs),
        },
        "created_at": batch.created_at,
        "updated_at": batch.updated_at,
        "completed_at": batch.completed_at,
        "canceled_at": batch.canceled_at,
        "callback_id": batch.callback_id,
        "client_reference_id": batch.client_reference_id,
        "metadata": batch.metadata,
        "links": {"self": f"/v1/batches/{batch.id}"},
    }


def get_batch(services: Services, tenant_id: str, batch_id: str) -> tuple[Batch, list[Job]]:
    batch = services.batches.get(tenant_id, batch_id)
    if batch is None:
        raise NotFoundError(f"no batch with id {batch_id}", param="batch_id")
    return batch, services.batches.jobs(tenant_id, batch.job_ids)


def list_batches(
    services: Services, tenant_id: str, *, limit: int, cursor: str | None
) -> tuple[list[tuple[Batch, list[Job]]], str | None]:
    after = decode_cursor(cursor, "batches", {}) if cursor else None
    batches, next_after = services.batches.list_page(tenant_id, limit=limit, after_batch_id=after)
    page = [(b, services.batches.jobs(tenant_id, b.job_ids)) for b in batches]
    return page, (encode_cursor("batches", next_after, {}) if next_after else None)


def cancel_batch(services: Services, tenant_id: str, batch_id: str) -> tuple[Batch, list[Job]]:
    """Cancel every item still queued or processing (each refunded); finished items stay as they are."""
    batch, jobs = get_batch(services, tenant_id, batch_id)
    for job in jobs:
        if job.status.is_terminal:
            continue
        try:
            canceled = billing_logic.cancel_job(services, tenant_id, job.id)
        except JobNotCancelableError:
            continue  # it finished meanwhile
        note_job_finished(services, canceled)
    if batch.canceled_at is None:
        services.batches.table.update(
            *_keys(batch), set_values={"canceled_at": now_iso(), "updated_at": now_iso()}
        )
    return get_batch(services, tenant_id, batch_id)


def _keys(batch: Batch) -> tuple[str, str]:
    from avatarsmith.dal.batches import batch_sk
    from avatarsmith.dal.table import tenant_pk

    return tenant_pk(batch.tenant_id), batch_sk(batch.id)


# --- completion ------------------------------------------------------------------------------------------
def note_job_finished(services: Services, job: Job) -> None:
    """Called whenever one of a batch's jobs is terminal (safe to repeat). The call that sees the last item
    end moves the batch to `completed` (a conditional write: exactly one caller wins) and publishes
    `Avatar Batch Completed` with the per-status counts."""
    if not job.batch_id or not job.status.is_terminal:
        return
    batch = services.batches.mark_finished(job.tenant_id, job.batch_id, job.id, job.status.value)
    if batch is None or batch.status != "processing" or len(batch.finished_job_ids) < len(batch.job_ids):
        return
    completed = services.batches.set_status(
        batch, "completed", expected="processing", now=now_iso(), extra={"completed_at": now_iso()}
    )
    if completed is None:
        return
    logger.info("batch completed", extra={"batch_id": batch.id})
    if services.events is not None:
        try:
            services.events.put(BATCH_EVENT_DETAIL_TYPE, batch_event_detail(services, completed))
        except StorageError:
            logger.exception("could not publish the batch event", extra={"batch_id": batch.id})


def batch_event_detail(services: Services, batch: Batch) -> dict[str, Any]:
    item = services.batches.table.get(*_keys(batch), consistent=True) or {}
    statuses = Counter(str(s) for s in (item.get("finished") or {}).values())
    detail: dict[str, Any] = {
        "version": BATCH_EVENT_VERSION,
        "object": "batch",
        "batch_id": batch.id,
        "tenant_id": batch.tenant_id,
        "status": "completed",
        "counts": {"total": len(batch.job_ids), **{s.value: statuses.get(s.value, 0) for s in JobStatus}},
        "job_ids": batch.job_ids,
        "callback_id": batch.callback_id,
        "client_reference_id": batch.client_reference_id,
        "metadata": batch.metadata,
        "created_at": batch.created_at,
        "completed_at": batch.completed_at,
        "links": {"batch": f"/v1/batches/{batch.id}"},
    }
    return {k: v for k, v in detail.items() if v is not None}
