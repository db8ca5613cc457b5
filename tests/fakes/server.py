"""Real HTTP servers on 127.0.0.1 that speak each provider's documented protocol, with scriptable
failure modes (throttling with Retry-After, 5xx, auth, quota, moderation, slow jobs).

Each fake keeps the calls it received so tests can assert what the adapter sent (and that it cancelled).
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

Reply = tuple[int, dict[str, str], bytes]


def png(width: int, height: int, colour: str = "teal") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Fault:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider:
    """Subclasses implement `route(req) -> label` and `serve(label, req) -> Reply`."""

    key = "test-key"

    def __init__(self) -> None:
        self.url = ""
        self.calls: list[tuple[str, str]] = []
        self.requests: list[Request] = []
        self.faults: dict[str, list[Fault]] = {}
        self.polls_needed = 2
        self.moderate: set[int] = set()  # task numbers (0-based, in submit order) whose output is blocked
        self.lock = threading.Lock()

    def fail(
        self, label: str, status: int, body: Any = None, headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        self.faults.setdefault(label, []).extend(
            Fault(status, body or {}, headers or {}) for _ in range(times)
        )

    def count(self, label: str) -> int:
        return sum(1 for lbl, _ in self.calls if lbl == label)

    def authorised(self, req: Request) -> bool:
        return True

    def route(self, req: Request) -> str:
        raise NotImplementedError

    def serve(self, label: str, req: Request) -> Reply:
        raise NotImplementedError

    def handle(self, req: Request) -> Reply:
        with self.lock:
            label = self.route(req)
            self.calls.append((label, req.path))
            self.requests.append(req)
            if not self.authorised(req):
                return json_reply(401, {"error": {"message": "invalid credentials"}})
            queued = self.faults.get(label)
            if queued:
                fault = queued.pop(0)
                return json_reply(fault.status, fault.body, fault.headers)
            return self.serve(label, req)


@contextmanager
def serve(provider: FakeProvider) -> Iterator[FakeProvider]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = (
            True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls
        )

        def log_message(self, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            req = Request(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            try:
                status, headers, payload = provider.handle(req)
            except (
                Exception
            ) as exc:  # a bug in the fake shows up as a 500 the adapter must treat as retryable
                status, headers, payload = 500, {}, repr(exc).encode()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def b64png(width: int, height: int, colour: str = "teal") -> str:
    return base64.b64encode(png(width, height, colour)).decode()
