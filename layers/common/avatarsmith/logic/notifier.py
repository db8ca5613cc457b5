"""Webhook delivery: fan job events out to endpoints and callbacks, then send each delivery, signed.

Two kinds of message arrive on the notifier's queue:
1. EventBridge job events (the bus rule's target). `fan_out` creates one delivery record per receiver
   (its id derived from tenant + receiver + job + event type, so a duplicated event creates nothing new)
   and enqueues one delivery message per receiver: a slow receiver never holds up another.
2. Delivery messages. `attempt_delivery` claims the attempt number (a conditional write: duplicated
   messages send once), signs with every active secret, POSTs through the SSRF guard and records the
   outcome. A failure is re-enqueued on the backoff schedule; 410 disables the endpoint; an exhausted
   delivery is marked failed and copied to the dead-letter queue.

Backoff: RETRY_SCHEDULE (seconds after the previous attempt) x `retry_base` x a jitter in [0.75, 1.25].
SQS delays top out at 15 minutes, so a longer wait is chained: the message carries `not_before`, and a
message received early re-enqueues itself for the rest (at most 15 minutes per hop).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.presenters import present_job
from avatarsmith.logic.services import Services
from avatarsmith.logic.signing import new_secret, webhook_headers
from avatarsmith.models.domain import JobStatus
from avatarsmith.models.webhooks import (
    BATCH_COMPLETED_EVENT_TYPE,
    TEST_EVENT_TYPE,
    DeliveryAttempt,
    DeliveryMessage,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
    event_type_for,
)
from avatarsmith.observability import logger
from avatarsmith.urlguard import UnsafeUrlError, UrlCallError, UrlTimeoutError, request_pinned

# Seconds to wait after attempt n before attempt n+1 (Standard Webhooks' suggestion, cut at ~18 h):
# attempts at 0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (+ jitter) -> 7 attempts over about 17.6 hours.
RETRY_SCHEDULE: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
MAX_RETRY_AFTER_SECONDS = 6 * 3600
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


@dataclass(frozen=True)
class DeliveryOptions:
    retry_base: float = 1.0  # scales RETRY_SCHEDULE (tests use a tiny value)
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    allow_loopback: bool = False


def derived_id(*parts: str) -> str:
    """26 lowercase base32 chars from a hash of the parts: the same event gives the same id."""
    digest = int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:17], "big")
    return "".join(_CROCKFORD[(digest >> (5 * i)) & 31] for i in range(26))


def next_delay(attempt: int, retry_base: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    delay = RETRY_SCHEDULE[attempt - 1] * retry_base * random.uniform(0.75, 1.25)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS) * min(retry_base, 1.0))
    return delay


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- fan-out ------------------------------------------------------------------------------------------
def fan_out(services: Services, detail: dict[str, Any]) -> int:
    """Create and enqueue one delivery per receiver of this job event. Returns how many were enqueued."""
    assert services.webhooks is not None and services.delivery_queue is not None
    if detail.get("object") == "batch":
        return fan_out_batch(services, detail)
    status = str(detail.get("status", ""))
    if status not in {s.value for s in JobStatus}:
        logger.info("event without a job status: nothing to deliver", extra={"status": status})
        return 0
    tenant_id, job_id = str(detail["tenant_id"]), str(detail["job_id"])
    event_type = event_type_for(status)
    targets: list[tuple[str, str | None, str]] = [
        ("endpoint", e.id, e.url)
        for e in services.webhooks.list_endpoints(tenant_id)
        if e.status == "enabled" and event_type in e.events
    ]
    if JobStatus(status).is_terminal:
        job = services.jobs.get(tenant_id, job_id, consistent=True)
        if job is not None and job.callback_url:
            targets.append(("callback", None, job.callback_url))
    now = now_iso()
    messages: list[DeliveryMessage] = []
    for target, endpoint_id, url in targets:
        suffix = derived_id(tenant_id, endpoint_id or "callback", job_id, event_type)
        delivery = WebhookDelivery(
            id=f"whd_{suffix}",
            tenant_id=tenant_id,
            webhook_id=f"msg_{suffix}",
            target=target,
            endpoint_id=endpoint_id,
            url=url,
            event_type=event_type,
            job_id=job_id,
            event=detail,
            created_at=now,
            updated_at=now,
        )
        if not services.webhooks.create_delivery(delivery):
            existing = services.webhooks.get_delivery(tenant_id, delivery.id)
            if existing is None or existing.attempt_count > 0 or existing.status != "pending":
                continue  # a duplicated event: this delivery is already under way or done
        messages.append(DeliveryMessage(tenant_id=tenant_id, delivery_id=delivery.id, attempt=1))
    services.delivery_queue.send(messages)
    logger.info(
        "job event fanned out", extra={"job_id": job_id, "event_type": event_type, "n": len(messages)}
    )
    return len(messages)


def fan_out_batch(services: Services, detail: dict[str, Any]) -> int:
    """`avatar.batch.completed`: to the endpoints that list it and to the batch's callback_url."""
    assert services.webhooks is not None and services.delivery_queue is not None
    tenant_id, batch_id = str(detail["tenant_id"]), str(detail["batch_id"])
    event_type = BATCH_COMPLETED_EVENT_TYPE
    targets: list[tuple[str, str | None, str]] = [
        ("endpoint", e.id, e.url)
        for e in services.webhooks.list_endpoints(tenant_id)
        if e.status == "enabled" and event_type in e.events
    ]
    batch = services.batches.get(tenant_id, batch_id)
    if batch is not None and batch.callback_url:
        targets.append(("callback", None, batch.callback_url))
    now = now_iso()
    messages: list[DeliveryMessage] = []
    for target, endpoint_id, url in targets:
        suffix = derived_id(tenant_id, endpoint_id or "callback", batch_id, event_type)
        delivery = WebhookDelivery(
            id=f"whd_{suffix}",
            tenant_id=tenant_id,
            webhook_id=f"msg_{suffix}",
            target=target,
            endpoint_id=endpoint_id,
            url=url,
            event_type=event_type,
            event=detail,
            created_at=now,
            updated_at=now,
        )
        if not services.webhooks.create_delivery(delivery):
            continue  # a duplicated event: this delivery already exists
        messages.append(DeliveryMessage(tenant_id=tenant_id, delivery_id=delivery.id, attempt=1))
    services.delivery_queue.send(messages)
    logger.info("batch event fanned out", extra={"batch_id": batch_id, "n": len(messages)})
    return len(messages)


