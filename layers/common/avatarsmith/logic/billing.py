"""Pay-per-use from the API's side: reserve credits at submit (with the rate window and the
Idempotency-Key in the same DynamoDB transaction), replay idempotent requests, cancel jobs, show the account.

Idempotency-Key semantics (Pi): same key + same body replays the original status and body; same key +
different body is 409 idempotency_key_mismatch; a request still in flight with the key is 409
request_in_progress (after waiting up to `wait_seconds` for it to finish, so a burst of retries all get
the original answer). Keys are scoped per tenant (the record lives under the tenant's partition) and kept
IDEMPOTENCY_TTL_SECONDS.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from avatarsmith.dal.billing import IdempotencyRecord, RateWindow, SubmitRejected, TenantMissingError
from avatarsmith.dal.jobs import StaleJobError
from avatarsmith.errors import (
    AvatarsmithError,
    IdempotencyKeyMismatchError,
    InsufficientCreditsError,
    InvalidRequestError,
    JobNotCancelableError,
    JobNotFoundError,
    RateLimitedError,
    RequestInProgressError,
    StorageError,
    UnauthorizedError,
)
from avatarsmith.logic.auth import Principal
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.discard import discard_job_images, unbilled_variations
from avatarsmith.logic.events import detail_type_for, job_event_detail
from avatarsmith.logic.jobs import build_generation_job, enqueue_or_fail
from avatarsmith.logic.ratelimit import current_window
from avatarsmith.logic.services import Services
from avatarsmith.models.api import GenerateAvatarRequest
from avatarsmith.models.billing import LedgerEntry
from avatarsmith.models.domain import Job, JobStatus
from avatarsmith.observability import logger

IDEMPOTENCY_TTL_SECONDS = 48 * 3600  # "kept at least 24 h": DynamoDB TTL deletes up to a day or two late
IN_FLIGHT_LOCK_SECONDS = 60  # > the api function's timeout: after this an abandoned request is recovered
MAX_IDEMPOTENCY_KEY_LENGTH = 255
CONCURRENCY_RETRY_AFTER_SECONDS = 5
BALANCE_HEADER = "X-Credits-Balance"


@dataclass
class ApiResult:
    status_code: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False


def request_fingerprint(route: str, body: Any) -> str:
    """What "the same request" means: the route and the JSON body, canonicalised (key order, spacing)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{route}\n{canonical}".encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise InvalidRequestError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable characters",
            param="Idempotency-Key",
        )
    return key


def _record(
    key: str,
    fingerprint: str,
    *,
    status_code: int,
    response: str,
    headers: dict[str, str],
    job_id: str | None,
) -> dict[str, Any]:
    now = int(time.time())
    return {
        "idempotency_key": key,
        "request_hash": fingerprint,
        "state": "in_progress",
        "status_code": status_code,
        "response": response,
        "headers": headers,
        "job_id": job_id,
        "locked_until": now + IN_FLIGHT_LOCK_SECONDS,
        "expires_at": now + IDEMPOTENCY_TTL_SECONDS,
        "created_at": now_iso(),
    }


# --- submit -----------------------------------------------------------------------------------------
def reserve_and_enqueue(
    services: Services,
    job: Job,
    *,
    rate: RateWindow | None = None,
    idempotency: dict[str, Any] | None = None,
) -> None:
    """One transaction (job + reservation + ledger entry [+ rate window] [+ idempotency record]), then
    the queue. Raises the 402/429 errors, or SubmitRejected("idempotency") for the caller to resolve."""
    cost = job.credits.reserved
    try:
        services.billing.create_job_with_reservation(
            job, now=job.created_at, rate=rate, idempotency=idempotency
        )
    except TenantMissingError as exc:
        raise UnauthorizedError("the API key's tenant no longer exists") from exc
    except SubmitRejected as exc:
        if exc.reason == "credits":
            balance = int((exc.tenant or {}).get("balance", 0))
            raise InsufficientCreditsError(
                f"this request costs {cost} credits but the balance is {balance}", cost=cost, balance=balance
            ) from exc
        if exc.reason == "concurrency":
            cap = int((exc.tenant or {}).get("max_concurrent_jobs", 0))
            raise RateLimitedError(
                f"too many jobs running: the limit is {cap} concurrent jobs; retry when one finishes",
                limit=cap,
                reset_seconds=CONCURRENCY_RETRY_AFTER_SECONDS,
            ) from exc
        if exc.reason == "rate":
            assert rate is not None
            _, reset = current_window()
            raise RateLimitedError(
                f"too many generation requests: the limit is {rate.limit} per minute; retry in {reset} s",
                limit=rate.limit,
                reset_seconds=reset,
            ) from exc
        raise
    try:
        enqueue_or_fail(services, job)
    except AvatarsmithError:
        if idempotency is not None:  # the job failed and was refunded: let a retry with the key run again
            services.billing.forget_idempotent_request(job.tenant_id, idempotency["idempotency_key"])
        raise


