"""KonPro's documented flow (konpro-photo-avatar.txt) against the local stack, changing only the base
URL: generate with x-api-key and a callback_url/callback_id, receive the callback on a loopback
receiver, download and decode the image it points to. This module's stack allows loopback URLs (the
receiver); the other vendor tests run on a stack that refuses them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.stack import EmbeddedStack, StackInfo
from tests.e2e.vendors.conftest import download_image
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def loopback_stack() -> Iterator[StackInfo]:
    local = EmbeddedStack(
        api_port=0,
        extra_env={
            "AVATARSMITH_ALLOW_LOOPBACK_URLS": "1",
            "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0",
            "WEBHOOK_RETRY_BASE_SECONDS": "0",
        },
    )
    info = local.start()
    try:
        yield info
    finally:
        local.stop()


class KonProClient:
    """Written from KonPro's document: x-api-key, one POST, completion announced to callback_url."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = base_url.rstrip("/")
        self.headers = {"accept": "application/json", "x-api-key": api_key}

    def generate(self, body: dict[str, Any]) -> requests.Response:
        return requests.post(
            f"{self.base}/v1/photo_avatar/photo/generate", json=body, headers=self.headers, timeout=30
        )


def _example(callback_url: str) -> dict[str, Any]:
    return {  # the document's example request
        "name": "John Doe",
        "age": "Young Adult",
        "gender": "Man",
        "ethnicity": "East Asian",
        "orientation": "square",
        "pose": "close_up",
        "style": "Realistic",
        "appearance": "A confident young man with short black hair and brown eyes",
        "callback_url": callback_url,
        "callback_id": "avatarGen123",
    }


def test_konpro_flow_generate_callback_download(loopback_stack: StackInfo) -> None:
    receiver = Receiver().start()
    try:
        client = KonProClient(loopback_stack.api_url, loopback_stack.api_key)
        reply = client.generate(_example(receiver.url))
        assert reply.status_code == 200, reply.text
        started = reply.json()
        assert started["status"] == "processing"
        assert started["message"] == "Avatar generation started successfully"
        assert isinstance(started["job_id"], str) and started["job_id"]
        # the callback names the job by callback_id and carries the image
        (call,) = receiver.wait_for(1, timeout=60)
        payload = json.loads(call.body)["data"]
        assert payload["callback_id"] == "avatarGen123"
        assert payload["job_id"] == started["job_id"] and payload["status"] == "completed"
        image = download_image(payload["image_url"])
        assert image.size == (1024, 1024)  # orientation "square"
    finally:
        receiver.stop()


def test_konpro_limits_and_name(loopback_stack: StackInfo) -> None:
    client = KonProClient(loopback_stack.api_url, loopback_stack.api_key)
    # KonPro documents "400 - Bad Request" for invalid parameters
    too_long = client.generate({"appearance": "a" * 1001})
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "appearance"
    assert client.generate({"appearance": "a" * 1000}).status_code == 200
    for field, value in (
        ("gender", "Robot"),
        ("age", "Ancient"),
        ("orientation", "diagonal"),
        ("pose", "upside_down"),
        ("style", "Baroque"),
        ("name", 5),
        ("name", "John\u202eeoD"),
        ("callback_url", "https://example.com/cb\r\nX: 1"),
    ):
        refused = client.generate({field: value})
        assert refused.status_code == 400, (field, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "invalid_request" and error["param"] == field and error["details"], error
    # every field is optional; `name` names the avatar and is not written into the image prompt
    job_id = client.generate({"name": "John Doe"}).json()["job_id"]
    job = requests.get(
        f"{loopback_stack.api_url}/v1/jobs/{job_id}",
        params={"wait_for_completion": "true", "timeout_seconds": "30"},
        headers={"x-api-key": loopback_stack.api_key},
        timeout=40,
    ).json()
    assert job["status"] == "completed"
    assert job["request"]["attributes"]["name"] == "John Doe"
    assert "John Doe" not in job["provenance"]["final_prompt"]