# --- one attempt ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Outcome:
    attempt: DeliveryAttempt
    ok: bool = False
    gone: bool = False
    permanent: bool = False
    retry_after: float | None = None


def attempt_delivery(services: Services, message: DeliveryMessage, options: DeliveryOptions) -> str:
    """Send one attempt of a delivery. Returns what happened (for logs and tests)."""
    assert services.webhooks is not None and services.delivery_queue is not None
    now = time.time()
    if message.not_before > now + 0.5:  # an intermediate hop of a long backoff
        services.delivery_queue.send([message], delay_seconds=math.ceil(message.not_before - now))
        return "deferred"
    delivery = services.webhooks.claim_attempt(
        message.tenant_id, message.delivery_id, message.attempt, now=now
    )
    if delivery is None:
        logger.info("attempt already taken (duplicate message)", extra={"delivery_id": message.delivery_id})
        return "duplicate"
    endpoint: WebhookEndpoint | None = None
    if delivery.target == "endpoint":
        endpoint = services.webhooks.get_endpoint(delivery.tenant_id, delivery.endpoint_id or "")
        if endpoint is None:
            return _finish(services, message, delivery, _refused(message, "the endpoint was deleted"))
        if endpoint.status != "enabled" and delivery.event_type != TEST_EVENT_TYPE:
            return _finish(services, message, delivery, _refused(message, "the endpoint is disabled"))
        secrets, url = endpoint.active_secrets(now), endpoint.url
    else:
        secrets, url = callback_secrets(services, delivery.tenant_id), delivery.url
    outcome = _send(services, delivery, message, url, secrets, options)
    if outcome.gone and endpoint is not None:
        _set_endpoint_status(services, endpoint, "disabled", "the receiver answered 410 Gone")
    if outcome.ok and endpoint is not None and endpoint.status == "disabled":
        _set_endpoint_status(services, endpoint, "enabled", None)  # a successful test ping re-enables
    return _finish(services, message, delivery, outcome, options)


