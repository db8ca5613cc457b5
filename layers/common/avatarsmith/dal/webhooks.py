"""Webhook endpoints, deliveries and the per-tenant callback secret in the single table; the delivery queue.

Keys (pk / sk):
  T#<tenant> / WHE#<endpoint id>   -> an endpoint (url, event types, status, signing secrets)
  T#<tenant> / WHC                 -> the secrets that sign per-job `callback_url` deliveries
  T#<tenant> / WHD#<delivery id>   -> a delivery and its attempts
GSIs (shared with jobs, distinct partition prefixes):
  ByStatus          gsi1pk = T#<tenant>#WHD, gsi1sk = <created_at>#<delivery id>  (newest first)
  ByClientReference gsi2pk = T#<tenant>#WHJ#<job id>, gsi2sk = <created_at>#<delivery id>
"""

from __future__ import annotations

import json
from typing import Any

from avatarsmith.errors import StorageError
from avatarsmith.models.webhooks import (
    DeliveryAttempt,
    DeliveryMessage,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

from .clients import client
from .table import (
    BY_CLIENT_REFERENCE_INDEX,
    BY_STATUS_INDEX,
    ConditionFailed,
    Table,
    tenant_pk,
    to_attr,
)
from .unreadable import parse_one, parse_readable

ENDPOINT_PREFIX = "WHE#"
DELIVERY_PREFIX = "WHD#"
CALLBACK_SECRETS_SK = "WHC"


def _deliveries_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}#WHD"


def _job_deliveries_pk(tenant_id: str, job_id: str) -> str:
    return f"T#{tenant_id}#WHJ#{job_id}"


