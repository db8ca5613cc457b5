"""The local stack for the SDK, CLI and browser tests: one per module, on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.stack import EmbeddedStack, StackInfo


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def info(stack: tuple[EmbeddedStack, StackInfo]) -> StackInfo:
    return stack[1]
