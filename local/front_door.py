"""The API port's connection handling: slow clients are cut off and threads stay bounded.

`ThreadingHTTPServer` gives every connection a thread that blocks reading it: a client sending its
headers a byte a second (or declaring a body it never sends) held a thread for as long as it liked, and
200 such clients held 200 threads. Here one thread (the selector loop) accepts every connection and
reads every request, without blocking, until the request is whole: its headers, then the body its
framing declares (Content-Length bytes, or a chunked body up to its last chunk). Only a whole request
goes to a bounded pool of threads, which runs the handler on the bytes already read and writes the
answer; a kept-alive connection then goes back to the loop for its next request.

Deadlines (AVATARSMITH_HEADER_TIMEOUT_SECONDS, AVATARSMITH_BODY_TIMEOUT_SECONDS: 10 and 30 s): a
request's headers must arrive within 10 s of the connection's start (or of its first byte on a
kept-alive connection) and its declared body within 30 s after them; otherwise the answer is 408 in the
error envelope and the connection closes. A kept-alive connection idle that long closes silently.

Framing (RFC 9112 §6.3): a request with both Content-Length and Transfer-Encoding is answered 400 and
the connection closes, so nothing pipelined after it is read as a request. Anything else the handler
refuses (a bad Content-Length, an unknown transfer coding, a line too long) is handed to it as it is and
the connection closes after its answer.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DEFAULT_HEADER_TIMEOUT = 10.0  # seconds
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_THREADS = 64  # requests handled at once (AVATARSMITH_FRONT_DOOR_THREADS)
DEFAULT_MAX_CONNECTIONS = 2048  # open at once; more are closed at accept
MAX_HEADER_BYTES = 128 * 1024  # incomplete headers beyond this are refused
WRITE_TIMEOUT_SECONDS = 30.0  # a client that does not read its answer
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _envelope(status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message, "request_id": "local"}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Framing:
    """What the headers say about the body: `length` bytes, `chunked`, or `refuse` (the answer)."""

    def __init__(self, length: int = 0, chunked: bool = False, hand_over: bool = False, expect: bool = False):
        self.length, self.chunked, self.hand_over, self.expect = length, chunked, hand_over, expect


def read_framing(head: bytes, max_body: int) -> _Framing | bytes:
    """The body's framing from the raw header block, or the bytes of an immediate refusal."""
    lengths: list[str] = []
    codings: list[str] = []
    expect = False
    for line in head.decode("latin-1").splitlines()[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        lowered = name.strip().lower()
        if lowered == "content-length":
            lengths.extend(v.strip() for v in value.split(","))
        elif lowered == "transfer-encoding":
            codings.extend(v.strip().lower() for v in value.split(",") if v.strip())
        elif lowered == "expect":
            expect = value.strip().lower() == "100-continue"
    if lengths and codings:
        return _envelope(
            400,
            "Bad Request",
            "invalid_request",
            "a request cannot have both Content-Length and Transfer-Encoding",
        )
    if codings:
        if codings != ["chunked"]:
            return _Framing(hand_over=True)  # the handler answers the unsupported coding and closes
        return _Framing(chunked=True, expect=expect)
    if not lengths:
        return _Framing()
    if len(set(lengths)) != 1 or not re.fullmatch(r"[0-9]{1,19}", lengths[0]) or int(lengths[0]) > max_body:
        return _Framing(hand_over=True)  # a bad or too large length: the handler's 400 / 413
    return _Framing(length=int(lengths[0]), expect=expect)


def chunked_end(buffer: bytes | bytearray, start: int) -> tuple[int | None, int]:
    """Where a chunked body whose next chunk header is at `start` ends (after its trailers): (end, _);
    (None, resume) while incomplete, `resume` being where to continue once more bytes came (so a body
    of many small chunks is parsed once, not again on every read); (-1, _) when it is malformed (the
    handler answers that)."""
    position = start
    while True:
        line_end = buffer.find(b"\n", position)
        if line_end < 0:
            return (None, position) if len(buffer) - position < 1024 else (-1, position)
        size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_text):
            return -1, position
        size = int(size_text, 16)
        if size == 0:
            break
        data_start = line_end + 1
        if len(buffer) < data_start + size + 2:
            return None, position
        after = data_start + size
        if buffer[after : after + 2] == b"\r\n":
            position = after + 2
        elif buffer[after : after + 1] == b"\n":
            position = after + 1
        else:
            return -1, position
    trailer = line_end + 1
    while True:  # trailer fields, up to the empty line
        line_end = buffer.find(b"\n", trailer)
        if line_end < 0:
            return (None, position) if len(buffer) - trailer < 8192 else (-1, position)
        line = bytes(buffer[trailer : line_end + 1])
        trailer = line_end + 1
        if line in (b"\r\n", b"\n"):
            return trailer, position


