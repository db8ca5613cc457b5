"""Credits, the ledger, idempotency records and rate counters, written in DynamoDB transactions.

Items (same table, under the tenant's partition):
  T#<tenant> / TENANT               balance, reserved, running (jobs not yet terminal), limits
  T#<tenant> / LEDGER#<entry id>    one credit change (ids are time-ordered: newest first on a reverse query)
  T#<tenant> / IDEM#<key>           an Idempotency-Key: request hash, state, the response to replay
  T#<tenant> / RATE#<minute>        generation submits in that minute (fixed window, TTL expires_at)

Invariants kept by construction: every change to balance/reserved happens in the same transaction as
its ledger entry, so balance == sum(amount) and reserved == sum(reserved_delta) over the ledger; the
balance condition `balance >= :cost` means it can never go below zero; a job's settlement (charge,
refund, running-1) happens in the same transaction as the job's conditional move to a terminal status,
so it happens at most once however often the step that settles runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from avatarsmith.ids import new_ledger_entry_id
from avatarsmith.models.billing import Account, LedgerEntry, TenantLimits
from avatarsmith.models.domain import Job, JobStatus

from .jobs import StaleJobError, job_from_item, job_to_item, transition_operation
from .table import Table, TransactionCancelled, from_item, job_sk, tenant_pk, to_item
from .unreadable import parse_one, parse_readable

TENANT_SK = "TENANT"
LEDGER_PREFIX = "LEDGER#"
IDEMPOTENCY_PREFIX = "IDEM#"
RATE_PREFIX = "RATE#"


def ledger_item(tenant_id: str, entry: LedgerEntry) -> dict[str, Any]:
    return {
        "pk": tenant_pk(tenant_id),
        "sk": f"{LEDGER_PREFIX}{entry.id}",
        "type": "ledger",
        **entry.model_dump(exclude_none=True),
    }


def ledger_entry(
    kind: str,
    amount: int,
    *,
    reserved_delta: int = 0,
    now: str,
    job_id: str | None = None,
    note: str | None = None,
) -> LedgerEntry:
    return LedgerEntry.model_validate(
        {
            "id": new_ledger_entry_id(),
            "kind": kind,
            "amount": amount,
            "reserved_delta": reserved_delta,
            "job_id": job_id,
            "note": note,
            "created_at": now,
        }
    )


def _put_new(item: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}}


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    request_hash: str
    state: str  # in_progress | completed
    status_code: int
    response: str
    headers: dict[str, str]
    job_id: str | None
    locked_until: int
    expires_at: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> IdempotencyRecord:
        return cls(
            key=str(item["idempotency_key"]),
            request_hash=str(item["request_hash"]),
            state=str(item["state"]),
            status_code=int(item.get("status_code", 0)),
            response=str(item.get("response", "")),
            headers=dict(item.get("headers") or {}),
            job_id=item.get("job_id"),
            locked_until=int(item.get("locked_until", 0)),
            expires_at=int(item.get("expires_at", 0)),
        )


@dataclass(frozen=True)
class RateWindow:
    window: int  # the minute since the epoch
    limit: int
    expires_at: int


class SubmitRejected(Exception):
    """The submit transaction was cancelled. `reason`: idempotency | credits | concurrency | rate."""

    def __init__(
        self, reason: str, *, tenant: dict[str, Any] | None = None, record: IdempotencyRecord | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.tenant = tenant
        self.record = record


class TenantMissingError(Exception):
    pass


class BillingRepository:
    def __init__(self, table: Table):
        self.table = table

    # --- submit: job + reservation + ledger + rate window (+ idempotency record) in one transaction ----
    def create_job_with_reservation(
        self,
        job: Job,
        *,
        now: str,
        rate: RateWindow | None,
        idempotency: dict[str, Any] | None,
    ) -> None:
        cost = job.credits.reserved
        tenant_id = job.tenant_id
        operations: list[dict[str, Any]] = []
        index: dict[str, int] = {}
        if idempotency is not None:
            index["idempotency"] = len(operations)
            operations.append(
                {
                    "Put": {
                        "Item": to_item(
                            {
                                "pk": tenant_pk(tenant_id),
                                "sk": IDEMPOTENCY_PREFIX + idempotency["idempotency_key"],
                            }
                            | {"type": "idempotency", **idempotency}
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        index["tenant"] = len(operations)
        operations.append(
            {
                "Update": {
                    "Key": to_item({"pk": tenant_pk(tenant_id), "sk": TENANT_SK}),
                    "UpdateExpression": (
                        "SET balance = balance - :cost, reserved = if_not_exists(reserved, :zero) + :cost, "
                        "running = if_not_exists(running, :zero) + :one, updated_at = :now"
                    ),
                    "ConditionExpression": (
                        "attribute_exists(pk) AND balance >= :cost AND (attribute_not_exists(running) "
                        "OR attribute_not_exists(max_concurrent_jobs) OR running < max_concurrent_jobs)"
                    ),
                    "ExpressionAttributeValues": to_item({":cost": cost, ":zero": 0, ":one": 1, ":now": now}),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
        if rate is not None:
            index["rate"] = len(operations)
            operations.append(
                {
                    "Update": {
                        "Key": to_item({"pk": tenant_pk(tenant_id), "sk": f"{RATE_PREFIX}{rate.window}"}),
                        "UpdateExpression": "SET expires_at = :exp ADD submits :one",
                        "ConditionExpression": "attribute_not_exists(submits) OR submits < :limit",
                        "ExpressionAttributeValues": to_item(
                            {":exp": rate.expires_at, ":one": 1, ":limit": rate.limit}
                        ),
                    }
                }
            )
        operations.append(_put_new(job_to_item(job)))
        reserve = ledger_entry("reserve", -cost, reserved_delta=cost, now=now, job_id=job.id)
        operations.append(_put_new(ledger_item(tenant_id, reserve)))
        try:  # the job id is the token: the SDK retrying a lost response cannot reserve twice
            self.table.transact(operations, token=job.id)
        except TransactionCancelled as exc:
            if "idempotency" in index:
                reason = exc.reason(index["idempotency"])
                if reason.condition_failed:
                    record = IdempotencyRecord.from_item(reason.item) if reason.item else None
                    raise SubmitRejected("idempotency", record=record) from exc
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

    # --- settlement: the terminal transition and its credits in one transaction ------------------------
    def finish_job(
        self,
        job: Job,
        *,
        to: JobStatus,
        allowed_from: tuple[JobStatus, ...],
        now: str,
        changes: dict[str, Any],
    ) -> Job:
        """Move the job to a terminal status and settle its credits, exactly once.

        `changes["credits"]` carries the job's final `charged`/`refunded`. The job's conditional transition,
        the tenant's balance/reserved/running update and the ledger entries commit together or not at all;
        a second run finds the job already terminal and raises StaleJobError (nothing is settled twice).
        """
        credits = changes["credits"]
        charged, refunded = int(credits.charged), int(credits.refunded)
        released = charged + refunded
        operations: list[dict[str, Any]] = [
            transition_operation(job, to=to, allowed_from=allowed_from, now=now, changes=changes),
            {
                "Update": {
                    "Key": to_item({"pk": tenant_pk(job.tenant_id), "sk": TENANT_SK}),
                    "UpdateExpression": (
                        "SET balance = balance + :refund, reserved = reserved - :released, "
                        "running = running - :one, updated_at = :now"
                    ),
                    "ExpressionAttributeValues": to_item(
                        {":refund": refunded, ":released": released, ":one": 1, ":now": now}
                    ),
                }
            },
        ]
        if charged:
            entry = ledger_entry("charge", 0, reserved_delta=-charged, now=now, job_id=job.id)
            operations.append(_put_new(ledger_item(job.tenant_id, entry)))
        if refunded:
            entry = ledger_entry("refund", refunded, reserved_delta=-refunded, now=now, job_id=job.id)
            operations.append(_put_new(ledger_item(job.tenant_id, entry)))
        operations[0]["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            self.table.transact(operations)
        except TransactionCancelled as exc:
            reason = exc.reason(0)
            if reason.condition_failed:
                raise StaleJobError(job_from_item(reason.item) if reason.item else None) from exc
            raise
        return job.model_copy(update={"status": to, "updated_at": now, **changes})

    # --- operator changes: grants and deductions ------------------------------------------------------
    def adjust_balance(
        self, tenant_id: str, amount: int, *, now: str, note: str | None = None
    ) -> LedgerEntry:
        """Grant (amount > 0) or deduct (amount < 0) credits; a deduction never makes the balance negative."""
        kind = "grant" if amount >= 0 else "deduct"
        entry = ledger_entry(kind, amount, now=now, note=note)
        condition = "attribute_exists(pk)" + (" AND balance >= :needed" if amount < 0 else "")
        values: dict[str, Any] = {":amount": amount, ":zero": 0, ":now": now}
        if amount < 0:
            values[":needed"] = -amount
        operations = [
            {
                "Update": {
                    "Key": to_item({"pk": tenant_pk(tenant_id), "sk": TENANT_SK}),
                    "UpdateExpression": (
                        "SET balance = if_not_exists(balance, :zero) + :amount, updated_at = :now"
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": to_item(values),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            _put_new(ledger_item(tenant_id, entry)),
        ]
        try:
            self.table.transact(operations)
        except TransactionCancelled as exc:
            reason = exc.reason(0)
            if reason.condition_failed:
                if reason.item is None:
                    raise TenantMissingError(tenant_id) from exc
                raise SubmitRejected("credits", tenant=reason.item) from exc
            raise
        return entry

    # --- reads --------------------------------------------------------------------------------------
    def account(self, tenant_id: str) -> Account | None:
        item = self.table.get(tenant_pk(tenant_id), TENANT_SK, consistent=True)
        return account_from_item(item) if item else None

    def ledger(self, tenant_id: str, *, limit: int) -> list[LedgerEntry]:
        items = self.table.query_prefix(tenant_pk(tenant_id), LEDGER_PREFIX, limit=limit)
        return parse_readable("ledger_entry", items, _entry_from_item)

    def all_ledger_entries(self, tenant_id: str) -> list[LedgerEntry]:
        entries: list[LedgerEntry] = []
        start = None
        while True:
            items, start = self.table.query_page(
                partition_key=("pk", tenant_pk(tenant_id)),
                sort_prefix=("sk", LEDGER_PREFIX),
                limit=500,
                start_key=start,
                newest_first=False,
            )
            entries.extend(_entry_from_item(i) for i in items)
            if not start:
                return entries

    def job_with_balance(self, tenant_id: str, job_id: str) -> tuple[Job | None, int | None]:
        """The job and the tenant's balance in one BatchGetItem round trip."""
        from botocore.exceptions import BotoCoreError, ClientError

        from avatarsmith.errors import StorageError

        keys = [to_item({"pk": tenant_pk(tenant_id), "sk": sk}) for sk in (job_sk(job_id), TENANT_SK)]
        try:
            response = self.table._ddb.batch_get_item(RequestItems={self.table.name: {"Keys": keys}})
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("DynamoDB BatchGetItem failed") from exc
        if response.get("UnprocessedKeys"):
            job = self.table.get(tenant_pk(tenant_id), job_sk(job_id))
            return parse_one("job", job, job_from_item), None
        job_item, balance = None, None
        for raw in response.get("Responses", {}).get(self.table.name, []):
            item = from_item(raw)
            if item["sk"] == TENANT_SK:
                balance = int(item.get("balance", 0))
            else:
                job_item = item
        return parse_one("job", job_item, job_from_item), balance

    # --- idempotency records ------------------------------------------------------------------------
    def idempotency_record(self, tenant_id: str, key: str) -> IdempotencyRecord | None:
        item = self.table.get(tenant_pk(tenant_id), IDEMPOTENCY_PREFIX + key, consistent=True)
        return IdempotencyRecord.from_item(item) if item else None

    def start_idempotent_request(self, tenant_id: str, record: dict[str, Any]) -> IdempotencyRecord | None:
        """Claim a key for a request outside a submit transaction; returns the existing record if taken."""
        from .table import ConditionFailed

        item = {"pk": tenant_pk(tenant_id), "sk": IDEMPOTENCY_PREFIX + record["idempotency_key"]}
        try:
            self.table._call(
                "put_item",
                Item=to_item(item | {"type": "idempotency", **record}),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as exc:
            if exc.current is None:
                return self.idempotency_record(tenant_id, record["idempotency_key"])
            return IdempotencyRecord.from_item(exc.current)
        return None

    def complete_idempotent_request(
        self, tenant_id: str, key: str, *, status_code: int, response: str, headers: dict[str, str]
    ) -> None:
        self.table.update(
            tenant_pk(tenant_id),
            IDEMPOTENCY_PREFIX + key,
            set_values={
                "state": "completed",
                "status_code": status_code,
                "response": response,
                "headers": headers,
            },
            condition="attribute_exists(pk)",
        )

    def forget_idempotent_request(self, tenant_id: str, key: str) -> None:
        self.table.delete(tenant_pk(tenant_id), IDEMPOTENCY_PREFIX + key)


def account_from_item(item: dict[str, Any]) -> Account:
    limits = TenantLimits.model_validate(
        {k: item[k] for k in TenantLimits.model_fields if item.get(k) is not None}
    )
    return Account(
        tenant_id=str(item["tenant_id"]),
        name=str(item.get("name", "")),
        balance=int(item.get("balance", 0)),
        reserved=int(item.get("reserved", 0)),
        running_jobs=int(item.get("running", 0)),
        limits=limits,
        created_at=item.get("created_at"),
    )


def _entry_from_item(item: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry.model_validate({k: v for k, v in item.items() if k in LedgerEntry.model_fields})
