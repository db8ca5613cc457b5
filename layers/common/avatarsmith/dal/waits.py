"""Per-tenant count of requests holding an api function instance while they wait for a job.

One item per tenant, `T#<tenant>` / `WAITS`: `holders` (the count) and `expires_at` (epoch seconds, pushed
forward on every acquire to the latest moment a holder may still be waiting: every holder waits at most
`hold_seconds`, the same for all). Taking a slot is one
conditional UpdateItem (`holders < limit`), giving it back another (`holders > 0`). A holder that never gives
its slot back (the instance was killed mid-wait) cannot leak it for long: once `expires_at` has passed no
holder can still be waiting, so the next acquire resets the count under a condition on the `expires_at` it
read (two resets cannot both win)."""

from __future__ import annotations

from typing import Any

from .table import ConditionFailed, Table, tenant_pk

WAITS_SK = "WAITS"


class WaitSlots:
    def __init__(self, table: Table):
        self.table = table

    def acquire(self, tenant_id: str, *, limit: int, hold_seconds: float, now: float) -> bool:
        """Take one of the tenant's `limit` slots for at most `hold_seconds`; False when all are taken."""
        expires = int(now + hold_seconds) + 1
        try:
            self._update(
                tenant_id,
                "SET holders = if_not_exists(holders, :zero) + :one, expires_at = :exp",
                "attribute_not_exists(holders) OR holders < :limit",
                {":zero": 0, ":one": 1, ":limit": limit, ":exp": expires},
            )
        except ConditionFailed as failed:
            current = failed.current or {}
            seen = int(current.get("expires_at", 0))
            if seen >= now:
                return False
            try:  # every holder counted there has stopped waiting by now: start the count again
                self._update(
                    tenant_id,
                    "SET holders = :one, expires_at = :exp",
                    "expires_at = :seen",
                    {":one": 1, ":exp": expires, ":seen": seen},
                )
            except ConditionFailed:
                return False
            return True
        return True

    def release(self, tenant_id: str) -> None:
        self._update(
            tenant_id, "SET holders = holders - :one", "holders > :zero", {":one": 1, ":zero": 0}, True
        )

    def holders(self, tenant_id: str) -> int:
        item = self.table.get(tenant_pk(tenant_id), WAITS_SK, consistent=True) or {}
        return int(item.get("holders", 0))

    def _update(
        self,
        tenant_id: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
        ignore_condition: bool = False,
    ) -> None:
        from .table import to_item

        try:
            self.table._call(
                "update_item",
                Key=to_item({"pk": tenant_pk(tenant_id), "sk": WAITS_SK}),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=to_item(values),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed:
            if not ignore_condition:
                raise