def submit_generation(
    services: Services,
    principal: Principal,
    request: GenerateAvatarRequest,
    *,
    idempotency_key: str | None,
    fingerprint: str,
    present: Callable[[Job], dict[str, Any]],
    wait_seconds: float,
    status_code: int = 202,
) -> ApiResult:
    """POST /v1/avatars/generate: 202 (or the vendor's `status_code`) + the queued job as `present` shows
    it, or the replay of an earlier request with the key."""
    job = build_generation_job(services, principal.tenant_id, request)
    window, _ = current_window()
    rate = RateWindow(window=window, limit=principal.submits_per_minute, expires_at=(window + 2) * 60)
    body = json.dumps(present(job), separators=(",", ":"))
    headers = {"Location": f"/v1/jobs/{job.id}"}
    record = (
        _record(
            idempotency_key,
            fingerprint,
            status_code=status_code,
            response=body,
            headers=headers,
            job_id=job.id,
        )
        if idempotency_key
        else None
    )
    try:
        reserve_and_enqueue(services, job, rate=rate, idempotency=record)
    except SubmitRejected as exc:
        assert idempotency_key is not None and exc.reason == "idempotency"
        return _resolve_existing(
            services, principal.tenant_id, idempotency_key, fingerprint, exc.record, wait_seconds=wait_seconds
        )
    if idempotency_key:
        services.billing.complete_idempotent_request(
            principal.tenant_id, idempotency_key, status_code=status_code, response=body, headers=headers
        )
    return ApiResult(status_code, body, headers)


def run_idempotent(
    services: Services,
    tenant_id: str,
    *,
    idempotency_key: str | None,
    fingerprint: str,
    action: Callable[[], ApiResult],
    wait_seconds: float,
) -> ApiResult:
    """Idempotency-Key for POST routes without a credit transaction (save, cancel): claim the key, run,
    store the answer. A failed action releases the key so that a retry runs again."""
    if not idempotency_key:
        return action()
    existing = services.billing.start_idempotent_request(
        tenant_id, _record(idempotency_key, fingerprint, status_code=0, response="", headers={}, job_id=None)
    )
    if existing is not None:
        return _resolve_existing(
            services, tenant_id, idempotency_key, fingerprint, existing, wait_seconds=wait_seconds
        )
    try:
        result = action()
    except BaseException:
        services.billing.forget_idempotent_request(tenant_id, idempotency_key)
        raise
    services.billing.complete_idempotent_request(
        tenant_id,
        idempotency_key,
        status_code=result.status_code,
        response=result.body,
        headers=result.headers,
    )
    return result


def _resolve_existing(
    services: Services,
    tenant_id: str,
    key: str,
    fingerprint: str,
    record: IdempotencyRecord | None,
    *,
    wait_seconds: float,
) -> ApiResult:
    deadline = time.monotonic() + max(0.0, wait_seconds)
    interval = 0.02
    while True:
        if record is None:
            record = services.billing.idempotency_record(tenant_id, key)
            if record is None:  # released by a failed request in the meantime
                raise RequestInProgressError(
                    "a request with this Idempotency-Key just failed and released the key; retry it",
                    param="Idempotency-Key",
                )
        if record.request_hash != fingerprint:
            raise IdempotencyKeyMismatchError(
                "this Idempotency-Key was used with a different request body; use a new key",
                param="Idempotency-Key",
            )
        if record.state == "completed":
            return ApiResult(record.status_code, record.response, dict(record.headers), replayed=True)
        if record.job_id and record.locked_until < time.time():
            return _recover_abandoned_submit(services, tenant_id, record)
        if time.monotonic() >= deadline:
            raise RequestInProgressError(
                "a request with this Idempotency-Key is still in progress; retry shortly",
                param="Idempotency-Key",
            )
        time.sleep(interval)
        interval = min(interval * 1.5, 0.25)
        record = None


