"""302.AI Avatar Maker's documented flow (302ai-avatar-maker.txt) against the local stack, changing only
the base URL: the form-data variant (image as a file part, every other field as a form field) and the
JSON variant (image as a data URL), with the document's leniency (num, width, height out of range), then
poll the job and download and decode the images."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import StackInfo
from tests.e2e.vendors.conftest import download_image

pytestmark = pytest.mark.e2e
PHOTO = Path(__file__).resolve().parents[2] / "fixtures" / "astronaut.jpg"


class Ai302Client:
    """Written from 302.AI's document: Bearer auth; POST /v1/avatars/generate as JSON or form-data."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def generate_form(self, fields: dict[str, str], image: bytes) -> requests.Response:
        files = {"image": ("photo.jpg", image, "image/jpeg")}
        return requests.post(
            f"{self.base}/v1/avatars/generate", data=fields, files=files, headers=self.headers, timeout=60
        )

    def generate_json(self, body: dict[str, Any]) -> requests.Response:
        return requests.post(f"{self.base}/v1/avatars/generate", json=body, headers=self.headers, timeout=60)

    def wait(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = requests.get(f"{self.base}/v1/jobs/{job_id}", headers=self.headers, timeout=30).json()
            if job["status"] in ("completed", "failed", "canceled") or time.monotonic() > deadline:
                return dict(job)
            time.sleep(0.5)


def test_ai302_form_data_flow(stack: StackInfo) -> None:
    client = Ai302Client(stack.api_url, stack.api_key)
    fields = {
        "style": "1",
        "person_type": "female",
        "num": "1",
        "width": "1024",
        "height": "768",
        "model": "gpt-4o-mini",
    }
    reply = client.generate_form(fields, PHOTO.read_bytes())
    assert reply.status_code == 202, reply.text
    job = client.wait(reply.json()["id"])
    assert job["status"] == "completed", job
    assert job["request"]["style"] == "professional"  # preset id 1
    assert len(job["request"]["reference_images"]) == 1
    image = download_image(job["avatars"][0]["image_url"])
    assert image.size == (1024, 768)
    # no language-model backend serves gpt-4o-mini on the local stack: the composer wrote the prompt
    assert any("gpt-4o-mini" in note for note in job["provenance"]["adjustments"])


def test_ai302_form_data_leniency_and_custom_prompt(stack: StackInfo) -> None:
    client = Ai302Client(stack.api_url, stack.api_key)
    fields = {
        "style": "4",
        "person_type": "male",
        "custom_prompt": "a astronaut portrait with a warm smile",
        "num": "9",  # outside the supported range: treated as 1
        "width": "99999",  # treated as 1024
        "height": "10",  # treated as 1024
    }
    reply = client.generate_form(fields, PHOTO.read_bytes())
    assert reply.status_code == 202, reply.text
    job = client.wait(reply.json()["id"])
    assert job["status"] == "completed", job
    assert len(job["avatars"]) == 1
    assert "style" not in job["request"]  # custom_prompt wins over the preset style
    assert download_image(job["avatars"][0]["image_url"]).size == (1024, 1024)


def test_ai302_json_variant_with_a_data_url(stack: StackInfo) -> None:
    client = Ai302Client(stack.api_url, stack.api_key)
    data_url = "data:image/jpeg;base64," + base64.b64encode(PHOTO.read_bytes()).decode()
    reply = client.generate_json(
        {"image": data_url, "style": 6, "person_type": "kid", "num": 2, "width": 512, "height": 512}
    )
    assert reply.status_code == 202, reply.text
    job = client.wait(reply.json()["id"])
    assert job["status"] == "completed", job
    assert [download_image(a["image_url"]).size for a in job["avatars"]] == [(512, 512), (512, 512)]


def test_ai302_form_data_errors_are_enveloped(stack: StackInfo) -> None:
    client = Ai302Client(stack.api_url, stack.api_key)
    bad = client.generate_form({"person_type": "robot"}, PHOTO.read_bytes())
    assert bad.status_code == 422 and bad.json()["error"]["param"] == "person_type"
    broken = requests.post(
        f"{stack.api_url}/v1/avatars/generate",
        data=b"--x\r\nnot a form",
        headers={**client.headers, "Content-Type": "multipart/form-data"},
        timeout=30,
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_request"
