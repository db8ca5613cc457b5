"""The local stack and the tests rely on local/moto_atomic.py to make moto's DynamoDB item operations
atomic under threads (the credits ledger is tested with racing requests). If a moto upgrade renames
what it wraps, this fails loudly instead of letting races pass or fail by luck."""

from __future__ import annotations

import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

from local import moto_atomic


def test_every_wrapped_operation_exists_in_moto() -> None:
    missing = [name for name in moto_atomic._OPERATIONS if not callable(getattr(DynamoDBBackend, name, None))]
    assert missing == []
    assert callable(getattr(DynamoHandler, "call_action", None))


def test_install_wraps_and_uninstall_restores() -> None:
    original = DynamoDBBackend.transact_write_items
    moto_atomic.install()
    try:
        assert getattr(DynamoDBBackend.transact_write_items, "__avatarsmith_atomic__", False)
        assert getattr(DynamoHandler.call_action, "__avatarsmith_atomic__", False)
        moto_atomic.install()  # twice is harmless
        assert DynamoDBBackend.transact_write_items.__wrapped__ is moto_atomic._transact_write_items  # type: ignore[attr-defined]
        assert isinstance(moto_atomic._LOCK, type(threading.RLock()))
    finally:
        moto_atomic.uninstall()
    assert DynamoDBBackend.transact_write_items is original
