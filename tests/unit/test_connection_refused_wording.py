"""A refused connection is reported as refused (not as a timeout) in the delivery log."""

from __future__ import annotations

import socket

import pytest

from avatarsmith.logic.notifier import _network_error
from avatarsmith.urlguard import UrlCallError, UrlTimeoutError, request_pinned


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when this returns: nothing listens


def test_a_refused_connection_says_connection_refused() -> None:
    with pytest.raises(UrlCallError) as caught:
        request_pinned("POST", f"http://127.0.0.1:{_closed_port()}/hook", allow_loopback=True, param="url")
    assert not isinstance(caught.value, UrlTimeoutError)
    assert _network_error(caught.value) == "connection refused"
