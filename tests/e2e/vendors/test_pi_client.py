"""Pi's documented flow (pi-avatars.txt) against the local stack, changing only the base URL: queue with
an Idempotency-Key, replay it, poll the Jobs API with wait_for_completion and expand=avatar, download
the image, save it, list saved avatars with limit/offset and read one back."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from local.stack import StackInfo
from tests.e2e.vendors.conftest import download_image

pytestmark = pytest.mark.e2e


class PiClient:
    """Written from Pi's document: Bearer auth, /api/v1 paths."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"

    def generate(self, body: dict[str, Any], idempotency_key: str | None = None) -> requests.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.http.post(f"{self.base}/api/v1/avatars/generate", json=body, headers=headers, timeout=30)

    def job(self, job_id: str) -> requests.Response:
        query = {"wait_for_completion": "true", "timeout_seconds": "30", "expand": "avatar"}
        return self.http.get(f"{self.base}/api/v1/jobs/{job_id}", params=query, timeout=40)

    def save(self, job_id: str, label: str) -> requests.Response:
        return self.http.post(
            f"{self.base}/api/v1/avatars/save", json={"job_id": job_id, "label": label}, timeout=30
        )

    def list(self, limit: int, offset: int) -> requests.Response:
        return self.http.get(
            f"{self.base}/api/v1/avatars", params={"limit": limit, "offset": offset}, timeout=30
        )

    def get(self, avatar_id: str) -> requests.Response:
        return self.http.get(f"{self.base}/api/v1/avatars/{avatar_id}", timeout=30)


EXAMPLE = {  # the document's example request
    "prompt": "confident founder vibe for a fintech app, modest professional outfit",
    "hints": {
        "filter_culture": "middle_east",
        "avatar_composition": "Portrait",
        "art_direction": "Ultra Realistic",
    },
    "output": {"aspect_ratio": "auto", "resolution": "1K", "thinking_intensity": "minimal"},
    "client_reference_id": "workflow-run-123-step-7",
    "metadata": {"workflow": "lead-enrichment", "customer_id": "cus_123"},
}


def test_pi_flow_generate_poll_download_save_list_get(stack: StackInfo) -> None:
    pi = PiClient(stack.api_url, stack.api_key)
    key = str(uuid.uuid4())
    # Generate: 202 with Pi's shape
    queued = pi.generate(EXAMPLE, idempotency_key=key)
    assert queued.status_code == 202, queued.text
    body = queued.json()
    assert body["object"] == "job" and body["status"] == "queued"
    assert isinstance(body["id"], str) and body["id"].startswith("req_")
    assert isinstance(body["created_at"], int) and not isinstance(body["created_at"], bool)
    job_id = body["data"]["job_id"]
    assert str(uuid.UUID(job_id)) == job_id  # documented: "UUID of the background generation job"
    # Idempotency: same key + same body = the original 202; a different body = 409 idempotency_key_mismatch
    replay = pi.generate(EXAMPLE, idempotency_key=key)
    assert replay.status_code == 202 and replay.json() == body
    mismatch = pi.generate({**EXAMPLE, "prompt": "someone else"}, idempotency_key=key)
    assert mismatch.status_code == 409
    assert mismatch.json()["error"]["code"] == "idempotency_key_mismatch"
    # Poll with wait_for_completion + expand=avatar: data.avatar.image_url, then the image itself
    job = pi.job(job_id)
    assert job.status_code == 200, job.text
    done = job.json()
    assert done["status"] == "completed", done
    image_url = done["data"]["avatar"]["image_url"]
    assert isinstance(image_url, str)
    image = download_image(image_url)
    assert image.size[0] > 0 and image.size[1] > 0
    # Save, list (limit/offset), get: created_at in Unix seconds
    saved = pi.save(job_id, "CEO hero v2")
    assert saved.status_code in (200, 201), saved.text
    avatar = saved.json()
    assert avatar["label"] == "CEO hero v2" and avatar["job_id"] == job_id
    assert isinstance(avatar["id"], str) and isinstance(avatar["image_url"], str)
    assert isinstance(avatar["created_at"], int)
    listed = pi.list(limit=20, offset=0)
    assert listed.status_code == 200
    assert avatar["id"] in [a["id"] for a in listed.json()["data"]]
    again = pi.get(avatar["id"])
    assert again.status_code == 200 and again.json()["id"] == avatar["id"]
    assert again.json()["created_at"] == avatar["created_at"]
    download_image(again.json()["image_url"])


