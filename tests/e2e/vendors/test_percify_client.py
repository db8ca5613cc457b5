"""Percify's documented Generate Avatar (percify-generate-avatar.txt) against the local stack, changing
only the base URL: its request fields (cfg_scale, num_images, aspect_ratio, style template, model), the
processing answer, polling until completed, the documented response fields with their types, and the
documented 5000-character prompt."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from local.stack import StackInfo
from tests.e2e.vendors.conftest import download_image

pytestmark = pytest.mark.e2e


class PercifyClient:
    """Written from Percify's document: a bearer token, generate then poll the avatar's status."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}

    def generate(self, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.base}/v1/avatars/generate", json=body, headers=self.headers, timeout=30)

    def get_avatar(self, avatar_id: str) -> requests.Response:
        """Related endpoint "Get Avatar - Check generation status"."""
        return requests.get(f"{self.base}/v1/avatars/{avatar_id}", headers=self.headers, timeout=30)

    def publish(self, avatar_id: str) -> requests.Response:
        """Related endpoint "Publish Avatar - Share to community"."""
        return requests.post(f"{self.base}/v1/avatars/{avatar_id}/publish", headers=self.headers, timeout=30)

    def poll(self, avatar_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            avatar = requests.get(f"{self.base}/v1/jobs/{avatar_id}", headers=self.headers, timeout=30).json()
            if avatar["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return dict(avatar)
            time.sleep(0.5)


def test_percify_flow_fields_and_types(stack: StackInfo) -> None:
    client = PercifyClient(stack.api_url, stack.api_key)
    reply = client.generate(
        {
            "prompt": "cyberpunk warrior, neon lights, futuristic city, dramatic lighting",
            "model": "flux",
            "negative_prompt": "blurry, low quality, distorted, extra limbs",
            "aspect_ratio": "3:4",
            "cfg_scale": 9,
            "seed": 123456,
            "num_images": 2,
            "style": "cyberpunk",
        }
    )
    assert reply.status_code in (200, 202), reply.text
    first = reply.json()
    assert first["status"] in ("queued", "processing")
    assert isinstance(first["id"], str) and first["model"] == "flux"
    done = client.poll(first["id"])
    assert done["status"] == "completed", done
    for name, kind in (
        ("id", str),
        ("status", str),
        ("prompt", str),
        ("model", str),
        ("image_url", str),
        ("thumbnail_url", str),
        ("width", int),
        ("height", int),
        ("credits_used", int),
        ("created_at", str),
    ):
        assert isinstance(done[name], kind), (name, done.get(name))
    assert done["prompt"].startswith("cyberpunk warrior")
    assert done["credits_used"] == 2  # flux with no real backend: the offline fallback, 1 per variation, x2
    assert len(done["avatars"]) == 2 and done["request"]["guidance_scale"] == 9
    image = download_image(done["image_url"])
    assert image.size == (done["width"], done["height"]) and done["width"] < done["height"]
    download_image(done["thumbnail_url"])


def test_percify_documented_5000_character_prompt(stack: StackInfo) -> None:
    client = PercifyClient(stack.api_url, stack.api_key)
    prompt = ("studio portrait of a calm architect with round glasses " * 100)[:5000]
    reply = client.generate({"prompt": prompt, "negative_prompt": "n" * 5000, "style": "professional"})
    assert reply.status_code == 202, reply.text
    done = client.poll(reply.json()["id"])
    assert done["status"] == "completed", done
    assert done["prompt"] == prompt.strip()
    assert len(done["provenance"]["final_prompt"]) <= 5000
    assert any("left out" in note for note in done["provenance"]["adjustments"])
    too_long = client.generate({"prompt": "x" * 5001})
    assert too_long.status_code == 422 and too_long.json()["error"]["param"] == "prompt"
    both = client.generate({"prompt": "a", "cfg_scale": 5, "guidance_scale": 5})
    assert both.status_code == 422


def test_get_and_publish_avatar_take_the_id_generate_returned(stack: StackInfo) -> None:
    client = PercifyClient(stack.api_url, stack.api_key)
    avatar_id = client.generate({"prompt": "portrait of a lighthouse keeper", "model": "flux"}).json()["id"]
    # Get Avatar: the generation's status, until completed, with its image
    status = client.get_avatar(avatar_id)
    assert status.status_code == 200, status.text
    assert status.json()["id"] == avatar_id and status.json()["status"] in (
        "queued",
        "processing",
        "completed",
    )
    done = client.poll(avatar_id)
    got = client.get_avatar(avatar_id).json()
    assert got["status"] == "completed" and got["image_url"] and got["credits_used"] == done["credits_used"]
    download_image(got["image_url"])
    # Publish Avatar with the same id: shared, and publishing again changes nothing
    published = client.publish(avatar_id)
    assert published.status_code == 200, published.text
    shared = published.json()
    assert shared["published"] is True and shared["job_id"] == avatar_id
    download_image(shared["image_url"])
    again = client.publish(avatar_id)
    assert again.status_code == 200 and again.json()["id"] == shared["id"]
    assert again.json()["community_id"] == shared["community_id"]
    # An id nobody generated is a 404 in the envelope
    missing = client.publish("job_01m90000000000000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_an_empty_prompt_is_invalid_prompt(stack: StackInfo) -> None:
    client = PercifyClient(stack.api_url, stack.api_key)
    for prompt in ("", "   "):
        reply = client.generate({"prompt": prompt, "model": "flux"})
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert (error["code"], error["param"]) == ("invalid_prompt", "prompt")
        assert error["message"].startswith("Invalid Prompt")
