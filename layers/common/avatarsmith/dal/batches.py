"""Batches: T#<tenant> / BAT#<batch id>, and their credit reservation.

A batch of N jobs cannot be written in one DynamoDB transaction with everything each job's submit writes
(N jobs + ledger entries + the tenant update exceed the 100-item limit for N > 48), so it is split:
  1. one transaction reserves the whole cost: the tenant's balance/reserved/running (+N, under the
     concurrency cap), one ledger entry, the rate window (+N), the batch item (`creating`) and the
     Idempotency-Key record. Enough credits for every item, or nothing is reserved (one 402).
  2. one transaction puts the N job items (N <= 100).
If step 2 fails, the reservation is released in one compensating transaction (tenant update + a refund
ledger entry + batch `failed`), so the ledger always adds up. Each job then settles on its own as usual.
"""

from __future__ import annotations

from typing import Any

from avatarsmith.models.domain import Batch, Job

from .billing import (
    IDEMPOTENCY_PREFIX,
    RATE_PREFIX,
    TENANT_SK,
    IdempotencyRecord,
    RateWindow,
    SubmitRejected,
    TenantMissingError,
    ledger_entry,
    ledger_item,
)
from .jobs import job_to_item
from .table import (
    ConditionFailed,
    Table,
    TransactionCancelled,
    from_item,
    tenant_pk,
    to_item,
    update_operation,
)
from .unreadable import parse_one, parse_readable

BATCH_PREFIX = "BAT#"


def batch_sk(batch_id: str) -> str:
    return f"{BATCH_PREFIX}{batch_id}"


def batch_to_item(batch: Batch) -> dict[str, Any]:
    return {
        "pk": tenant_pk(batch.tenant_id),
        "sk": batch_sk(batch.id),
        "type": "batch",
        **batch.model_dump(exclude_none=True, exclude={"finished_job_ids"}),
        "finished": {},
    }


def batch_from_item(item: dict[str, Any]) -> Batch:
    fields = {k: v for k, v in item.items() if k in Batch.model_fields}
    fields["finished_job_ids"] = sorted((item.get("finished") or {}).keys())
    return Batch.model_validate(fields)


def _put_new(item: dict[str, Any], *, return_old: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}
    if return_old:
        op["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Put": op}