def _recover_abandoned_submit(services: Services, tenant_id: str, record: IdempotencyRecord) -> ApiResult:
    """The first request committed its job but died before confirming the enqueue: enqueue again (the
    dispatcher names executions after the job id, so a duplicate message starts nothing twice)."""
    assert record.job_id is not None
    job = services.jobs.get(tenant_id, record.job_id, consistent=True)
    if job is not None and job.status == JobStatus.QUEUED:
        logger.warning("re-enqueueing an abandoned idempotent submit", extra={"job_id": job.id})
        enqueue_or_fail(services, job)
    services.billing.complete_idempotent_request(
        tenant_id,
        record.key,
        status_code=record.status_code,
        response=record.response,
        headers=record.headers,
    )
    return ApiResult(record.status_code, record.response, dict(record.headers), replayed=True)


# --- cancel -----------------------------------------------------------------------------------------
def _cancel_transition(services: Services, tenant_id: str, job_id: str) -> Job:
    """queued|processing -> canceled, refunding every reserved credit, exactly once."""
    job = services.jobs.get(tenant_id, job_id, consistent=True)
    if job is None:
        raise JobNotFoundError(f"no job with id {job_id}", param="job_id")
    if job.status == JobStatus.CANCELED:
        return job
    if job.status.is_terminal:
        raise JobNotCancelableError(f"job {job_id} is already {job.status.value}", param="job_id")
    variations = unbilled_variations(job, "canceled")  # refunded in full: it keeps no image
    credits = job.credits.model_copy(update={"charged": 0, "refunded": job.credits.reserved})
    try:
        job = services.billing.finish_job(
            job,
            to=JobStatus.CANCELED,
            allowed_from=(JobStatus.QUEUED, JobStatus.PROCESSING),
            now=now_iso(),
            changes={"credits": credits, "variations": variations},
        )
    except StaleJobError as exc:
        current = exc.current
        if current is not None and current.status == JobStatus.CANCELED:
            return current
        status = current.status.value if current else "gone"
        raise JobNotCancelableError(f"job {job_id} is already {status}", param="job_id") from exc
    logger.info("job canceled", extra={"job_id": job_id, "refunded": credits.refunded})
    return job


def cancel_job(services: Services, tenant_id: str, job_id: str) -> Job:
    """queued|processing -> canceled, refunding every reserved credit, exactly once. Cancelling a
    cancelled job returns it unchanged; a completed or failed job cannot be cancelled (409).

    The `canceled` event is published on every successful call (a repeated cancel publishes again:
    subscribers dedupe on job id + status, as for every other transition). The cancel is committed
    before the event: if the bus refuses it, the failure is logged and the job record stays the truth.
    """
    job = _cancel_transition(services, tenant_id, job_id)
    discard_job_images(services, job)  # what the generation stored before the cancel (logic/discard.py)
    if services.events is not None:
        try:
            services.events.put(detail_type_for(job.status.value), job_event_detail(job))
        except StorageError:
            logger.exception("could not publish the canceled event", extra={"job_id": job_id})
    return job


def get_job_with_balance(services: Services, tenant_id: str, job_id: str) -> tuple[Job, int | None]:
    """The job and the tenant's balance (for the balance header) in one read."""
    job, balance = services.billing.job_with_balance(tenant_id, job_id)
    if job is None:
        raise JobNotFoundError(f"no job with id {job_id}", param="job_id")
    return job, balance


# --- account ----------------------------------------------------------------------------------------
def present_entry(entry: LedgerEntry) -> dict[str, Any]:
    return {"object": "ledger_entry", **entry.model_dump(exclude_none=True)}


def account_view(services: Services, tenant_id: str, *, ledger_limit: int) -> dict[str, Any]:
    account = services.billing.account(tenant_id)
    if account is None:
        raise UnauthorizedError("the API key's tenant no longer exists")
    entries = services.billing.ledger(tenant_id, limit=ledger_limit)
    return {
        "object": "account",
        "tenant_id": account.tenant_id,
        "name": account.name,
        "balance": account.balance,
        "reserved": account.reserved,
        "running_jobs": account.running_jobs,
        "limits": account.limits.model_dump(),
        "recent_ledger_entries": [present_entry(e) for e in entries],
    }
