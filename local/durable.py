"""Durable local state: what the emulator acknowledged survives `kill -9`.

A WSGI middleware around the emulator's app (so it works wherever the emulator runs) journals every
successful mutating DynamoDB and S3 request: the request is applied, its answer is collected, and only
when it succeeded are the items and objects it touched recorded as they now are (`durable_state`),
appended to `journal-<generation>.log`, flushed and fsync'd; then the client gets the answer. Mutating
requests pass one at a time (DynamoDB writes are serialised by the emulator anyway), so each record is
the state right after its own request, and the journal's order is the order of the writes.

Compaction: a snapshot (every table item; every object's metadata, its bytes content-addressed under
`blobs/`) is written for generation N+1 while writes are paused; the journal starts afresh for N+1. It
comes after `compact_every` journal entries, or after as many entries as the last snapshot had records
when that is more: a snapshot costs in proportion to the state, so compacting at a fixed count made
each write cost more as the state grew; this way the journal never outgrows the state it replays into
and the compaction work per write stays constant.
The snapshot file names its generation, so a crash between the two steps replays nothing twice.

Recovery (`POST /_avatarsmith/durable/recover`, sent once the tables and buckets exist): load the snapshot,
apply its journal, compact, then start journaling. The table and the bucket are the source of truth;
queues and executions are rebuilt from them by the caller (the reaper).

State folder layout: snapshot.json, journal-<n>.log, blobs/<sha256>.
"""

from __future__ import annotations

import collections
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .durable_state import apply, changes_after, collect_blobs, fsync_dir, restore_snapshot, take_snapshot
from .private_files import make_private_dir, open_private, tighten, write_private

log = logging.getLogger("avatarsmith.local.durable")

RECOVER_PATH = "/_avatarsmith/durable/recover"
COMPACT_PATH = "/_avatarsmith/durable/compact"
STATS_PATH = "/_avatarsmith/durable/stats"
SNAPSHOT_FILE = "snapshot.json"
DEFAULT_COMPACT_EVERY = (
    2000  # journal entries (or the snapshot's records, when more); bounds a restart's replay
)

_DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _service_of(environ: dict[str, Any]) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith("DynamoDB_"):
        return "dynamodb"
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "/s3/aws4_request" in auth:
        return "s3"
    return None


def is_mutating(environ: dict[str, Any]) -> bool:
    """A request that changes a table item or a bucket object (bucket settings are provisioning's job)."""
    service = _service_of(environ)
    if service == "dynamodb":
        return environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2] in _DYNAMODB_WRITES
    if service == "s3":
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/").strip("/")
        has_key = "/" in path  # path-style addressing: /bucket/key
        if method in ("PUT", "DELETE") and has_key:
            return True
        return method == "POST" and ("delete" in environ.get("QUERY_STRING", "") or has_key)
    return False


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return bytes(stream.read(int(length)))
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


