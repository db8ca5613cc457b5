"""A local stack per vendor module (loopback URLs refused, as in production; one process holds one stack
at a time). The clients in these modules are written from the vendor documents in the seeds alone: plain
`requests`, no project imports; only the base URL and the API key come from the stack."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import pytest
import requests
from PIL import Image

from local.stack import EmbeddedStack, StackInfo


@pytest.fixture(scope="module")
def stack() -> Iterator[StackInfo]:
    local = EmbeddedStack(api_port=0, extra_env={"AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"})
    info = local.start()
    try:
        yield info
    finally:
        local.stop()


def download_image(url: str) -> Image.Image:
    """GET an image URL and decode it: the end of every vendor flow."""
    reply = requests.get(url, timeout=30)
    assert reply.status_code == 200, reply.text[:200]
    image = Image.open(BytesIO(reply.content))
    image.load()
    return image
