"""The emulator's table items and bucket objects as durable records (runs in the emulator's process).

A record states what one item or object *is* after a write (or that it is gone), so replaying records
is a direct insert into moto's backends, not a re-run of requests through the HTTP stack (about 30x
faster, and the same result whatever order conditions were checked in). Object bytes live in `blobs/`,
named by their SHA-256, written and fsync'd before the record that names them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from html import unescape
from pathlib import Path
from typing import Any

from .private_files import open_private

Record = dict[str, Any]


# -- finding the backends ------------------------------------------------------------------------------
def _dynamodb_backends() -> Iterable[tuple[str, str, Any]]:
    from moto.dynamodb.models import dynamodb_backends

    for account_id, regions in dynamodb_backends.items():
        for region, backend in regions.items():
            yield account_id, region, backend


def _s3_backends() -> Iterable[tuple[str, str, Any]]:
    from moto.s3.models import s3_backends

    for account_id, partitions in s3_backends.items():
        for partition, backend in partitions.items():
            yield account_id, partition, backend


def _table(name: str) -> tuple[str, str, Any] | None:
    for account_id, region, backend in _dynamodb_backends():
        if name in backend.tables:
            return account_id, region, backend.tables[name]
    return None


def _bucket(name: str) -> tuple[str, str, Any] | None:
    for account_id, partition, backend in _s3_backends():
        if name in backend.buckets:
            return account_id, partition, backend
    return None


# -- what a successful request changed ------------------------------------------------------------------
def changes_after(service: str, environ: dict[str, Any], body: bytes, blobs: Path) -> list[Record]:
    """Records of every item/object the (successful) request touched, as they are now."""
    if service == "dynamodb":
        return [_item_record(table, key) for table, key in _dynamodb_keys(environ, body)]
    return [_object_record(bucket, key, blobs) for bucket, key in _s3_keys(environ, body)]


def _dynamodb_keys(environ: dict[str, Any], body: bytes) -> list[tuple[str, dict[str, Any]]]:
    operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
    request = json.loads(body or b"{}")
    touched: list[tuple[str, dict[str, Any]]] = []
    if operation == "PutItem":
        touched.append((request["TableName"], _key_of(request["TableName"], request["Item"])))
    elif operation in ("UpdateItem", "DeleteItem"):
        touched.append((request["TableName"], request["Key"]))
    elif operation == "BatchWriteItem":
        for table_name, writes in request.get("RequestItems", {}).items():
            for write in writes:
                if "PutRequest" in write:
                    touched.append((table_name, _key_of(table_name, write["PutRequest"]["Item"])))
                elif "DeleteRequest" in write:
                    touched.append((table_name, write["DeleteRequest"]["Key"]))
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems", []):
            kind, op = next(iter(entry.items()))
            if kind == "Put":
                touched.append((op["TableName"], _key_of(op["TableName"], op["Item"])))
            elif kind in ("Update", "Delete"):
                touched.append((op["TableName"], op["Key"]))
    return touched


def _key_of(table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    found = _table(table_name)
    if found is None:
        return {}
    table = found[2]
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {n: item[n] for n in names if n in item}


def _key_values(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _item_record(table_name: str, key: dict[str, Any]) -> Record:
    found = _table(table_name)
    if found is None or not key:
        return {"t": "skip"}
    account_id, region, table = found
    where = {"account": account_id, "region": region, "table": table_name}
    item = table.get_item(*_key_values(table, key))
    if item is None:
        return {"t": "noitem", **where, "key": key}
    return {"t": "item", **where, "item": item.to_json()["Attributes"]}


def _s3_keys(environ: dict[str, Any], body: bytes) -> list[tuple[str, str]]:
    raw = environ.get("PATH_INFO", "/").lstrip("/")
    path = raw.encode("latin-1").decode("utf-8", "replace")
    bucket, _, key = path.partition("/")
    query = environ.get("QUERY_STRING", "")
    if environ.get("REQUEST_METHOD") == "POST" and "delete" in query and not key:
        keys = re.findall(r"<Key>(.*?)</Key>", body.decode("utf-8", "replace"), flags=re.S)
        return [(bucket, unescape(k)) for k in keys]
    if not key or ("uploadId" in query and environ.get("REQUEST_METHOD") == "PUT") or "uploads" in query:
        return []  # multipart parts and starts: only the completed object counts
    return [(bucket, key)]


def _object_record(bucket_name: str, key_name: str, blobs: Path) -> Record:
    found = _bucket(bucket_name)
    if found is None:
        return {"t": "skip"}
    account_id, partition, backend = found
    where = {"account": account_id, "partition": partition, "bucket": bucket_name, "key": key_name}
    key = backend.buckets[bucket_name].keys.get(key_name)
    if key is None:
        return {"t": "noobject", **where}
    digest = store_blob(blobs, key.value)
    return {"t": "object", **where, "sha256": digest, "metadata": dict(key.metadata)}


# -- applying records ------------------------------------------------------------------------------------
def apply(record: Record, blobs: Path) -> bool:
    """Put one record's state into the backends. False when its table or bucket no longer exists."""
    kind = record["t"]
    if kind in ("item", "noitem"):
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[record["account"]][record["region"]]
        table = backend.tables.get(record["table"])
        if table is None:
            return False
        if kind == "item":
            insert_item(table, record["item"])
        else:
            table.delete_item(*_key_values(table, record["key"]))
        return True
    if kind in ("object", "noobject"):
        from moto.s3.models import s3_backends

        s3 = s3_backends[record["account"]][record["partition"]]
        if record["bucket"] not in s3.buckets:
            return False
        if kind == "object":
            data = (blobs / record["sha256"]).read_bytes()
            key = s3.put_object(record["bucket"], record["key"], data, disable_notification=True)
            key.set_metadata(dict(record["metadata"]), replace=True)
        else:
            keys = s3.buckets[record["bucket"]].keys
            if record["key"] in keys:
                keys.pop(record["key"])
        return True
    return kind == "skip"


