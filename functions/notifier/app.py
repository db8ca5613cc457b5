"""Notifier: SQS batch of job events (from the EventBridge rule) and delivery messages -> signed webhooks.

Records are handled concurrently (a slow receiver does not hold up the others in the batch) and failures
are reported per record (partial batch response); the queue's redrive policy moves poison messages to
the dead-letter queue. Delivery failures are not record failures: they are re-enqueued on the backoff
schedule by the logic itself.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from avatarsmith.config import get_notifier_settings
from avatarsmith.logic import notifier
from avatarsmith.logic.services import Services
from avatarsmith.models.webhooks import DeliveryMessage
from avatarsmith.observability import logger


@lru_cache(maxsize=1)
def get_services() -> Services:
    settings = get_notifier_settings()
    return Services.build(
        table_name=settings.TABLE_NAME,
        bucket_name=settings.IMAGES_BUCKET_NAME,
        allow_loopback_urls=settings.AVATARSMITH_ALLOW_LOOPBACK_URLS,
        presigned_url_ttl=settings.PRESIGNED_URL_TTL_SECONDS,
        webhook_queue_url=settings.WEBHOOK_QUEUE_URL,
        webhook_dead_letter_queue_url=settings.WEBHOOK_DEAD_LETTER_QUEUE_URL,
    )


def _options() -> notifier.DeliveryOptions:
    settings = get_notifier_settings()
    return notifier.DeliveryOptions(
        retry_base=settings.WEBHOOK_RETRY_BASE_SECONDS,
        connect_timeout=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.WEBHOOK_READ_TIMEOUT_SECONDS,
        allow_loopback=settings.AVATARSMITH_ALLOW_LOOPBACK_URLS,
    )


def handle_record(record: dict[str, Any]) -> str:
    body = json.loads(record["body"])
    if isinstance(body, dict) and "detail-type" in body:  # an EventBridge event from the bus rule
        return f"fanned out {notifier.fan_out(get_services(), body['detail'])}"
    message = DeliveryMessage.model_validate(body)
    return notifier.attempt_delivery(get_services(), message, _options())


def _safe(record: dict[str, Any]) -> str | None:
    """None on success, the message id on failure."""
    try:
        handle_record(record)
    except Exception:
        logger.exception("notifier record failed", extra={"message_id": record.get("messageId")})
        return str(record["messageId"])
    return None


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    with ThreadPoolExecutor(max_workers=max(1, min(10, len(records)))) as pool:
        failed = [m for m in pool.map(_safe, records) if m is not None]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
