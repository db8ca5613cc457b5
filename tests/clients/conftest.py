"""One local stack, on free loopback ports, for every SDK and CLI end-to-end test in this package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import EmbeddedStack, StackInfo


@pytest.fixture(scope="package")
def stack() -> Iterator[tuple[EmbeddedStack, StackInfo]]:
    local = EmbeddedStack(
        api_port=0,
        extra_env={
            "AVATARSMITH_ALLOW_LOOPBACK_URLS": "1",
            # the async test model takes 3 polls x 1 s: long enough to cancel it or to out-wait a deadline
            "AVATARSMITH_TEST_BACKEND_POLLS": "3",
            "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "1",
        },
    )
    info = local.start()
    try:
        yield local, info
    finally:
        local.stop()


@pytest.fixture(scope="package")
def info(stack: tuple[EmbeddedStack, StackInfo]) -> StackInfo:
    return stack[1]
