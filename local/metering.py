"""Usage records for `make cost`: every handler invocation's duration and the AWS requests it made.

Off unless AVATARSMITH_METER_FILE names a JSON-lines file. One line is appended per invocation (a single
`write` on a file opened for appending), so several processes can share the file.

`invocation(...)` wraps each handler call where the handler runs: inside the function's worker process
(local/lambda_worker.py, which returns the record in its reply for the stack to append) or, for
in-process tests, around the call in the calling thread. The botocore hooks (installed for every
session created afterwards) attribute each request to the invocation running in the same thread or task,
and size DynamoDB items (moto's ConsumedCapacity is a constant, so units are computed from item sizes the
way DynamoDB bills them).
"""

from __future__ import annotations

import contextvars
import json
import math
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

METER_FILE_ENV = "AVATARSMITH_METER_FILE"

_totals_lock = threading.Lock()  # worker threads add to the same invocation's totals
_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("meter", default=None)
_installed = False


def enabled() -> bool:
    return bool(os.environ.get(METER_FILE_ENV))


@contextmanager
def invocation(function: str, memory_mb: int, *, write: bool = True) -> Iterator[dict[str, Any] | None]:
    """Time one handler invocation and collect the AWS requests made while it runs.

    Yields the record (None when metering is off), complete once the block exits; `write=False` leaves
    appending it to the caller (a worker process returns it in its reply instead).
    """
    path = os.environ.get(METER_FILE_ENV)
    if not path:
        yield None
        return
    install()
    record: dict[str, Any] = {"function": function, "memory_mb": memory_mb, "calls": []}
    record.update(_overhead=0.0, _aws=0.0, _aws_cpu=0.0, _wait=0.0, _worker_cpu=0.0, _pending={})
    token = _current.set(record)
    start, cpu_start = time.perf_counter(), time.thread_time()
    try:
        yield record
    finally:
        # Handler time as a Lambda sandbox (one invocation at a time, its own CPU) would bill it: the
        # thread's CPU time, plus the time spent waiting on AWS requests, plus its own sleeps and waits
        # on other HTTP servers (`wait_ms`). The wall
        # clock here also counts waiting for the CPU behind other handlers sharing this process and
        # machine; it is kept for reference. The meter's own item reads count nowhere.
        # Work the handler hands to threads (the notifier delivers a batch in parallel) is added up: an
        # upper bound when it ran in parallel.
        overhead = record.pop("_overhead")
        aws, wait = record.pop("_aws"), record.pop("_wait")
        cpu = time.thread_time() - cpu_start + record.pop("_worker_cpu") - record.pop("_aws_cpu")
        record.pop("_pending")
        record["wall_ms"] = (time.perf_counter() - start - overhead) * 1000
        record["cpu_ms"], record["aws_ms"], record["wait_ms"] = cpu * 1000, aws * 1000, wait * 1000
        _current.reset(token)
        if write:
            append(path, record)


def append(path: str, record: dict[str, Any]) -> None:
    line = json.dumps(record, separators=(",", ":")) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)