class DurableApp:
    """The WSGI middleware. Until `recover` has run it only passes requests through."""

    def __init__(self, app: WsgiApp, state_dir: Path, *, compact_every: int = DEFAULT_COMPACT_EVERY):
        self.app = app
        self.state_dir = Path(state_dir)
        self.compact_every = compact_every
        self._write_lock = threading.RLock()
        self._journal: io.BufferedWriter | None = None
        self._generation = 0
        self._entries = 0
        self._snapshot_records = 0  # items and objects in the last snapshot
        self.stats: dict[str, Any] = {"writes": 0, "journal_seconds": 0.0, "compactions": 0}
        self._samples: collections.deque[float] = collections.deque(maxlen=10_000)  # seconds per append

    # -- request path -----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_avatarsmith/durable/"):
            return self._control(path, start_response)
        if self._journal is None or not is_mutating(environ):
            return self.app(environ, start_response)
        body = _read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        service = _service_of(environ) or ""
        with self._write_lock:
            status, headers, chunks = self._call_collect(environ)
            if status.startswith("2"):
                started = time.perf_counter()
                self._append(changes_after(service, environ, body, self.state_dir / "blobs"))
                self.stats["writes"] += 1
                spent = time.perf_counter() - started
                self.stats["journal_seconds"] += spent
                self._samples.append(spent)
                if self._entries >= max(self.compact_every, self._snapshot_records):
                    self._compact()
        start_response(status, headers)
        return chunks

    def _call_collect(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            chunks = [bytes(c) for c in result]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return captured["status"], captured["headers"], chunks

    def _append(self, records: list[dict[str, Any]]) -> None:
        assert self._journal is not None
        self._journal.write(b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records))
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self._entries += len(records)

    def _control(self, path: str, start_response: Callable[..., Any]) -> list[bytes]:
        try:
            answer = self._control_answer(path)
            status = "200 OK"
        except Exception as exc:  # the caller (the stack's start) shows it and stops
            log.exception("durable state: %s failed", path)
            answer, status = {"error": f"{type(exc).__name__}: {exc}"}, "500 Internal Server Error"
        data = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def _control_answer(self, path: str) -> dict[str, Any]:
        if path == RECOVER_PATH:
            answer = self.recover()
        elif path == COMPACT_PATH:
            with self._write_lock:
                answer = self._compact()
        else:
            ordered = sorted(self._samples)
            percentiles = {f"append_p{q}_ms": ordered[int(len(ordered) * q / 100)] * 1000 for q in (50, 90)}
            answer = {
                **self.stats,
                **(percentiles if ordered else {}),
                "generation": self._generation,
                "journal_entries": self._entries,
            }
        return answer

    # -- recovery and compaction --------------------------------------------------------------------
    def recover(self) -> dict[str, Any]:
        """Load the snapshot and replay its journal into the (freshly provisioned) emulator."""
        with self._write_lock:
            started = time.perf_counter()
            make_private_dir(self.state_dir)
            make_private_dir(self.state_dir / "blobs")
            snapshot = self._read_snapshot()
            generation = int(snapshot.get("generation", 0))
            items, objects = restore_snapshot(snapshot, self.state_dir / "blobs")
            journal = self.state_dir / f"journal-{generation}.log"
            replayed, failed = self._replay(journal)
            self._generation = generation
            loaded = time.perf_counter() - started
            compacted: dict[str, Any] = {}
            if not snapshot or replayed + failed >= self.compact_every // 2:
                compacted = self._compact()
            else:  # a short journal: keep appending to it (compaction comes at the threshold)
                self._journal = open_private(journal, "ab")  # type: ignore[assignment]
                self._entries = replayed + failed
                self._snapshot_records = _records_in(snapshot)
            answer = {
                "items": items,
                "objects": objects,
                "replayed": replayed,
                "replay_failed": failed,
                "load_seconds": round(loaded, 3),
                "seconds": round(time.perf_counter() - started, 3),
                **compacted,
            }
            log.info("durable state recovered: %s", answer)
            return answer

    def _read_snapshot(self) -> dict[str, Any]:
        path = self.state_dir / SNAPSHOT_FILE
        if not path.exists():
            return {}
        return dict(json.loads(path.read_bytes()))

    def _replay(self, journal: Path) -> tuple[int, int]:
        if not journal.exists():
            return 0, 0
        replayed = failed = 0
        blobs = self.state_dir / "blobs"
        good = 0  # bytes of whole records
        with journal.open("rb") as fh:
            for line in fh:
                try:
                    record = json.loads(line) if line.endswith(b"\n") else None
                except ValueError:
                    record = None
                if record is None:  # a torn last line: that write was never acknowledged
                    log.warning("dropping an incomplete journal line at the end of %s", journal.name)
                    break
                good += len(line)
                if apply(record, blobs):
                    replayed += 1
                else:
                    failed += 1
                    log.warning("journal record for a table or bucket that no longer exists: %s", record["t"])
        if good < journal.stat().st_size:  # cut the torn tail, so records appended later stay readable
            with journal.open("r+b") as fh:
                fh.truncate(good)
                os.fsync(fh.fileno())
        return replayed, failed

    def _compact(self) -> dict[str, Any]:
        """Snapshot generation N+1 and start its empty journal. Runs with writes paused."""
        started = time.perf_counter()
        generation = self._generation + 1
        snapshot = take_snapshot(self.state_dir / "blobs")
        snapshot["generation"] = generation
        self._snapshot_records = _records_in(snapshot)
        tmp = self.state_dir / f"{SNAPSHOT_FILE}.tmp"
        with open_private(tmp, "wb") as fh:
            fh.write(json.dumps(snapshot, separators=(",", ":")).encode())
            fh.flush()
            os.fsync(fh.fileno())
        journal_path = self.state_dir / f"journal-{generation}.log"
        new_journal: Any = open_private(journal_path, "ab")
        os.replace(tmp, self.state_dir / SNAPSHOT_FILE)
        fsync_dir(self.state_dir)
        if self._journal is not None:
            self._journal.close()
        self._journal = new_journal
        self._generation = generation
        self._entries = 0
        for old in self.state_dir.glob("journal-*.log"):
            if old != journal_path:
                old.unlink()
        collect_blobs(self.state_dir / "blobs", snapshot)
        seconds = round(time.perf_counter() - started, 3)
        self.stats["last_compaction_seconds"] = seconds
        self.stats["compactions"] += 1
        self.stats["compaction_seconds"] = self.stats.get("compaction_seconds", 0.0) + seconds
        return {"generation": generation, "compact_seconds": seconds}

    def close(self) -> None:
        with self._write_lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None


