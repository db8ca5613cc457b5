"""DynamoDB access: one table, tenant-scoped keys, conditional state transitions.

Key design (pk / sk):
  KEY#<sha256(api key)> / KEY            -> tenant id of an API key
  T#<tenant>            / TENANT          -> tenant profile
  T#<tenant>            / JOB#<job id>    -> a job (ids are time-ordered: newest first on a reverse query)
  T#<tenant>            / AVA#<avatar id> -> a saved avatar
GSIs: ByStatus (gsi1pk = T#<tenant>#S#<status>, gsi1sk = job id) and
      ByClientReference (gsi2pk = T#<tenant>#C#<client_reference_id>, gsi2sk = job id).
Every read of tenant data builds its partition key from the authenticated tenant, so another tenant's
item is simply not found.
"""

from __future__ import annotations

import json
from typing import Any

from avatarsmith.errors import StorageError

from .clients import client

TRANSACTION_CONFLICT_ATTEMPTS = 6
BY_STATUS_INDEX = "ByStatus"
BY_CLIENT_REFERENCE_INDEX = "ByClientReference"


def tenant_pk(tenant_id: str) -> str:
    return f"T#{tenant_id}"


def job_sk(job_id: str) -> str:
    return f"JOB#{job_id}"


def avatar_sk(avatar_id: str) -> str:
    return f"AVA#{avatar_id}"


def status_pk(tenant_id: str, status: str) -> str:
    return f"T#{tenant_id}#S#{status}"


def client_reference_pk(tenant_id: str, client_reference_id: str) -> str:
    return f"T#{tenant_id}#C#{client_reference_id}"


def api_key_pk(key_hash: str) -> str:
    return f"KEY#{key_hash}"