class BatchRepository:
    def __init__(self, table: Table):
        self.table = table

    def reserve(
        self,
        batch: Batch,
        *,
        cost: int,
        now: str,
        max_concurrent: int | None,
        rate: RateWindow | None,
        idempotency: dict[str, Any] | None,
    ) -> None:
        """Step 1. Raises SubmitRejected(credits|concurrency|rate|idempotency) or TenantMissingError."""
        count = len(batch.job_ids)
        tenant_id = batch.tenant_id
        values: dict[str, Any] = {":cost": cost, ":n": count, ":zero": 0, ":now": now}
        condition = "attribute_exists(pk) AND balance >= :cost"
        if max_concurrent is not None:
            if count > max_concurrent:
                raise SubmitRejected("concurrency", tenant={"max_concurrent_jobs": max_concurrent})
            condition += (
                " AND (attribute_not_exists(max_concurrent_jobs) OR (max_concurrent_jobs = :cap AND "
                "(attribute_not_exists(running) OR running <= :room)))"
            )
            values.update({":cap": max_concurrent, ":room": max_concurrent - count})
        operations: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        if idempotency is not None:
            index["idempotency"] = len(operations)
            key_item = {"pk": tenant_pk(tenant_id), "sk": IDEMPOTENCY_PREFIX + idempotency["idempotency_key"]}
            operations.append(_put_new(key_item | {"type": "idempotency", **idempotency}, return_old=True))
        index["tenant"] = len(operations)
        operations.append(
            {
                "Update": {
                    "Key": to_item({"pk": tenant_pk(tenant_id), "sk": TENANT_SK}),
                    "UpdateExpression": (
                        "SET balance = balance - :cost, reserved = if_not_exists(reserved, :zero) + :cost, "
                        "running = if_not_exists(running, :zero) + :n, updated_at = :now"
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": to_item(values),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        if rate is not None:
            if count > rate.limit:
                raise SubmitRejected("rate")
            index["rate"] = len(operations)
            operations.append(
                {
                    "Update": {
                        "Key": to_item({"pk": tenant_pk(tenant_id), "sk": f"{RATE_PREFIX}{rate.window}"}),
                        "UpdateExpression": "SET expires_at = :exp ADD submits :n",
                        "ConditionExpression": "attribute_not_exists(submits) OR submits <= :before",
                        "ExpressionAttributeValues": to_item(
                            {":exp": rate.expires_at, ":n": count, ":before": rate.limit - count}
                        ),
                    }
                }
            )
        reserve = ledger_entry("reserve", -cost, reserved_delta=cost, now=now, note=f"batch {batch.id}")
        operations.append(_put_new(ledger_item(tenant_id, reserve)))
        operations.append(_put_new(batch_to_item(batch)))
        try:
            self.table.transact(operations, token=batch.id)
        except TransactionCancelled as exc:
            if "idempotency" in index and exc.reason(index["idempotency"]).condition_failed:
                item = exc.reason(index["idempotency"]).item
                raise SubmitRejected(
                    "idempotency", record=IdempotencyRecord.from_item(item) if item else None
                ) from exc
            tenant_reason = exc.reason(index["tenant"])
            if tenant_reason.condition_failed:
                tenant = tenant_reason.item
                if tenant is None:
                    raise TenantMissingError(tenant_id) from exc
                if int(tenant.get("balance", 0)) < cost:
                    raise SubmitRejected("credits", tenant=tenant) from exc
                raise SubmitRejected("concurrency", tenant=tenant) from exc
            if "rate" in index and exc.reason(index["rate"]).condition_failed:
                raise SubmitRejected("rate") from exc
            raise

    def write_jobs(self, batch: Batch, jobs: list[Job]) -> None:
        """Step 2: the job items, all or none (at most 100: one transaction)."""
        self.table.transact([_put_new(job_to_item(job)) for job in jobs], token=f"{batch.id}-jobs")

    def release(self, batch: Batch, *, cost: int, now: str) -> None:
        """Undo step 1 after step 2 failed: credits and running slots back, the batch marked failed."""
        count = len(batch.job_ids)
        refund = ledger_entry(
            "refund", cost, reserved_delta=-cost, now=now, note=f"batch {batch.id} not created"
        )
        self.table.transact(
            [
                {
                    "Update": {
                        "Key": to_item({"pk": tenant_pk(batch.tenant_id), "sk": TENANT_SK}),
                        "UpdateExpression": (
                            "SET balance = balance + :cost, reserved = reserved - :cost, "
                            "running = running - :n, updated_at = :now"
                        ),
                        "ExpressionAttributeValues": to_item({":cost": cost, ":n": count, ":now": now}),
                    }
                },
                _put_new(ledger_item(batch.tenant_id, refund)),
                {
                    "Update": update_operation(
                        tenant_pk(batch.tenant_id),
                        batch_sk(batch.id),
                        set_values={"status": "failed", "updated_at": now},
                        condition="#status = :creating",
                        condition_values={":creating": "creating"},
                    )
                },
            ],
            token=f"{batch.id}-release",
        )

    def set_status(
        self, batch: Batch, status: str, *, expected: str, now: str, extra: dict[str, Any] | None = None
    ) -> Batch | None:
        """Conditional status change; None when the batch was not in `expected` (someone else moved it)."""
        try:
            item = self.table.update(
                tenant_pk(batch.tenant_id),
                batch_sk(batch.id),
                set_values={"status": status, "updated_at": now, **(extra or {})},
                condition="#status = :expected",
                condition_values={":expected": expected},
            )
        except ConditionFailed:
            return None
        return batch_from_item(item)

    def mark_finished(self, tenant_id: str, batch_id: str, job_id: str, status: str) -> Batch | None:
        """Record that one of the batch's jobs ended (idempotent: a map keyed by job id)."""
        try:
            response = self.table._call(
                "update_item",
                Key=to_item({"pk": tenant_pk(tenant_id), "sk": batch_sk(batch_id)}),
                UpdateExpression="SET finished.#job = :status",
                ConditionExpression="attribute_exists(pk) AND attribute_exists(finished)",
                ExpressionAttributeNames={"#job": job_id},
                ExpressionAttributeValues=to_item({":status": status}),
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            return None
        return batch_from_item(from_item(response["Attributes"]))

    def get(self, tenant_id: str, batch_id: str) -> Batch | None:
        item = self.table.get(tenant_pk(tenant_id), batch_sk(batch_id), consistent=True)
        return parse_one("batch", item, batch_from_item)

    def list_page(
        self, tenant_id: str, *, limit: int, after_batch_id: str | None
    ) -> tuple[list[Batch], str | None]:
        pk = tenant_pk(tenant_id)
        start = {"pk": pk, "sk": batch_sk(after_batch_id)} if after_batch_id else None
        items, _ = self.table.query_page(
            partition_key=("pk", pk), sort_prefix=("sk", BATCH_PREFIX), limit=limit + 1, start_key=start
        )
        # The cursor comes from the raw items: an unreadable item is left out, never the end of the list.
        batches = parse_readable("batch", items[:limit], batch_from_item)
        if len(items) > limit:
            return batches, str(items[limit - 1]["sk"]).removeprefix(BATCH_PREFIX)
        return batches, None

    def jobs(self, tenant_id: str, job_ids: list[str]) -> list[Job]:
        """The batch's jobs in one or two BatchGetItem calls (order kept; missing ones left out)."""
        from avatarsmith.errors import StorageError

        from .jobs import job_from_item
        from .table import job_sk

        found: dict[str, Job] = {}
        pending = [{"pk": tenant_pk(tenant_id), "sk": job_sk(j)} for j in job_ids]
        for _ in range(20):
            if not pending:
                break
            chunk, pending = pending[:100], pending[100:]
            try:
                response = self.table._ddb.batch_get_item(
                    RequestItems={
                        self.table.name: {"Keys": [to_item(k) for k in chunk], "ConsistentRead": True}
                    }
                )
            except Exception as exc:  # botocore errors
                raise StorageError("DynamoDB BatchGetItem failed") from exc
            for raw in response.get("Responses", {}).get(self.table.name, []):
                job = job_from_item(from_item(raw))
                found[job.id] = job
            unprocessed = response.get("UnprocessedKeys", {}).get(self.table.name, {}).get("Keys", [])
            pending = [from_item(k) for k in unprocessed] + pending
        return [found[j] for j in job_ids if j in found]