def test_pi_requires_a_non_empty_prompt_and_keeps_its_limits(stack: StackInfo) -> None:
    pi = PiClient(stack.api_url, stack.api_key)
    for body in ({}, {"prompt": "x" * 5001}):
        reply = pi.generate(body)
        assert reply.status_code == 422, (body, reply.text)
        assert reply.json()["error"]["param"] == "prompt"
    for body in ({"prompt": ""}, {"prompt": "   "}):  # given, but says nothing
        reply = pi.generate(body)
        assert reply.status_code == 400, (body, reply.text)
        assert reply.json()["error"]["code"] == "invalid_prompt"
        assert reply.json()["error"]["param"] == "prompt"
    too_many = pi.generate({"prompt": "a chef", "reference_images": ["aGVsbG8="] * 7})
    assert too_many.status_code == 422
    assert pi.generate({"prompt": "x" * 5000}).status_code == 202


def test_pi_hints_steer_style_pose_and_culture_instead_of_prompt_text(stack: StackInfo) -> None:
    pi = PiClient(stack.api_url, stack.api_key)
    job_id = pi.generate(EXAMPLE).json()["data"]["job_id"]
    native = requests.get(
        f"{stack.api_url}/v1/jobs/{native_job_id(job_id)}",
        params={"wait_for_completion": "true", "timeout_seconds": "30"},
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=40,
    ).json()
    assert native["request"]["style"] == "realistic"
    assert native["request"]["attributes"]["pose"] == "close_up"
    assert native["request"]["attributes"]["ethnicity"] == "middle_east"
    final = native["provenance"]["final_prompt"]
    assert "filter culture" not in final and "art direction" not in final and "composition" not in final
    assert native["metadata"] == EXAMPLE["metadata"]


CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def native_job_id(pi_job_id: str) -> str:
    """docs/vendors.md: the UUID's 128 bits are the job id's (48 bits of milliseconds, then 80 random),
    written as 26 Crockford base-32 characters after `job_`."""
    number = uuid.UUID(pi_job_id).int
    chars = "".join(CROCKFORD[(number >> (5 * i)) & 31] for i in range(16))
    ms = number >> 80
    return "job_" + "".join(CROCKFORD[(ms >> (5 * i)) & 31] for i in range(10))[::-1] + chars[::-1]


def test_pi_takes_the_job_uuid_and_our_id_everywhere_it_takes_a_job_id(stack: StackInfo) -> None:
    pi = PiClient(stack.api_url, stack.api_key)
    job_uuid = pi.generate({"prompt": "two spellings of one id"}).json()["data"]["job_id"]
    ours = native_job_id(job_uuid)
    # Both spellings read the same job, shown with the UUID
    by_uuid, by_ours = pi.job(job_uuid).json(), pi.job(ours).json()
    assert by_uuid["status"] == "completed" and by_uuid == by_ours
    assert by_uuid["data"]["job_id"] == by_ours["data"]["job_id"] == job_uuid
    assert pi.job(job_uuid.upper()).status_code == 200
    # Both spellings save it; the saved avatar names the job by its UUID
    for spelling in (job_uuid, ours):
        saved = pi.save(spelling, f"saved via {spelling[:4]}")
        assert saved.status_code == 201, saved.text
        assert saved.json()["job_id"] == job_uuid
    # An unknown UUID is a 404 in the envelope
    missing = pi.job(str(uuid.uuid4()))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_saving_an_erased_job_is_409_image_gone(stack: StackInfo) -> None:
    pi = PiClient(stack.api_url, stack.api_key)
    job_uuid = pi.generate({"prompt": "soon erased"}).json()["data"]["job_id"]
    assert pi.job(job_uuid).json()["status"] == "completed"
    erased = requests.delete(
        f"{stack.api_url}/v1/jobs/{native_job_id(job_uuid)}",
        headers={"Authorization": f"Bearer {stack.api_key}"},
        timeout=30,
    )
    assert erased.status_code == 200, erased.text
    for reply in (
        pi.save(job_uuid, "too late"),
        requests.post(
            f"{stack.api_url}/v1/avatars/save",
            json={"job_id": native_job_id(job_uuid)},
            headers={"Authorization": f"Bearer {stack.api_key}"},
            timeout=30,
        ),
    ):
        assert reply.status_code == 409, reply.text
        assert reply.json()["error"]["code"] == "image_gone"
