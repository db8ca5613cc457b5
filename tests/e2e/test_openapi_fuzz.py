"""The API fuzzed against its own published contract, over HTTP on loopback.

schemathesis (CLI, seeded and bounded) reads the served /v1/openapi.json and sends generated requests to
every operation of a local stack that refuses loopback and private URLs, as the deployed stack does.
While it runs, every outgoing connection of this process (the whole stack runs in it) is watched:
anything but the stack's own loopback ports is refused and recorded, so a fuzzed callback_url or webhook
URL that slipped past the guard would fail the test instead of being called.
"""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from local.stack import EmbeddedStack, StackInfo

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
MAX_EXAMPLES = 15
SEED = 20261129


class OutboundWatch:
    """Refuses and records connections from this process to anything but the allowed loopback ports."""

    def __init__(self) -> None:
        self.allowed_ports: set[int] = set()
        self.refused: list[Any] = []
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex

    def _check(self, address: Any) -> None:
        if isinstance(address, tuple) and len(address) >= 2:
            host, port = str(address[0]), int(address[1])
            if host in ("127.0.0.1", "::1", "localhost") and port in self.allowed_ports:
                return
            self.refused.append(address)
            raise ConnectionRefusedError(f"outbound connection to {address} refused by the test")

    def install(self) -> None:
        watch = self

        def connect(sock: socket.socket, address: Any) -> None:
            watch._check(address)
            watch._connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            watch._check(address)
            return watch._connect_ex(sock, address)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

    def uninstall(self) -> None:
        socket.socket.connect = self._connect  # type: ignore[method-assign]
        socket.socket.connect_ex = self._connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def guarded_stack() -> Iterator[tuple[StackInfo, OutboundWatch]]:
    # No AVATARSMITH_ALLOW_LOOPBACK_URLS: loopback, private and link-local URLs are refused at submit.
    local = EmbeddedStack(api_port=0, extra_env={"AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"})
    info = local.start()
    watch = OutboundWatch()
    watch.allowed_ports = {urlsplit(info.api_url).port or 0, urlsplit(info.moto_url).port or 0}
    watch.install()
    try:
        yield info, watch
    finally:
        watch.uninstall()
        local.stop()


def test_the_served_document_is_the_committed_one(guarded_stack: tuple[StackInfo, OutboundWatch]) -> None:
    info, _ = guarded_stack
    served = requests.get(f"{info.api_url}/v1/openapi.json", timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("application/json")
    assert served.text == (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")


def test_docs_page_is_served_compressed_with_no_external_asset(
    guarded_stack: tuple[StackInfo, OutboundWatch],
) -> None:
    info, _ = guarded_stack
    raw = requests.get(f"{info.api_url}/docs", headers={"Accept-Encoding": "gzip"}, timeout=10, stream=True)
    assert raw.status_code == 200 and raw.headers["Content-Encoding"] == "gzip"
    compressed = raw.raw.read()
    page = gzip.decompress(compressed).decode()
    assert len(compressed) < len(page) / 3
    assert "SwaggerUIBundle" in page and '"openapi": "3.1.0"' in page
    assert "<script src=" not in page and "<link rel=" not in page  # assets inlined, nothing fetched


def test_the_stack_refuses_loopback_callbacks_and_the_watch_records_escapes(
    guarded_stack: tuple[StackInfo, OutboundWatch],
) -> None:
    info, watch = guarded_stack
    answer = requests.post(
        f"{info.api_url}/v1/avatars/generate",
        json={"prompt": "x", "callback_url": f"{info.api_url}/hook"},
        headers={"Authorization": f"Bearer {info.api_key}"},
        timeout=10,
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "unsafe_url")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert watch.refused == [("127.0.0.1", 9)]
    watch.refused.clear()


def test_schemathesis_finds_nothing(guarded_stack: tuple[StackInfo, OutboundWatch], tmp_path: Path) -> None:
    info, watch = guarded_stack
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{info.api_url}/v1/openapi.json",
        "--url",
        info.api_url,
        "--header",
        f"Authorization: Bearer {info.api_key}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--request-timeout",
        "40",
        "--max-time",
        "120",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(  # noqa: S603  (its cache lands in tmp_path, not in the checkout)
        command, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20000:]
    assert "No issues found" in output or "passed" in output, output[-5000:]
    assert watch.refused == [], f"the stack tried to reach {watch.refused[:5]}"