def insert_item(table: Any, attrs: dict[str, Any]) -> None:
    """moto's put_item without the checks (the item was valid when it was first written). moto's Item()
    re-sums the item's size on every attribute it sets, which made restoring 20,000 items take ~10 s;
    filling its size-checked dict in one update skips that."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    hash_key, range_key = _key_values(table, attrs)
    item: Any = Item.__new__(Item)
    item.hash_key, item.range_key = hash_key, range_key
    item.attrs = LimitedSizeDict({name: DynamoType(value) for name, value in attrs.items()})
    if range_key is not None:
        table.items[hash_key][range_key] = item
    else:
        table.items[hash_key] = item


# -- snapshots -------------------------------------------------------------------------------------------
def take_snapshot(blobs: Path) -> dict[str, Any]:
    tables: list[dict[str, Any]] = []
    for account_id, region, backend in _dynamodb_backends():
        for name, table in backend.tables.items():
            items = [item.to_json()["Attributes"] for item in _unsorted_items(table)]
            tables.append({"account": account_id, "region": region, "name": name, "items": items})
    buckets: list[dict[str, Any]] = []
    for account_id, partition, backend in _s3_backends():
        for name, bucket in backend.buckets.items():
            objects = [
                {
                    "key": key_name,
                    "sha256": store_blob(blobs, key.value, sync=False),
                    "metadata": dict(key.metadata),
                }
                for key_name, key in list(bucket.keys.items())
            ]
            buckets.append({"account": account_id, "partition": partition, "name": name, "objects": objects})
    fsync_dir(blobs)
    return {"tables": tables, "buckets": buckets}


def _unsorted_items(table: Any) -> Iterable[Any]:
    """Every item of a table, in no particular order: moto's `all_items` sorts them all by key first, which
    was two thirds of a snapshot's time (and a snapshot pauses every write)."""
    for stored in list(table.items.values()):
        if table.range_key_attr:
            yield from list(stored.values())
        else:
            yield stored


def restore_snapshot(snapshot: dict[str, Any], blobs: Path) -> tuple[int, int]:
    items = objects = 0
    for table in snapshot.get("tables", []):
        for attrs in table["items"]:
            record = {
                "t": "item",
                "account": table["account"],
                "region": table["region"],
                "table": table["name"],
            }
            items += apply({**record, "item": attrs}, blobs)
    for bucket in snapshot.get("buckets", []):
        where = {"t": "object", "account": bucket["account"], "partition": bucket["partition"]}
        for obj in bucket["objects"]:
            objects += apply({**where, "bucket": bucket["name"], **obj}, blobs)
    return items, objects


# -- blobs -----------------------------------------------------------------------------------------------
def store_blob(blobs: Path, value: bytes, *, sync: bool = True) -> str:
    """Write the bytes under their SHA-256 (once), durably before returning when `sync`."""
    digest = hashlib.sha256(value).hexdigest()
    path = blobs / digest
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with open_private(tmp, "wb") as fh:
            fh.write(value)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        if sync:
            fsync_dir(blobs)
    return digest


def collect_blobs(blobs: Path, snapshot: dict[str, Any]) -> None:
    """Remove blobs no object of the current snapshot refers to."""
    live = {o["sha256"] for b in snapshot.get("buckets", []) for o in b["objects"]}
    for blob in blobs.iterdir():
        if blob.name not in live:
            blob.unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