class _Connection:
    def __init__(self, sock: socket.socket, address: Any, now: float, header_timeout: float):
        self.sock = sock
        self.address = address
        self.buffer = bytearray()
        self.chunk_resume = 0  # a chunked body: where its parsing continues
        self.served = 0  # requests answered on this connection
        self.deadline = now + header_timeout
        self.head_end: int | None = None
        self.framing: _Framing | None = None
        self.continued = False

    def reset(self, now: float, header_timeout: float) -> None:
        self.head_end = None
        self.chunk_resume = 0
        self.framing = None
        self.continued = False
        self.deadline = now + header_timeout


class FrontDoorServer:
    """A drop-in for ThreadingHTTPServer (serve_forever, shutdown, server_close, server_address):
    `handler_class` is a BaseHTTPRequestHandler subclass, run once per whole request."""

    def __init__(
        self,
        server_address: tuple[str, int],
        handler_class: type[Any],
        *,
        max_body_bytes: int,
        backlog: int = 256,
    ):
        self.handler_class = _prefetched(handler_class)
        self.max_body_bytes = max_body_bytes
        self.header_timeout = _env_seconds("AVATARSMITH_HEADER_TIMEOUT_SECONDS", DEFAULT_HEADER_TIMEOUT)
        self.body_timeout = _env_seconds("AVATARSMITH_BODY_TIMEOUT_SECONDS", DEFAULT_BODY_TIMEOUT)
        self.max_connections = int(
            os.environ.get("AVATARSMITH_FRONT_DOOR_CONNECTIONS") or DEFAULT_MAX_CONNECTIONS
        )
        threads = int(os.environ.get("AVATARSMITH_FRONT_DOOR_THREADS") or DEFAULT_THREADS)
        self.listener = socket.create_server(server_address, backlog=backlog)
        self.listener.setblocking(False)
        self.server_address = self.listener.getsockname()[:2]
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="api-http")
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._returned: list[tuple[_Connection, bool]] = []
        self._returned_lock = threading.Lock()
        self._connections: set[_Connection] = set()  # open, not being handled
        self._busy: set[_Connection] = set()  # being handled by the pool
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self.timed_out = 0  # 408s sent (tests and benchmarks read it)

    # -- the loop ---------------------------------------------------------------------------------------
    def serve_forever(self) -> None:
        self._selector.register(self.listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(timeout=0.25):
                    if key.data == "accept":
                        self._accept()
                    elif key.data == "wake":
                        self._take_back()
                    else:
                        self._receive(key.data)
                self._expire(time.monotonic())
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._wake()
        self._stopped.wait(5)

    def server_close(self) -> None:
        with contextlib.suppress(Exception):
            self._selector.close()
        self.listener.close()
        for connection in list(self._connections) + list(self._busy):
            self._close(connection)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._wake_read.close()
        self._wake_write.close()

    @property
    def open_connections(self) -> int:
        return len(self._connections) + len(self._busy)

    def _accept(self) -> None:
        now = time.monotonic()
        while True:
            try:
                sock, address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if self.open_connections >= self.max_connections:
                sock.close()
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock, address, now, self.header_timeout)
            self._connections.add(connection)
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _receive(self, connection: _Connection) -> None:
        try:
            data = connection.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(connection)
            return
        if not connection.buffer and connection.head_end is None and connection.served:
            connection.deadline = time.monotonic() + self.header_timeout  # a new request starts
        connection.buffer += data
        self._advance(connection)

    def _advance(self, connection: _Connection) -> None:
        """Hand the connection's request over once it is whole."""
        now = time.monotonic()
        buffer = connection.buffer
        if connection.head_end is None:
            found = _HEADER_END.search(buffer)
            if found is None:
                if len(buffer) > MAX_HEADER_BYTES:
                    if b"\n" in buffer[:65537]:
                        self._refuse(
                            connection,
                            _envelope(
                                431,
                                "Request Header Fields Too Large",
                                "headers_too_large",
                                "headers too large",
                            ),
                        )
                    else:  # the request line is too long: the handler's 414
                        self._hand_over(connection, len(buffer), close=True)
                return
            connection.head_end = found.end()
            read = read_framing(bytes(buffer[: found.start()]), self.max_body_bytes)
            if isinstance(read, bytes):
                self._refuse(connection, read)
                return
            connection.framing = read
            connection.chunk_resume = connection.head_end
            connection.deadline = now + self.body_timeout
        framing = connection.framing
        assert framing is not None
        head_end = connection.head_end
        if framing.hand_over:
            self._hand_over(connection, len(buffer), close=True)
            return
        if framing.chunked:
            end, connection.chunk_resume = chunked_end(buffer, connection.chunk_resume)
            if end == -1 or (end is None and len(buffer) - head_end > self.max_body_bytes + 65536):
                self._hand_over(connection, len(buffer), close=True)  # the handler's 400 or 413
                return
        else:
            end = head_end + framing.length if len(buffer) >= head_end + framing.length else None
        if end is None:
            if framing.expect and not connection.continued:
                connection.continued = True
                with contextlib.suppress(OSError):
                    connection.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        self._hand_over(connection, end, close=False)

    def _hand_over(self, connection: _Connection, end: int, *, close: bool) -> None:
        raw = bytes(connection.buffer[:end])
        del connection.buffer[:end]
        self._selector.unregister(connection.sock)
        self._connections.discard(connection)
        self._busy.add(connection)
        try:
            self._pool.submit(self._serve, connection, raw, close)
        except RuntimeError:  # shutting down
            self._busy.discard(connection)
            self._close(connection)

    def _refuse(self, connection: _Connection, answer: bytes) -> None:
        """Answer from the loop (a framing conflict, a timeout) and close: nothing after it is read."""
        with contextlib.suppress(OSError):
            connection.sock.send(answer)
        self._close(connection)

    def _expire(self, now: float) -> None:
        for connection in [c for c in self._connections if c.deadline <= now]:
            if connection.served and not connection.buffer and connection.head_end is None:
                self._close(connection)  # an idle kept-alive connection: closed quietly
                continue
            self.timed_out += 1
            waiting_for = "body" if connection.head_end is not None else "headers"
            self._refuse(
                connection,
                _envelope(
                    408,
                    "Request Timeout",
                    "request_timeout",
                    f"the request's {waiting_for} did not arrive in time "
                    f"({self.body_timeout if waiting_for == 'body' else self.header_timeout:g} s)",
                ),
            )

    def _close(self, connection: _Connection) -> None:
        self._connections.discard(connection)
        self._busy.discard(connection)
        with contextlib.suppress(Exception):
            self._selector.unregister(connection.sock)
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            connection.sock.close()

    # -- the pool ---------------------------------------------------------------------------------------
    def _serve(self, connection: _Connection, raw: bytes, close: bool) -> None:
        keep = False
        try:
            connection.sock.setblocking(True)
            connection.sock.settimeout(WRITE_TIMEOUT_SECONDS)
            handler: Any = object.__new__(self.handler_class)
            handler.prefetched = raw
            handler.__init__(connection.sock, connection.address, self)
            keep = not close and not handler.close_connection and not self._stop.is_set()
        except Exception:  # the client went away mid-answer, or the handler failed: close
            keep = False
        if keep:
            connection.served += 1
            connection.sock.setblocking(False)
        else:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                connection.sock.close()
        with self._returned_lock:  # the loop alone changes its books
            self._returned.append((connection, keep))
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    def _take_back(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_read.recv(4096):
                pass
        with self._returned_lock:
            returned, self._returned = self._returned, []
        now = time.monotonic()
        for connection, keep in returned:
            self._busy.discard(connection)
            if not keep or self._stop.is_set():
                self._close(connection)
                continue
            connection.reset(now, self.header_timeout)
            self._connections.add(connection)
            self._selector.register(connection.sock, selectors.EVENT_READ, connection)
            if connection.buffer:  # a pipelined request already read
                self._advance(connection)


def _prefetched(handler_class: type[Any]) -> type[Any]:
    """The handler class, reading its request from the bytes the loop read (never from the socket)."""

    class Prefetched(handler_class):
        prefetched = b""

        def setup(self) -> None:
            import socketserver

            self.connection = self.request
            self.rfile = io.BytesIO(self.prefetched)
            self.wfile = socketserver._SocketWriter(self.connection)  # type: ignore[attr-defined]

        def handle(self) -> None:
            self.close_connection = True
            self.handle_one_request()

        def finish(self) -> None:
            with contextlib.suppress(OSError):
                self.wfile.flush()

        def handle_expect_100(self) -> bool:
            return True  # the loop sent 100 Continue when the body had not come with the headers

    Prefetched.__name__ = handler_class.__name__
    return Prefetched
