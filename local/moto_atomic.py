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
        setattr(DynamoDBBackend, name, _locked(original))


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
