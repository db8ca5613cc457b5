"""Make moto's DynamoDB writes atomic under threads, as DynamoDB itself is.

moto checks a condition and then writes, and rolls a cancelled transaction back by restoring a deep copy
of the whole table: with concurrent requests (the threaded moto server, or tests racing threads against
the in-process mock) two conditional writes can both pass, and a rollback can erase another thread's
committed write. Real DynamoDB serialises writes per item and transactions are all-or-nothing, and the
credits ledger relies on that; one re-entrant lock around the backend's item operations restores it.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

_LOCK = threading.RLock()
_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "transact_write_items",
    "transact_get_items",
)
_HANDLER_OPERATIONS = ("call_action",)
_REPLACED = ("transact_write_items",)
_originals: dict[str, Any] = {}
_handler_originals: dict[str, Any] = {}


def install() -> None:
    if _originals:
        return
    for name in _HANDLER_OPERATIONS:
        _handler_originals[name] = getattr(DynamoHandler, name)
        setattr(DynamoHandler, name, _locked(_handler_originals[name]))
    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue
        _originals[name] = original
        replacement = _transact_write_items if name in _REPLACED else original
        setattr(DynamoDBBackend, name, _locked(replacement))


def uninstall() -> None:
    for name, original in _originals.items():
        setattr(DynamoDBBackend, name, original)
    _originals.clear()
    for name, original in _handler_originals.items():
        setattr(DynamoHandler, name, original)
    _handler_originals.clear()


def _locked(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    wrapper.__avatarsmith_atomic__ = True  # type: ignore[attr-defined]
    return wrapper


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's TransactWriteItems semantics (cancellation reasons, ALL_OLD items, one operation per item)
    with every condition checked before anything is written. Runs under the lock."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    seen: set[tuple[str, str]] = set()
    planned: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    errors: list[Any] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        table = self.get_table(table_name)
        if op_type == "Put":
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        marker = (str(table_name), str(dict(sorted(key.items()))))
        if marker in seen:
            raise MultipleTransactionsException()
        seen.add(marker)
        planned.append((op_type, op, key))
        condition = op.get("ConditionExpression")
        current = self.get_item(table_name, key)
        if condition is not None:
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not check.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    for op_type, op, key in planned:  # every condition holds, and nobody else can write meanwhile
        names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
        if op_type == "Put":
            self.put_item(op["TableName"], op["Item"])
        elif op_type == "Update":
            self.update_item(
                op["TableName"],
                key,
                update_expression=op["UpdateExpression"],
                expression_attribute_names=names,  # type: ignore[arg-type]
                expression_attribute_values=values,  # type: ignore[arg-type]
            )
        elif op_type == "Delete":
            self.delete_item(op["TableName"], key)