def _refused(message: DeliveryMessage, error: str) -> _Outcome:
    return _Outcome(
        DeliveryAttempt(attempt=message.attempt, at=now_iso(), error=error, replay=message.replay),
        permanent=True,
    )


def _send(
    services: Services,
    delivery: WebhookDelivery,
    message: DeliveryMessage,
    url: str,
    secrets: list[str],
    options: DeliveryOptions,
) -> _Outcome:
    sent_at = time.time()
    body = build_payload(services, delivery, sent_at)
    headers = webhook_headers(secrets, delivery.webhook_id, int(sent_at), body)
    base = {"attempt": message.attempt, "at": _iso(sent_at), "replay": message.replay}
    started = time.monotonic()
    try:
        response = request_pinned(
            "POST",
            url,
            body=body,
            headers=headers,
            allow_loopback=options.allow_loopback,
            param="url",
            connect_timeout=options.connect_timeout,
            read_timeout=options.read_timeout,
        )
    except UnsafeUrlError as exc:
        return _Outcome(
            DeliveryAttempt(**base, error=f"refused by the SSRF guard: {exc.message}"), permanent=True
        )
    except OSError as exc:  # UrlCallError, or anything else the socket layer raises
        latency = int((time.monotonic() - started) * 1000)
        return _Outcome(DeliveryAttempt(**base, latency_ms=latency, error=_network_error(exc)))
    code = response.status
    attempt = DeliveryAttempt(**base, status_code=code, latency_ms=response.latency_ms)
    if 200 <= code < 300:
        return _Outcome(attempt, ok=True)
    if code == 410:
        return _Outcome(
            attempt.model_copy(update={"error": "410 Gone: the endpoint was disabled"}), gone=True
        )
    error = f"HTTP {code}"
    if 300 <= code < 400:
        error += " redirect not followed" + (
            f" (Location: {response.headers['location'][:200]})" if "location" in response.headers else ""
        )
    retry_after = response.headers.get("retry-after", "")
    return _Outcome(
        attempt.model_copy(update={"error": error}),
        retry_after=float(retry_after) if retry_after.isdigit() else None,
    )


def _network_error(exc: OSError) -> str:
    if isinstance(exc, UrlTimeoutError):
        return "timed out"
    if isinstance(exc, UrlCallError):
        return str(exc).removeprefix("url: ").removeprefix("url ")
    return f"network error ({type(exc).__name__})"