# --- attribute value (de)serialisation: only strings, numbers, bools, null, lists and maps ----------
def to_attr(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {k: to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def from_attr(attr: dict[str, Any]) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        # Integers exactly (a float would round anything past 2**53); anything else as a float.
        if "." not in value and "e" not in value.lower():
            return int(value)
        return float(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    raise TypeError(f"unsupported DynamoDB attribute type {kind}")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class ConditionFailed(Exception):
    """A conditional write found the item in another state; carries the item as it is now."""

    def __init__(self, current: dict[str, Any] | None):
        super().__init__("conditional check failed")
        self.current = current


class Table:
    """Thin typed wrapper over the DynamoDB client for one table."""

    def __init__(self, name: str):
        self.name = name

    @property
    def _ddb(self) -> Any:
        return client("dynamodb")

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self._ddb, operation)(TableName=self.name, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raw: Any = exc.response.get("Item")
                raise ConditionFailed(from_item(raw) if raw else None) from exc
            raise StorageError(f"DynamoDB {operation} failed") from exc
        except BotoCoreError as exc:
            raise StorageError(f"DynamoDB {operation} failed") from exc

    def get(self, pk: str, sk: str, *, consistent: bool = False) -> dict[str, Any] | None:
        response = self._call("get_item", Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=consistent)
        item = response.get("Item")
        return from_item(item) if item else None

    def put_new(self, values: dict[str, Any]) -> None:
        """Create an item that must not exist yet."""
        self._call("put_item", Item=to_item(values), ConditionExpression="attribute_not_exists(pk)")

    def put(self, values: dict[str, Any]) -> None:
        self._call("put_item", Item=to_item(values))

    def update(
        self,
        pk: str,
        sk: str,
        *,
        set_values: dict[str, Any],
        condition: str | None = None,
        condition_values: dict[str, Any] | None = None,
        remove: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """SET the given attributes (optionally under a condition) and return the item as written.

        On a failed condition raises ConditionFailed carrying the current item.
        """
        kwargs = update_operation(
            pk,
            sk,
            set_values=set_values,
            condition=condition,
            condition_values=condition_values,
            remove=remove,
        )
        kwargs["ReturnValues"] = "ALL_NEW"
        response = self._call("update_item", **kwargs)
        return from_item(response["Attributes"])

    def transact(self, operations: list[dict[str, Any]], *, token: str | None = None) -> None:
        """One TransactWriteItems: each operation is {"Put"|"Update"|"Delete"|"ConditionCheck": {...}}
        without TableName. Raises TransactionCancelled with one reason per operation (in order).

        `token` (ClientRequestToken) makes the SDK's own retries of a lost response idempotent. A
        cancellation caused only by conflicts with concurrent transactions on the same items (e.g. two
        submits of one tenant) is retried here with jittered backoff.
        """
        import random
        import time

        from botocore.exceptions import BotoCoreError, ClientError

        items = [{kind: {"TableName": self.name, **op} for kind, op in o.items()} for o in operations]
        kwargs: dict[str, Any] = {"TransactItems": items}
        if token:
            kwargs["ClientRequestToken"] = token
        for attempt in range(TRANSACTION_CONFLICT_ATTEMPTS):
            try:
                self._ddb.transact_write_items(**kwargs)
                return
            except ClientError as exc:
                error = exc.response.get("Error", {})
                if error.get("Code") != "TransactionCanceledException":
                    raise StorageError("DynamoDB TransactWriteItems failed") from exc
                reasons = [
                    CancellationReason(
                        str(r.get("Code") or "None"), from_item(dict(r["Item"])) if r.get("Item") else None
                    )
                    for r in exc.response.get("CancellationReasons", [])
                ]
                codes = {r.code for r in reasons} - {"None"}
                if codes <= {"TransactionConflict"} and attempt + 1 < TRANSACTION_CONFLICT_ATTEMPTS:
                    time.sleep(random.uniform(0, 0.02 * 2**attempt))
                    continue
                if codes <= {"TransactionConflict"}:
                    raise StorageError("DynamoDB TransactWriteItems kept conflicting") from exc
                raise TransactionCancelled(reasons) from exc
            except BotoCoreError as exc:
                raise StorageError("DynamoDB TransactWriteItems failed") from exc

    def delete(self, pk: str, sk: str) -> None:
        self._call("delete_item", Key=to_item({"pk": pk, "sk": sk}))

    def query_prefix(self, pk: str, prefix: str, *, limit: int, newest_first: bool = True) -> list[dict]:
        items, _ = self.query_page(
            partition_key=("pk", pk), sort_prefix=("sk", prefix), limit=limit, newest_first=newest_first
        )
        return items

    def query_page(
        self,
        *,
        partition_key: tuple[str, str],
        sort_prefix: tuple[str, str] | None = None,
        index: str | None = None,
        limit: int,
        start_key: dict[str, str] | None = None,
        newest_first: bool = True,
        filter_expression: str | None = None,
        filter_values: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        key_name, key_value = partition_key
        condition = "#pk = :pk"
        names = {"#pk": key_name}
        values: dict[str, Any] = {":pk": to_attr(key_value)}
        if sort_prefix:
            condition += " AND begins_with(#sk, :prefix)"
            names["#sk"] = sort_prefix[0]
            values[":prefix"] = to_attr(sort_prefix[1])
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if index:
            kwargs["IndexName"] = index
        if start_key:
            kwargs["ExclusiveStartKey"] = to_item(start_key)
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
            for k, v in (filter_values or {}).items():
                values[k] = to_attr(v)
            if "#status" in filter_expression:
                names["#status"] = "status"
        response = self._call("query", **kwargs)
        last = response.get("LastEvaluatedKey")
        return [from_item(i) for i in response.get("Items", [])], (from_item(last) if last else None)

    def count(self, *, pk: str, sort_prefix: str) -> int:
        total, start = 0, None
        while True:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": to_item({":pk": pk, ":prefix": sort_prefix}),
                "Select": "COUNT",
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._call("query", **kwargs)
            total += int(response.get("Count", 0))
            start = response.get("LastEvaluatedKey")
            if not start:
                return total


class CancellationReason:
    """Why one operation of a cancelled transaction failed ("None" when it did not), with the item as it
    was when its condition failed (if ReturnValuesOnConditionCheckFailure=ALL_OLD was asked)."""

    def __init__(self, code: str, item: dict[str, Any] | None):
        self.code = code
        self.item = item

    @property
    def condition_failed(self) -> bool:
        return self.code == "ConditionalCheckFailed"


class TransactionCancelled(Exception):
    def __init__(self, reasons: list[CancellationReason]):
        super().__init__("transaction cancelled: " + ", ".join(r.code for r in reasons))
        self.reasons = reasons

    def reason(self, index: int) -> CancellationReason:
        return self.reasons[index] if index < len(self.reasons) else CancellationReason("None", None)


def update_operation(
    pk: str,
    sk: str,
    *,
    set_values: dict[str, Any],
    condition: str | None = None,
    condition_values: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The UpdateItem arguments (also usable as a transaction's Update) for SET/REMOVE under a condition."""
    names = {f"#a{i}": name for i, name in enumerate(set_values)}
    values = {f":v{i}": to_attr(value) for i, value in enumerate(set_values.values())}
    expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(set_values)))
    if remove:
        names.update({f"#r{i}": name for i, name in enumerate(remove)})
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
    kwargs: dict[str, Any] = {
        "Key": to_item({"pk": pk, "sk": sk}),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if condition:
        kwargs["ConditionExpression"] = condition
        kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        values.update({k: to_attr(v) for k, v in (condition_values or {}).items()})
        names.update({"#status": "status"} if "#status" in condition else {})
    return kwargs
