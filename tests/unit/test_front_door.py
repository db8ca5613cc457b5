"""The API port cuts slow clients off and keeps answering everyone else (issue 25, items 4 and 6), tried
as an attacker would on loopback: 200 connections dripping their headers, a body declared and never
sent, Content-Length with Transfer-Encoding and a request pipelined behind it. The deadlines are
shortened through their variables so the test runs in seconds."""

from __future__ import annotations

import contextlib
import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.http_adapter import ApiServer
from local.lambda_adapter import REGISTRY

HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 3.0


def echo(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    seen = {"path": event["rawPath"], "body": event.get("body")}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(seen)}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.setenv("AVATARSMITH_HEADER_TIMEOUT_SECONDS", str(HEADER_TIMEOUT))
    monkeypatch.setenv("AVATARSMITH_BODY_TIMEOUT_SECONDS", str(BODY_TIMEOUT))
    REGISTRY.register("DoorEchoFunction", __name__, "echo", timeout=5, memory=128)
    api = ApiServer(
        function_name="DoorEchoFunction", routes=[("GET", "/v1/echo"), ("POST", "/v1/echo")], port=0
    )
    api.start()
    try:
        yield api
    finally:
        api.stop()


def _read_answers(sock: socket.socket, deadline: float = 15) -> list[tuple[int, bytes]]:
    """Every answer the server sends until it closes the connection."""
    sock.settimeout(deadline)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        answers.append((int(lines[0].split()[1]), rest[:length]))
        data = rest[length:]
    return answers


def _get(port: int) -> float:
    """One normal request on a new connection; returns its latency in seconds."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = _read_answers(sock)
    assert [status for status, _ in answers] == [200]
    return time.perf_counter() - started


def test_200_slow_header_connections_are_cut_off_while_others_are_served(server: ApiServer) -> None:
    threads_before = threading.active_count()
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(200)]
    stop = threading.Event()

    def drip() -> None:  # a byte of headers per connection every 0.2 s, forever
        request = b"GET /v1/echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 500
        for index in range(len(request)):
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(request[index : index + 1])
            if stop.wait(0.2):
                return

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    started = time.monotonic()
    try:
        time.sleep(0.5)
        latencies = [_get(server.port) for _ in range(30)]
        threads_during = threading.active_count()
        # Then every slow connection gets 408 and is closed, after the header deadline, not before.
        answers = [_read_answers(sock, deadline=HEADER_TIMEOUT + 5) for sock in slow]
        cut_after = time.monotonic() - started
    finally:
        stop.set()
        dripper.join()
        for sock in slow:
            sock.close()
    assert all([status for status, _ in a] == [408] for a in answers), answers[:3]
    assert json.loads(answers[0][0][1])["error"]["code"] == "request_timeout"
    assert HEADER_TIMEOUT - 0.5 <= cut_after <= HEADER_TIMEOUT + 3
    # the server's threads: one loop and the pool's (a few for the normal requests), not one per client
    assert threads_during - threads_before <= 10, (threads_before, threads_during)
    assert statistics.median(latencies) < 0.1 and max(latencies) < 1.0, latencies
    print(
        f"\n200 slow-header connections: +{threads_during - threads_before} threads; normal GET "
        f"median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms; "
        f"cut off after {cut_after:.1f} s"
    )


def test_a_body_that_never_comes_gets_408_and_close(server: ApiServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"prompt": "ab'
        )
        answers = _read_answers(sock, deadline=BODY_TIMEOUT + 5)
        waited = time.monotonic() - started
    assert [status for status, _ in answers] == [408]
    assert BODY_TIMEOUT - 0.5 <= waited <= BODY_TIMEOUT + 2


def test_content_length_with_transfer_encoding_is_400_and_nothing_after_it_is_served(
    server: ApiServer,
) -> None:
    smuggled = b"GET /v1/echo?smuggled=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + body
            + smuggled
        )
        answers = _read_answers(sock)
    assert [status for status, _ in answers] == [400]
    error = json.loads(answers[0][1])["error"]
    assert error["code"] == "invalid_request" and "Transfer-Encoding" in error["message"]


def test_kept_alive_and_pipelined_requests_are_answered_in_order(server: ApiServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{}"
            b"GET /v1/echo?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /v1/echo?n=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        answers = _read_answers(sock)
    assert [status for status, _ in answers] == [200, 200, 200]
    assert json.loads(answers[0][1])["body"] == "{}"


def test_an_idle_kept_alive_connection_is_closed_quietly(server: ApiServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = _read_answers(sock, deadline=HEADER_TIMEOUT + 5)
    assert [status for status, _ in answers] == [200]  # no 408 for a request never started


def test_a_body_of_many_small_chunks_sent_piecemeal_is_parsed_once(server: ApiServer) -> None:
    payload = b'{"prompt": "' + b"x" * 400_000 + b'"}'
    chunks = b"".join(
        f"{len(payload[i : i + 16]):x}\r\n".encode() + payload[i : i + 16] + b"\r\n"
        for i in range(0, len(payload), 16)
    )
    raw = (
        b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for i in range(0, len(raw), 4096):  # as a slow link delivers it: one read per piece
            sock.sendall(raw[i : i + 4096])
        answers = _read_answers(sock)
    assert [status for status, _ in answers] == [200]
    assert json.loads(answers[0][1])["body"] == payload.decode()
    assert time.perf_counter() - started < 5


def test_a_client_that_expects_100_continue_is_told_to_go_on(server: ApiServer) -> None:
    """curl sends `Expect: 100-continue` before bodies over 1 KB and waits for the interim answer."""
    body = b'{"prompt": "' + b"y" * 2000 + b'"}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        answers = _read_answers(sock)
    assert [status for status, _ in answers] == [200]
    assert json.loads(answers[0][1])["body"] == body.decode()