def _finish(
    services: Services,
    message: DeliveryMessage,
    delivery: WebhookDelivery,
    outcome: _Outcome,
    options: DeliveryOptions | None = None,
) -> str:
    """Record the attempt and schedule what follows. The next message (or the dead-letter copy) is
    sent before the attempt is recorded: if recording fails, the SQS message comes back and the stale
    claim lets it finish, rather than the retry chain silently ending."""
    assert services.webhooks is not None and services.delivery_queue is not None
    now = now_iso()
    retryable = not (outcome.ok or outcome.gone or outcome.permanent) and message.retry
    if retryable and message.attempt < MAX_ATTEMPTS:
        delay = next_delay(message.attempt, options.retry_base if options else 1.0, outcome.retry_after)
        not_before = time.time() + delay
        following = message.model_copy(update={"attempt": message.attempt + 1, "not_before": not_before})
        services.delivery_queue.send([following], delay_seconds=math.ceil(delay))
        services.webhooks.record_attempt(
            delivery.tenant_id,
            delivery.id,
            outcome.attempt,
            status="pending",
            next_attempt_at=_iso(not_before),
            now=now,
        )
        logger.info(
            "delivery will be retried", extra={"delivery_id": delivery.id, "attempt": message.attempt}
        )
        return "retrying"
    if retryable:  # every scheduled attempt failed
        services.delivery_queue.dead_letter(message, outcome.attempt.error or "failed")
        logger.warning("delivery exhausted its retries", extra={"delivery_id": delivery.id})
    status = "succeeded" if outcome.ok else "failed"
    services.webhooks.record_attempt(
        delivery.tenant_id, delivery.id, outcome.attempt, status=status, next_attempt_at=None, now=now
    )
    logger.info("delivery finished", extra={"delivery_id": delivery.id, "status": status})
    return "exhausted" if retryable else status


def _set_endpoint_status(
    services: Services, endpoint: WebhookEndpoint, status: str, reason: str | None
) -> None:
    assert services.webhooks is not None
    for _ in range(3):
        current = services.webhooks.get_endpoint(endpoint.tenant_id, endpoint.id)
        if current is None or current.status == status:
            return
        changed = current.model_copy(
            update={"status": status, "disabled_reason": reason, "updated_at": now_iso()}
        )
        if services.webhooks.replace_endpoint(changed, expected_updated_at=current.updated_at):
            logger.info(
                "webhook endpoint status changed", extra={"endpoint_id": endpoint.id, "status": status}
            )
            return


def callback_secrets(services: Services, tenant_id: str) -> list[str]:
    """The tenant's active callback secrets; the first callback creates one if the tenant has none yet
    (the tenant reads a secret only by rotating it: POST /v1/webhook-callback-secret)."""
    assert services.webhooks is not None
    now = time.time()
    for _ in range(3):
        stored, version = services.webhooks.get_callback_secrets(tenant_id)
        active = [s.value for s in stored if s.expires_at is None or s.expires_at > now]
        if active:
            return active
        fresh = [WebhookSecret(value=new_secret(), created_at=now_iso())]
        if services.webhooks.put_callback_secrets(tenant_id, fresh, updated_at=now_iso(), expected=version):
            return [fresh[0].value]
    raise RuntimeError("could not read or create the callback signing secret")


# --- payload -----------------------------------------------------------------------------------------
def build_payload(services: Services, delivery: WebhookDelivery, sent_at: float) -> bytes:
    """The Standard Webhooks body: {type, timestamp, data}. Thin: ids, status, credits, links and, for a
    completed job, freshly presigned image URLs (made now, so a retry hours later still carries live ones),
    and the job's metadata as the client sent it."""
    if delivery.event_type == TEST_EVENT_TYPE:
        data: dict[str, Any] = dict(delivery.event)
    elif delivery.event_type == BATCH_COMPLETED_EVENT_TYPE:
        event = {k: v for k, v in delivery.event.items() if k != "tenant_id"}
        data = {"id": event.get("batch_id"), **event}
    else:
        event = {k: v for k, v in delivery.event.items() if k != "tenant_id"}
        data = {"id": event.get("job_id"), "object": "job", **event}
        job = services.jobs.get(delivery.tenant_id, str(event["job_id"]))
        if job is not None:
            data["metadata"] = job.metadata  # echoed as given at submit (Pi)
            if event.get("status") == JobStatus.COMPLETED.value:
                shown = present_job(job, services)
                data["avatars"] = shown["avatars"]
                data["image_url"] = shown["image_url"]  # the first image, for single-image clients
    payload = {"type": delivery.event_type, "timestamp": _iso(sent_at), "data": data}
    return json.dumps(payload, separators=(",", ":")).encode()
