"""A real webhook receiver on loopback (stdlib http.server) that tests script and inspect.

Each request's raw body and headers are kept; `answers` is a list of (status, delay seconds, extra
headers) consumed one per request (the last one repeats).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    answers: list[tuple[int, float, dict[str, str]]] = field(default_factory=lambda: [(200, 0.0, {})])
    received: list[Received] = field(default_factory=list)
    fail_first_per_id: int = 0  # if set: answer 500 to the first N requests of each webhook-id
    reply_body: bytes = b"ok"
    _server: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/avatarsmith"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                        )
                    )
                    index = min(len(receiver.received), len(receiver.answers)) - 1
                    status, delay, headers = receiver.answers[index]
                    if receiver.fail_first_per_id:
                        webhook_id = self.headers.get("webhook-id")
                        seen = sum(1 for r in receiver.received if r.headers.get("webhook-id") == webhook_id)
                        status = 500 if seen <= receiver.fail_first_per_id else 200
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(receiver.reply_body)))
                    self.end_headers()
                    self.wfile.write(receiver.reply_body)
                except OSError:
                    pass  # the sender gave up (timeout) and closed the connection

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} webhook(s), got {len(self.received)}")