def read(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --- botocore hooks ----------------------------------------------------------------------------------


def install() -> None:
    """Register the request hooks on every botocore session created from now on (idempotent)."""
    global _installed
    if _installed:
        return
    from botocore import handlers

    handlers.BUILTIN_HANDLERS.append(("provide-client-params", _before))
    handlers.BUILTIN_HANDLERS.append(("after-call", _after))
    time.sleep = _metered_sleep  # type: ignore[assignment]
    ThreadPoolExecutor.submit = _metered_submit  # type: ignore[method-assign,assignment]
    from requests.adapters import HTTPAdapter

    global _real_http_send
    _real_http_send = HTTPAdapter.send
    HTTPAdapter.send = _metered_http_send  # type: ignore[method-assign]
    _installed = True


_real_http_send: Any = None


def _metered_http_send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
    """Waits on other HTTP servers (webhook receivers, backends) count like sleeps."""
    record = _current.get()
    start, cpu_start = time.perf_counter(), time.thread_time()
    try:
        return _real_http_send(self, request, *args, **kwargs)
    finally:
        if record is not None:
            with _totals_lock:
                record["_wait"] += time.perf_counter() - start
                record["_aws_cpu"] += time.thread_time() - cpu_start


_real_submit = ThreadPoolExecutor.submit


def _metered_submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Attribute what a handler's worker threads do to the handler's invocation."""
    record = _current.get()
    if record is None:
        return _real_submit(self, fn, *args, **kwargs)

    def run() -> Any:
        token = _current.set(record)
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            with _totals_lock:
                record["_worker_cpu"] += time.thread_time() - start
            _current.reset(token)

    return _real_submit(self, run)


_real_sleep = time.sleep


def _metered_sleep(seconds: float) -> None:
    record = _current.get()
    start = time.perf_counter()
    _real_sleep(seconds)
    if record is not None:
        with _totals_lock:
            record["_wait"] += time.perf_counter() - start


def _before(params: dict[str, Any], model: Any, **_: Any) -> None:
    record = _current.get()
    if record is None:
        return
    call: dict[str, Any] = {"service": model.service_model.service_name, "operation": model.name}
    if call["service"] == "dynamodb":
        call["units"] = _dynamodb_write_units_before(model.name, params)
    elif model.name == "PutObject":
        body = params.get("Body", b"")
        call["bytes"] = len(body) if isinstance(body, bytes | str) else 0
    elif model.name == "PutEvents" or model.name == "SendMessageBatch":
        call["entries"] = len(params.get("Entries", []))
    pending = record["_pending"].setdefault(threading.get_ident(), [])
    pending.append((call, params, time.perf_counter(), time.thread_time()))


def _after(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
    record = _current.get()
    pending = record["_pending"].get(threading.get_ident()) if record is not None else None
    if record is None or not pending:
        return
    call, params, started, cpu_started = pending.pop()
    with _totals_lock:
        record["_aws"] += time.perf_counter() - started
        record["_aws_cpu"] += time.thread_time() - cpu_started
    if call["service"] == "dynamodb":
        call["units"] = _dynamodb_units(model.name, params, parsed, call.get("units"))
    record["calls"].append(call)


# --- DynamoDB capacity units from item sizes --------------------------------------------------------
# Reads: 4 KB units (eventually consistent = half); writes: 1 KB units of the larger of the item before
# and after; every global secondary index holding the item writes it again; transactions cost double.

GSI_KEYS = ("gsi1pk", "gsi2pk")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(attr: dict[str, Any]) -> int:
    ((kind, value),) = attr.items()
    if kind in ("S", "B"):
        return len(value.encode() if isinstance(value, str) else value)
    if kind == "N":
        return len(str(value).lstrip("-").replace(".", "")) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in value.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in value)
    return len(json.dumps(value))


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units if consistent else units / 2)


def _write_units(
    before: dict[str, Any] | None, after: dict[str, Any] | None, *, transactional: bool = False
) -> float:
    """The table write (doubled in a transaction) plus each index's writes (not doubled)."""
    size = max(item_size(before), item_size(after))
    units = float(max(1, math.ceil(size / 1024))) * (2 if transactional else 1)
    for key in GSI_KEYS:
        old, new = (before or {}).get(key), (after or {}).get(key)
        if old is None and new is None:
            continue
        per_index = max(1, math.ceil(item_size(after or before) / 1024))
        units += per_index * (2 if old is not None and new is not None and old != new else 1)
    return units


def _peek(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The item as stored now, read with a client the hooks ignore (nothing is billed for it)."""
    record = _current.get()
    token = _current.set(None)
    start = time.perf_counter()
    try:
        from avatarsmith.dal.clients import client

        return client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    finally:
        _current.reset(token)
        if record is not None:
            with _totals_lock:
                record["_overhead"] += time.perf_counter() - start


def _write_targets(operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, table, key) for every item a write request touches."""
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        key = params.get("Key") or {k: params["Item"][k] for k in ("pk", "sk") if k in params["Item"]}
        return [(operation, params["TableName"], key)]
    if operation == "TransactWriteItems":
        targets = []
        for entry in params["TransactItems"]:
            ((kind, op),) = entry.items()
            key = op.get("Key") or {k: op["Item"][k] for k in ("pk", "sk") if k in op["Item"]}
            targets.append((kind, op["TableName"], key))
        return targets
    if operation == "BatchWriteItem":
        targets = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                ((kind, op),) = request.items()
                key = op.get("Key") or {k: op["Item"][k] for k in ("pk", "sk") if k in op["Item"]}
                targets.append((kind, table, key))
        return targets
    return []


def _dynamodb_write_units_before(operation: str, params: dict[str, Any]) -> list[Any]:
    return [(kind, table, key, _peek(table, key)) for kind, table, key in _write_targets(operation, params)]


def _dynamodb_units(
    operation: str, params: dict[str, Any], parsed: dict[str, Any], before: Any
) -> dict[str, float]:
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return {"read": _read_units(item_size(parsed.get("Item")), consistent)}
    if operation in ("Query", "Scan"):
        size = sum(item_size(i) for i in parsed.get("Items", []))
        return {"read": _read_units(size, consistent)}
    if operation == "BatchGetItem":
        read = 0.0
        for table, items in parsed.get("Responses", {}).items():
            strong = bool(params["RequestItems"].get(table, {}).get("ConsistentRead"))
            read += sum(_read_units(item_size(i), strong) for i in items)
        return {"read": read}
    if operation == "TransactGetItems":
        return {
            "read": sum(2 * _read_units(item_size(r.get("Item")), True) for r in parsed.get("Responses", []))
        }
    write = 0.0
    transactional = operation == "TransactWriteItems"
    for kind, table, key, old in before or []:
        if kind == "ConditionCheck":
            write += 2 * max(1, math.ceil(item_size(old) / 1024))
            continue
        new = None if kind in ("Delete", "DeleteRequest", "DeleteItem") else _peek(table, key)
        write += _write_units(old, new, transactional=transactional)
    return {"write": write}
