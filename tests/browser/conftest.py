"""Headless Chromium (Debian's /usr/bin/chromium, driven by playwright; no browser is ever downloaded)
against the playground served by the local stack. Skipped, with the reason, when Chromium is absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.stack import EmbeddedStack, StackInfo

CHROMIUM = Path(os.environ.get("AVATARSMITH_CHROMIUM") or "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def stack(browser: Any) -> Iterator[tuple[EmbeddedStack, StackInfo]]:
    local = EmbeddedStack(api_port=0, extra_env={"AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"})
    info = local.start()
    try:
        yield local, info
    finally:
        local.stop()


@pytest.fixture(scope="module")
def info(stack: tuple[EmbeddedStack, StackInfo]) -> StackInfo:
    return stack[1]
