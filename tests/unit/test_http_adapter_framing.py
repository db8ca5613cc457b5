"""The local HTTP adapter answers every framing a client can send: a bad Content-Length is a 400 in the
error envelope (never a dropped connection), and a chunked body reaches the function like API Gateway
hands it over (whole, with its length). Real sockets on loopback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from local.http_adapter import MAX_BODY_BYTES, ApiServer
from local.lambda_adapter import REGISTRY


def echo(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Answers with what the function received."""
    seen = {"body": event.get("body"), "headers": event["headers"], "base64": event["isBase64Encoded"]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(seen)}


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    REGISTRY.register("EchoFunction", __name__, "echo", timeout=5, memory=128)
    api = ApiServer(function_name="EchoFunction", routes=[("POST", "/v1/echo")], port=0)
    api.start()
    try:
        yield api
    finally:
        api.stop()


def _exchange(server: ApiServer, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one response (the server closes or sends Content-Length)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without an answer: {data!r}"
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            assert chunk
            rest += chunk
        return status, headers, rest[:length]


def _request(headers: str, body: bytes = b"") -> bytes:
    return (
        b"POST /v1/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + headers.encode()
        + b"\r\n"
        + body
    )


@pytest.mark.parametrize(
    "value", ["abc", "-5", "+5", "5 5", "0x10", "1e3", "", "5, 6", "99999999999999999999"]
)
def test_a_bad_content_length_is_a_400_in_the_envelope(server: ApiServer, value: str) -> None:
    status, headers, body = _exchange(server, _request(f"Content-Length: {value}\r\n", b"{}"))
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["code"] == "invalid_request" and "Content-Length" in error["message"]
    assert error["request_id"]
    assert headers["content-type"] == "application/json"


def test_repeated_equal_content_lengths_are_one(server: ApiServer) -> None:
    status, _, body = _exchange(server, _request("Content-Length: 2\r\nContent-Length: 2\r\n", b"{}"))
    assert status == 200 and json.loads(body)["body"] == "{}"


def test_a_too_large_content_length_is_413(server: ApiServer) -> None:
    status, _, body = _exchange(server, _request(f"Content-Length: {MAX_BODY_BYTES + 1}\r\n"))
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"


def test_a_chunked_body_reaches_the_function_whole(server: ApiServer) -> None:
    payload = b'{"prompt":"a chunked request body"}'
    chunks = b"".join(
        f"{len(payload[i : i + 7]):x}\r\n".encode() + payload[i : i + 7] + b"\r\n"
        for i in range(0, len(payload), 7)
    )
    raw = _request("Transfer-Encoding: chunked\r\n", chunks + b"0;ext=1\r\nX-Trailer: y\r\n\r\n")
    status, _, body = _exchange(server, raw)
    assert status == 200, body
    seen = json.loads(body)
    assert seen["body"] == payload.decode()
    assert seen["headers"]["content-length"] == str(len(payload))
    assert "transfer-encoding" not in seen["headers"]


@pytest.mark.parametrize(
    "chunks",
    [b"zz\r\n{}\r\n0\r\n\r\n", b"5\r\n{}\r\n0\r\n\r\n", b"2\r\n{}XX0\r\n\r\n", b"-1\r\n\r\n"],
)
def test_malformed_chunking_is_a_400(server: ApiServer, chunks: bytes) -> None:
    status, _, body = _exchange(server, _request("Transfer-Encoding: chunked\r\n", chunks))
    assert status == 400 and json.loads(body)["error"]["code"] == "invalid_request"


def test_an_unknown_transfer_coding_is_a_400(server: ApiServer) -> None:
    status, _, body = _exchange(server, _request("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"))
    assert status == 400 and "Transfer-Encoding" in json.loads(body)["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /v1/echo?cursor=" + b"W" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"POST /v1/echo HTTP/1.1\r\nX-Long: " + b"h" * 70_000 + b"\r\n\r\n", 431),
    ],
)
def test_what_http_server_refuses_itself_is_in_the_envelope(
    server: ApiServer, raw: bytes, status: int
) -> None:
    answered, headers, body = _exchange(server, raw)
    assert answered == status
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] and error["message"] and error["request_id"]
