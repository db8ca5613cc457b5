"""Webhook endpoints and the delivery log, from the API's side."""

from __future__ import annotations

import time
from typing import Any

from avatarsmith.errors import ConflictError, InvalidRequestError, NotFoundError, ServiceUnavailableError
from avatarsmith.ids import time_ordered_id
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.cursors import decode_cursor, encode_cursor
from avatarsmith.logic.services import Services
from avatarsmith.logic.signing import new_secret, secret_fingerprint
from avatarsmith.models.webhooks import (
    TEST_EVENT_TYPE,
    CreateWebhookEndpointRequest,
    DeliveryMessage,
    RotateSecretRequest,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from avatarsmith.observability import logger
from avatarsmith.urlguard import resolve_checked

MAX_ENDPOINTS_PER_TENANT = 20
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookEndpointNotFoundError(NotFoundError):
    pass


class WebhookDeliveryNotFoundError(NotFoundError):
    pass


class DeliveryPendingError(ConflictError):
    code = "delivery_pending"


def _repo(services: Services) -> Any:
    assert services.webhooks is not None
    return services.webhooks


def _queue(services: Services) -> Any:
    if services.delivery_queue is None:
        raise ServiceUnavailableError("webhook delivery is not configured")
    return services.delivery_queue


# --- endpoints -----------------------------------------------------------------------------------------
def create_endpoint(
    services: Services, tenant_id: str, request: CreateWebhookEndpointRequest
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint. Returns it with its signing secret (shown this once)."""
    resolve_checked(request.url, allow_loopback=services.allow_loopback_urls, param="url")
    if len(_repo(services).list_endpoints(tenant_id)) >= MAX_ENDPOINTS_PER_TENANT:
        raise InvalidRequestError(f"a tenant can have at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints")
    now = now_iso()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=time_ordered_id("whe"),
        tenant_id=tenant_id,
        url=request.url,
        events=request.events,
        description=request.description,
        secrets=[WebhookSecret(value=secret, created_at=now)],
        created_at=now,
        updated_at=now,
    )
    _repo(services).create_endpoint(endpoint)
    logger.info("webhook endpoint created", extra={"endpoint_id": endpoint.id})
    return endpoint, secret


def get_endpoint(services: Services, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = _repo(services).get_endpoint(tenant_id, endpoint_id)
    if endpoint is None:
        raise WebhookEndpointNotFoundError(f"no webhook endpoint with id {endpoint_id}", param="endpoint_id")
    return endpoint


def list_endpoints(services: Services, tenant_id: str) -> list[WebhookEndpoint]:
    return list(_repo(services).list_endpoints(tenant_id))


def delete_endpoint(services: Services, tenant_id: str, endpoint_id: str) -> None:
    if not _repo(services).delete_endpoint(tenant_id, endpoint_id):
        raise WebhookEndpointNotFoundError(f"no webhook endpoint with id {endpoint_id}", param="endpoint_id")


def _rotated(
    current: list[WebhookSecret], overlap_seconds: int, now: float
) -> tuple[list[WebhookSecret], str]:
    """A new current secret; every previous one keeps signing for at most `overlap_seconds` more
    (0 revokes them all at once, e.g. after a leak)."""
    secret = new_secret()
    until = now + overlap_seconds
    kept = [
        s.model_copy(update={"expires_at": min(s.expires_at or until, until)})
        for s in current
        if min(s.expires_at or until, until) > now
    ]
    return [WebhookSecret(value=secret, created_at=now_iso()), *kept], secret


def rotate_endpoint_secret(
    services: Services, tenant_id: str, endpoint_id: str, request: RotateSecretRequest
) -> tuple[WebhookEndpoint, str]:
    for _ in range(3):
        endpoint = get_endpoint(services, tenant_id, endpoint_id)
        secrets, secret = _rotated(endpoint.secrets, request.overlap_seconds, time.time())
        changed = endpoint.model_copy(update={"secrets": secrets, "updated_at": now_iso()})
        if _repo(services).replace_endpoint(changed, expected_updated_at=endpoint.updated_at):
            logger.info("webhook endpoint secret rotated", extra={"endpoint_id": endpoint_id})
            return changed, secret
    raise ConflictError("the endpoint changed while rotating its secret; try again")


def rotate_callback_secret(
    services: Services, tenant_id: str, request: RotateSecretRequest
) -> tuple[str, float | None]:
    """Issue a new secret for per-job callbacks; returns it and when the previous one stops signing."""
    for _ in range(3):
        stored, version = _repo(services).get_callback_secrets(tenant_id)
        now = time.time()
        secrets, secret = _rotated(stored, request.overlap_seconds, now)
        if _repo(services).put_callback_secrets(tenant_id, secrets, updated_at=now_iso(), expected=version):
            previous = [s.expires_at for s in secrets[1:] if s.expires_at]
            return secret, max(previous) if previous else None
    raise ConflictError("the callback secret changed while rotating it; try again")


def send_test(services: Services, tenant_id: str, endpoint_id: str) -> WebhookDelivery:
    """Queue a signed `webhook.test` ping to the endpoint (a 2xx answer re-enables a disabled endpoint)."""
    endpoint = get_endpoint(services, tenant_id, endpoint_id)
    now = now_iso()
    delivery_id = time_ordered_id("whd")
    delivery = WebhookDelivery(
        id=delivery_id,
        tenant_id=tenant_id,
        webhook_id="msg_" + delivery_id.removeprefix("whd_"),
        target="endpoint",
        endpoint_id=endpoint.id,
        url=endpoint.url,
        event_type=TEST_EVENT_TYPE,
        event={"endpoint_id": endpoint.id, "message": "This is a test event from Avatarsmith."},
        created_at=now,
        updated_at=now,
    )
    _repo(services).create_delivery(delivery)
    _queue(services).send(
        [DeliveryMessage(tenant_id=tenant_id, delivery_id=delivery_id, attempt=1, retry=False)]
    )
    return delivery


# --- deliveries -------------------------------------------------------------------------------------
def list_deliveries(
    services: Services,
    tenant_id: str,
    *,
    limit: int,
    cursor: str | None,
    job_id: str | None,
    status: str | None,
) -> tuple[list[WebhookDelivery], str | None]:
    if status is not None and status not in DELIVERY_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(DELIVERY_STATUSES)}", param="status")
    filters = {"job_id": job_id, "status": status}
    after_key = None
    if cursor:
        last = _repo(services).get_delivery(tenant_id, decode_cursor(cursor, "webhook_deliveries", filters))
        if last is None:
            raise InvalidRequestError("cursor is not valid for this list", param="cursor")
        after_key = _repo(services).page_key_after(last, job_id=job_id)
    page, next_key = _repo(services).list_deliveries(
        tenant_id, limit=limit, after=after_key, job_id=job_id, status=status
    )
    next_cursor = encode_cursor("webhook_deliveries", page[-1].id, filters) if next_key and page else None
    return page, next_cursor


def get_delivery(services: Services, tenant_id: str, delivery_id: str) -> WebhookDelivery:
    delivery = _repo(services).get_delivery(tenant_id, delivery_id)
    if delivery is None:
        raise WebhookDeliveryNotFoundError(f"no webhook delivery with id {delivery_id}", param="delivery_id")
    return delivery


def replay_delivery(services: Services, tenant_id: str, delivery_id: str) -> WebhookDelivery:
    """Send a finished delivery again (same `webhook-id`, fresh timestamp and signature), once."""
    delivery = get_delivery(services, tenant_id, delivery_id)
    if delivery.status == "pending":
        raise DeliveryPendingError(
            "this delivery is still being attempted; replay it once it has succeeded or failed",
            param="delivery_id",
        )
    _repo(services).set_status(tenant_id, delivery_id, "pending", now=now_iso())
    message = DeliveryMessage(
        tenant_id=tenant_id,
        delivery_id=delivery_id,
        attempt=delivery.attempt_count + 1,
        retry=False,
        replay=True,
    )
    _queue(services).send([message])
    return delivery.model_copy(update={"status": "pending"})


# --- presentation -------------------------------------------------------------------------------------
def present_endpoint(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    now = time.time()
    body: dict[str, Any] = {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "secrets": [
            {
                "fingerprint": secret_fingerprint(s.value),
                "created_at": s.created_at,
                "expires_at": epoch_iso(s.expires_at),
            }
            for s in endpoint.secrets
            if s.expires_at is None or s.expires_at > now
        ],
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }
    if secret is not None:
        body["secret"] = secret  # only in the create/rotate response
    return body


def present_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "webhook_id": delivery.webhook_id,
        "event_type": delivery.event_type,
        "job_id": delivery.job_id,
        "target": delivery.target,
        "endpoint_id": delivery.endpoint_id,
        "url": delivery.url,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "attempts": [a.model_dump(exclude_none=True) for a in delivery.attempts],
        "next_attempt_at": delivery.next_attempt_at,
        "created_at": delivery.created_at,
        "updated_at": delivery.updated_at,
    }


def epoch_iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
