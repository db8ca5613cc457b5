"""Signing checked by the independent `standardwebhooks` verifier; the pinned, capped, redirect-free POST;
the retry schedule."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from avatarsmith.logic import notifier
from avatarsmith.logic.signing import new_secret, webhook_headers
from avatarsmith.urlguard import UnsafeUrlError, fetch_bytes, request_pinned
from tests.webhook_receiver import Receiver


def test_signatures_verify_with_the_standard_webhooks_package() -> None:
    # Given two active secrets (a rotation overlap) and a raw body
    old, new = new_secret(), new_secret()
    body = b'{"type":"avatar.generation.completed","data":{"id":"job_x","note":"caf\\u00e9"}}'
    ts = int(datetime.now(UTC).timestamp())
    headers = webhook_headers([new, old], "msg_abc", ts, body)
    # Then either secret verifies the exact bytes; a changed body does not
    assert Webhook(old).verify(body, headers)["data"]["id"] == "job_x"
    assert Webhook(new).verify(body, headers)["data"]["id"] == "job_x"
    with pytest.raises(Exception, match="signature"):
        Webhook(new).verify(body.replace(b"job_x", b"job_y"), headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, headers)


def test_retry_schedule_spans_hours_with_jitter_and_scales() -> None:
    delays = [notifier.next_delay(n, 1.0) for n in range(1, notifier.MAX_ATTEMPTS)]
    for delay, nominal in zip(delays, notifier.RETRY_SCHEDULE, strict=True):
        assert 0.75 * nominal <= delay <= 1.25 * nominal
    assert sum(notifier.RETRY_SCHEDULE) > 12 * 3600  # "over hours"
    assert notifier.next_delay(6, 0.0) == 0.0
    assert notifier.next_delay(1, 1.0, retry_after=600) >= 600  # Retry-After is honoured


def test_derived_ids_are_stable_per_event_and_receiver() -> None:
    a = notifier.derived_id("ten_1", "whe_1", "job_1", "avatar.generation.completed")
    assert a == notifier.derived_id("ten_1", "whe_1", "job_1", "avatar.generation.completed")
    assert a != notifier.derived_id("ten_1", "whe_2", "job_1", "avatar.generation.completed")
    assert len(a) == 26 and a.isalnum() and a.islower()


@pytest.fixture
def receiver() -> Any:
    r = Receiver(answers=[(302, 0, {"Location": "http://127.0.0.1:1/elsewhere"})]).start()
    yield r
    r.stop()


def test_post_goes_to_the_checked_address_and_keeps_the_host_name(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a name that resolves to the receiver's loopback address
    real = socket.getaddrinfo
    calls: list[str] = []

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        if host == "hooks.pinned.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    port = receiver.url.split(":")[2].split("/")[0]
    # When we POST to it
    response = request_pinned(
        "POST",
        f"http://hooks.pinned.example:{port}/in?x=1",
        body=b"{}",
        headers={"content-type": "application/json"},
        allow_loopback=True,
        param="url",
    )
    # Then the name was resolved once (the connection used that address), the Host header is the
    # name, the redirect was not followed, and only the capped body was read
    assert calls.count("hooks.pinned.example") == 1 and set(calls) == {"hooks.pinned.example", "127.0.0.1"}
    (got,) = receiver.received
    assert got.headers["host"] == f"hooks.pinned.example:{port}" and got.path == "/in?x=1"
    assert response.status == 302 and response.headers["location"].endswith("/elsewhere")


def test_calls_refuse_private_addresses_and_cap_what_they_read() -> None:
    with pytest.raises(UnsafeUrlError):
        request_pinned("POST", "https://127.0.0.1/x", body=b"{}", allow_loopback=False, param="url")
    server = Receiver(reply_body=b"x" * 5000).start()
    try:
        response = request_pinned("POST", server.url, body=b"{}", allow_loopback=True, param="url")
        assert len(response.body) == 4096 and response.truncated
        # reference images use the same pinned path: the body is read up to the cap, and no further
        assert fetch_bytes(server.url, allow_loopback=True, param="ref", max_bytes=5000) == b"x" * 5000
        with pytest.raises(UnsafeUrlError, match="larger than 4999"):
            fetch_bytes(server.url, allow_loopback=True, param="ref", max_bytes=4999)
        server.answers = [(302, 0, {"Location": "https://example.com/"})]
        with pytest.raises(UnsafeUrlError, match="redirects are not followed"):
            fetch_bytes(server.url, allow_loopback=True, param="ref", max_bytes=5000)
    finally:
        server.stop()


def test_a_closed_port_is_a_network_error_not_a_crash() -> None:
    from avatarsmith.urlguard import UrlCallError

    with pytest.raises(UrlCallError):
        request_pinned("POST", "http://127.0.0.1:9/x", body=b"{}", allow_loopback=True, param="url")