class WebhookRepository:
    def __init__(self, table: Table):
        self.table = table

    # --- endpoints --------------------------------------------------------------------------------
    def create_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.table.put_new(
            {
                "pk": tenant_pk(endpoint.tenant_id),
                "sk": ENDPOINT_PREFIX + endpoint.id,
                "type": "webhook_endpoint",
                "data": endpoint.model_dump_json(),
                "updated_at": endpoint.updated_at,
            }
        )

    def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        item = self.table.get(tenant_pk(tenant_id), ENDPOINT_PREFIX + endpoint_id, consistent=True)
        return parse_one("webhook_endpoint", item, _endpoint_from_item)

    def list_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        """All of a tenant's endpoints, oldest first (a tenant has few: they are read whole)."""
        out: list[WebhookEndpoint] = []
        start: dict[str, Any] | None = None
        while True:
            items, start = self.table.query_page(
                partition_key=("pk", tenant_pk(tenant_id)),
                sort_prefix=("sk", ENDPOINT_PREFIX),
                limit=100,
                start_key=start,
                newest_first=False,
            )
            out.extend(parse_readable("webhook_endpoint", items, _endpoint_from_item))
            if not start:
                return out

    def replace_endpoint(self, endpoint: WebhookEndpoint, *, expected_updated_at: str) -> bool:
        """Write the endpoint if nobody changed it since `expected_updated_at` (optimistic lock)."""
        try:
            self.table.update(
                tenant_pk(endpoint.tenant_id),
                ENDPOINT_PREFIX + endpoint.id,
                set_values={"data": endpoint.model_dump_json(), "updated_at": endpoint.updated_at},
                condition="attribute_exists(pk) AND updated_at = :seen",
                condition_values={":seen": expected_updated_at},
            )
        except ConditionFailed:
            return False
        return True

    def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = client("dynamodb").delete_item(
                TableName=self.table.name,
                Key={"pk": to_attr(tenant_pk(tenant_id)), "sk": to_attr(ENDPOINT_PREFIX + endpoint_id)},
                ReturnValues="ALL_OLD",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("DynamoDB delete_item failed") from exc
        return bool(response.get("Attributes"))

    # --- the callback secret ----------------------------------------------------------------------
    def get_callback_secrets(self, tenant_id: str) -> tuple[list[WebhookSecret], str | None]:
        item = self.table.get(tenant_pk(tenant_id), CALLBACK_SECRETS_SK, consistent=True)
        if not item:
            return [], None
        return [WebhookSecret.model_validate(s) for s in json.loads(item["data"])], item.get("updated_at")

    def put_callback_secrets(
        self, tenant_id: str, secrets: list[WebhookSecret], *, updated_at: str, expected: str | None
    ) -> bool:
        values = {
            "pk": tenant_pk(tenant_id),
            "sk": CALLBACK_SECRETS_SK,
            "type": "webhook_callback_secrets",
            "data": json.dumps([s.model_dump() for s in secrets]),
            "updated_at": updated_at,
        }
        try:
            if expected is None:
                self.table.put_new(values)
            else:
                self.table.update(
                    values["pk"],
                    values["sk"],
                    set_values={"data": values["data"], "updated_at": updated_at},
                    condition="updated_at = :seen",
                    condition_values={":seen": expected},
                )
        except ConditionFailed:
            return False
        return True

    # --- deliveries -------------------------------------------------------------------------------
    def create_delivery(self, delivery: WebhookDelivery) -> bool:
        """Create the delivery unless it exists (its id is derived from the event): False if it did."""
        sort_key = f"{delivery.created_at}#{delivery.id}"
        item: dict[str, Any] = {
            "pk": tenant_pk(delivery.tenant_id),
            "sk": DELIVERY_PREFIX + delivery.id,
            "type": "webhook_delivery",
            "status": delivery.status,
            "attempt_count": delivery.attempt_count,
            "data": delivery.model_dump_json(exclude={"attempts", "attempt_count", "status"}),
            "attempts": [],
            "gsi1pk": _deliveries_pk(delivery.tenant_id),
            "gsi1sk": sort_key,
        }
        if delivery.job_id:
            item["gsi2pk"] = _job_deliveries_pk(delivery.tenant_id, delivery.job_id)
            item["gsi2sk"] = sort_key
        try:
            self.table.put_new(item)
        except ConditionFailed:
            return False
        return True

    def get_delivery(self, tenant_id: str, delivery_id: str) -> WebhookDelivery | None:
        item = self.table.get(tenant_pk(tenant_id), DELIVERY_PREFIX + delivery_id, consistent=True)
        return parse_one("webhook_delivery", item, _delivery_from_item)

    def claim_attempt(
        self, tenant_id: str, delivery_id: str, attempt: int, *, now: float, stale_after: float = 120.0
    ) -> WebhookDelivery | None:
        """Take attempt number `attempt`: one sender per number, even with duplicate messages.

        A claim older than `stale_after` seconds whose result was never recorded (the sender crashed;
        SQS shows the message again after the visibility timeout) may be taken again.
        """
        try:
            item = self.table.update(
                tenant_pk(tenant_id),
                DELIVERY_PREFIX + delivery_id,
                set_values={"attempt_count": attempt, "claimed_at": now},
                condition=(
                    "attribute_exists(pk) AND (attempt_count = :previous OR "
                    "(attempt_count = :attempt AND size(attempts) < :attempt AND claimed_at < :stale))"
                ),
                condition_values={":previous": attempt - 1, ":attempt": attempt, ":stale": now - stale_after},
            )
        except ConditionFailed:
            return None
        return _delivery_from_item(item)

    def record_attempt(
        self,
        tenant_id: str,
        delivery_id: str,
        attempt: DeliveryAttempt,
        *,
        status: str,
        next_attempt_at: str | None,
        now: str,
    ) -> None:
        """Append the attempt; set the delivery's status only if no later attempt was claimed since
        (a quick retry may overtake this write: then the later attempt owns the status)."""
        key = {"pk": to_attr(tenant_pk(tenant_id)), "sk": to_attr(DELIVERY_PREFIX + delivery_id)}
        append = "attempts = list_append(if_not_exists(attempts, :empty), :attempt)"
        values: dict[str, Any] = {
            ":empty": {"L": []},
            ":attempt": to_attr([attempt.model_dump(exclude_none=True)]),
            ":number": to_attr(attempt.attempt),
            ":status": to_attr(status),
            ":now": to_attr(now),
            ":next": to_attr(next_attempt_at),
        }
        try:
            self.table._call(
                "update_item",
                Key=key,
                UpdateExpression=(
                    f"SET {append}, #status = :status, updated_at = :now, next_attempt_at = :next"
                ),
                ConditionExpression="attempt_count = :number",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            self.table._call(
                "update_item",
                Key=key,
                UpdateExpression=f"SET {append}",
                ExpressionAttributeValues={k: values[k] for k in (":empty", ":attempt")},
            )

    def set_status(self, tenant_id: str, delivery_id: str, status: str, *, now: str) -> None:
        self.table.update(
            tenant_pk(tenant_id),
            DELIVERY_PREFIX + delivery_id,
            set_values={"status": status, "updated_at": now},
        )

    def list_deliveries(
        self,
        tenant_id: str,
        *,
        limit: int,
        after: dict[str, Any] | None,
        job_id: str | None,
        status: str | None,
    ) -> tuple[list[WebhookDelivery], dict[str, Any] | None]:
        """Newest first; `after` is the last item's key from the previous page."""
        index, pk_name, pk = (
            (BY_CLIENT_REFERENCE_INDEX, "gsi2pk", _job_deliveries_pk(tenant_id, job_id))
            if job_id
            else (BY_STATUS_INDEX, "gsi1pk", _deliveries_pk(tenant_id))
        )
        out: list[WebhookDelivery] = []
        start = after
        while len(out) <= limit:
            items, start = self.table.query_page(
                partition_key=(pk_name, pk),
                index=index,
                limit=limit + 1,
                start_key=start,
                filter_expression="#status = :status" if status else None,
                filter_values={":status": status} if status else None,
            )
            out.extend(parse_readable("webhook_delivery", items, _delivery_from_item))
            if not start:
                break
        page = out[:limit]
        if len(out) <= limit or not page:
            return page, None
        return page, self.page_key_after(page[-1], job_id=job_id)

    @staticmethod
    def page_key_after(delivery: WebhookDelivery, *, job_id: str | None) -> dict[str, Any]:
        """The index key to continue a listing after `delivery` (filtered by job or not)."""
        sort_key = f"{delivery.created_at}#{delivery.id}"
        key: dict[str, Any] = {"pk": tenant_pk(delivery.tenant_id), "sk": DELIVERY_PREFIX + delivery.id}
        if job_id:
            key.update(gsi2pk=_job_deliveries_pk(delivery.tenant_id, job_id), gsi2sk=sort_key)
        else:
            key.update(gsi1pk=_deliveries_pk(delivery.tenant_id), gsi1sk=sort_key)
        return key


def _endpoint_from_item(item: dict[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint.model_validate_json(item["data"])


def _delivery_from_item(item: dict[str, Any]) -> WebhookDelivery:
    data = json.loads(item["data"])
    data.update(
        status=item["status"],
        attempt_count=int(item.get("attempt_count", 0)),
        attempts=sorted(item.get("attempts") or [], key=lambda a: (a["attempt"], a["at"])),
        next_attempt_at=item.get("next_attempt_at", data.get("next_attempt_at")),
        updated_at=item.get("updated_at", data["updated_at"]),
    )
    return WebhookDelivery.model_validate(data)


class DeliveryQueue:
    """The notifier's queue (EventBridge events and our own delivery messages) and its DLQ."""

    MAX_DELAY_SECONDS = 900  # SQS's ceiling for DelaySeconds: longer waits are chained in hops

    def __init__(self, url: str, dead_letter_url: str | None = None):
        self.url = url
        self.dead_letter_url = dead_letter_url

    def send(self, messages: list[DeliveryMessage], *, delay_seconds: int = 0) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        delay = max(0, min(self.MAX_DELAY_SECONDS, delay_seconds))
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [
                {"Id": str(i), "MessageBody": m.model_dump_json(), "DelaySeconds": delay}
                for i, m in enumerate(chunk)
            ]
            try:
                response = client("sqs").send_message_batch(QueueUrl=self.url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError("could not enqueue webhook deliveries") from exc
            if response.get("Failed"):
                raise StorageError("the delivery queue refused some webhook deliveries")

    def dead_letter(self, message: DeliveryMessage, reason: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.dead_letter_url:
            raise StorageError("no dead-letter queue is configured for webhook deliveries")
        body = json.dumps({**message.model_dump(), "reason": reason}, separators=(",", ":"))
        try:
            client("sqs").send_message(QueueUrl=self.dead_letter_url, MessageBody=body)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not move an exhausted delivery to the dead-letter queue") from exc