def _records_in(snapshot: dict[str, Any]) -> int:
    items = sum(len(table.get("items", [])) for table in snapshot.get("tables", []))
    return items + sum(len(bucket.get("objects", [])) for bucket in snapshot.get("buckets", []))


# -- wiring -------------------------------------------------------------------------------------------
def durable_moto_server(ip_address: str, port: int, state_dir: Path, credentials: Any = None) -> Any:
    """The emulator's server with its app wrapped in DurableApp (`.durable` is the middleware)."""
    from .emulator_server import EmulatorServer

    class DurableEmulatorServer(EmulatorServer):
        durable: DurableApp

        def stop(self) -> None:
            super().stop()
            self.durable.close()

    def wrap(app: Any) -> DurableApp:
        server.durable = DurableApp(app, state_dir)
        return server.durable

    server = DurableEmulatorServer(ip_address, port, wrap=wrap, credentials=credentials)
    return server


def control_call(moto_url: str, path: str, timeout: float = 600) -> dict[str, Any]:
    """Call one of the emulator's durable-state paths (RECOVER_PATH, COMPACT_PATH, STATS_PATH), signed
    with this process's credentials (the stack's: the emulator refuses anything else)."""
    import urllib.request

    from .emulator_auth import credentials_from_env, sign_headers

    url = moto_url + path
    headers = sign_headers(credentials_from_env(), "POST", url)
    request = urllib.request.Request(url, method="POST", data=b"", headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback emulator
        return dict(json.loads(response.read()))


def recover(moto_url: str, timeout: float = 600) -> dict[str, Any]:
    """Ask the emulator (wherever it runs) to load the state folder. Call after provisioning."""
    import urllib.error

    try:
        return control_call(moto_url, RECOVER_PATH, timeout)
    except urllib.error.HTTPError as exc:
        raise RuntimeError(
            f"the state folder could not be loaded: {exc.read().decode(errors='replace')}"
        ) from exc


DEMO_FILE = "demo-tenant.json"


def demo_tenant(state_dir: Path, create: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """The demo tenant of this state folder: created (and remembered) on the first start only."""
    path = Path(state_dir) / DEMO_FILE
    if path.exists():
        saved = json.loads(path.read_text())
        return str(saved["tenant_id"]), str(saved["api_key"])
    tenant_id, api_key = create()
    write_private(path, json.dumps({"tenant_id": tenant_id, "api_key": api_key}) + "\n")  # the demo key
    fsync_dir(Path(state_dir))
    return tenant_id, api_key


def lock_state_dir(state_dir: Path) -> int:
    """Hold the folder's lock for this process's lifetime (the OS drops it on any exit, kill -9 too).
    Raises BlockingIOError when another stack uses the folder."""
    import fcntl

    make_private_dir(Path(state_dir))
    fd = os.open(Path(state_dir) / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise
    tighten(Path(state_dir))  # a folder left by an older version (0755, files 0644) holds secrets too
    return fd


def reset_state_dir(state_dir: Path) -> None:
    """Forget everything the folder holds (the next start is empty)."""
    import shutil

    if Path(state_dir).exists():
        shutil.rmtree(state_dir)
