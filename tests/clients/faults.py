"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the local stack.

Each request takes the next step of a script: `"pass"` forwards it; `"drop"` forwards it, lets the API
do the work (and charge), then closes the connection without a reply, as a lost response does; `"429"`
answers 429 with `Retry-After` without forwarding. Every request is recorded with its Idempotency-Key and
the upstream status, so a test can prove what the server saw.
"""

from __future__ import annotations

import http.client
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    step: str
    upstream_status: int | None


class FaultProxy:
    def __init__(self, upstream: str, script: list[str] | None = None, *, retry_after: str = "1"):
        target = urlsplit(upstream)
        self.upstream_host = target.hostname or "127.0.0.1"
        self.upstream_port = target.port or 80
        self.script = list(script or [])
        self.retry_after = retry_after
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                proxy.handle(self)

            do_GET = do_POST = do_DELETE = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next_step(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else "pass"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        step = self._next_step()
        key = request.headers.get("Idempotency-Key")
        if step == "429":
            self.seen.append(Seen(request.command, request.path, key, step, None))
            payload = b'{"error":{"code":"rate_limited","message":"slow down","request_id":"proxy"}}'
            request.send_response(429)
            request.send_header("Content-Type", "application/json")
            request.send_header("Retry-After", self.retry_after)
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(request.command, request.path, body=body or None, headers=headers)
        reply = upstream.getresponse()
        data = reply.read()
        upstream.close()
        self.seen.append(Seen(request.command, request.path, key, step, reply.status))
        if step == "drop":
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        request.send_response(reply.status)
        for name, value in reply.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "server", "date"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


class StuckJobServer:
    """An API that says every job is still `processing`, holding each read as `Prefer: wait` asks
    (capped at `hold_cap` seconds): the SDK's wait deadline must end the call, not the server."""

    def __init__(self, hold_cap: float = 0.3):
        self.reads = 0
        self.cancels = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                import time

                server.reads += 1
                prefer = self.headers.get("Prefer", "")
                wait = float(prefer.split("=", 1)[1]) if prefer.startswith("wait=") else 0.0
                time.sleep(min(wait, hold_cap))
                self._reply(200, server.job("processing"))

            def do_POST(self) -> None:
                server.cancels += 1
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self._reply(200, server.job("canceled"))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def job(status: str) -> bytes:
        return (
            b'{"id":"job_stuck","object":"job","status":"' + status.encode() + b'",'
            b'"created_at":"2026-01-01T00:00:00Z","avatars":[{"index":0,"status":"'
            + status.encode()
            + b'"}]}'
        )

    def __enter__(self) -> StuckJobServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
