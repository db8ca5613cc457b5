"""End to end on the local stack, as a user with curl: reference photos over Lambda's 6 MB request limit
are refused in the envelope, while an upload form takes a 12 MB photo (and refuses 16 MB) and the
upload id feeds a job that completes; the community gallery across two tenants."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import EmbeddedStack, StackInfo

pytestmark = pytest.mark.e2e

ASTRONAUT = (Path(__file__).resolve().parents[1] / "fixtures" / "astronaut.jpg").read_bytes()
MB = 1024 * 1024


def _jpeg(size: int) -> bytes:
    return ASTRONAUT + b"\0" * (size - len(ASTRONAUT))


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[EmbeddedStack, StackInfo]]:
    local = EmbeddedStack(api_port=0, extra_env={"AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"})
    info = local.start()
    try:
        yield local, info
    finally:
        local.stop()


def _session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def _wait(session: requests.Session, base: str, job_id: str) -> dict[str, Any]:
    waited = session.get(f"{base}/v1/jobs/{job_id}", params={"wait_for_completion": "true"}, timeout=40)
    return dict(waited.json())


def test_a_request_over_6_mb_is_a_413_envelope_and_one_under_it_works(
    stack: tuple[EmbeddedStack, StackInfo],
) -> None:
    _, info = stack
    session = _session(info.api_key)
    # Given a 5 MB photo inline: its base64 JSON body (~6.7 MB) is over what a Lambda invocation carries
    inline = "data:image/jpeg;base64," + base64.b64encode(_jpeg(5 * MB)).decode()
    refused = session.post(
        f"{info.api_url}/v1/avatars/generate", json={"prompt": "p", "reference_images": [inline]}, timeout=60
    )
    # Then the stack answers 413 in the envelope, naming the upload route
    assert refused.status_code == 413
    error = refused.json()["error"]
    assert error["code"] == "payload_too_large" and "/v1/uploads" in error["message"]
    # while a 4 MB photo inline still fits (5.6 MB of JSON)
    small = "data:image/jpeg;base64," + base64.b64encode(_jpeg(4 * MB)).decode()
    accepted = session.post(
        f"{info.api_url}/v1/avatars/generate", json={"prompt": "p", "reference_images": [small]}, timeout=60
    )
    assert accepted.status_code == 202, accepted.text


def test_a_12_mb_upload_feeds_a_job_and_16_mb_is_refused(stack: tuple[EmbeddedStack, StackInfo]) -> None:
    _, info = stack
    session = _session(info.api_key)
    upload = session.post(
        f"{info.api_url}/v1/uploads", json={"content_type": "image/jpeg", "size": 12 * MB}, timeout=10
    ).json()
    # The form goes to the emulator's S3, not through the API
    assert upload["upload_url"].startswith(info.moto_url)
    too_big = requests.post(
        upload["upload_url"], data=upload["fields"], files={"file": ("a.jpg", _jpeg(16 * MB))}, timeout=60
    )
    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    posted = requests.post(
        upload["upload_url"], data=upload["fields"], files={"file": ("a.jpg", _jpeg(12 * MB))}, timeout=60
    )
    assert posted.status_code == 204, posted.text
    job = session.post(
        f"{info.api_url}/v1/avatars/generate",
        json={"prompt": "portrait", "reference_images": [upload["id"]]},
        timeout=10,
    ).json()
    assert _wait(session, info.api_url, job["id"])["status"] == "completed"


def test_publish_browse_and_unpublish_across_two_tenants(stack: tuple[EmbeddedStack, StackInfo]) -> None:
    local, info = stack
    owner = _session(info.api_key)
    _, other_key = local.add_tenant("viewer")
    viewer = _session(other_key)
    job = owner.post(
        f"{info.api_url}/v1/avatars/generate", json={"prompt": "gallery piece"}, timeout=10
    ).json()
    assert _wait(owner, info.api_url, job["id"])["status"] == "completed"
    saved = owner.post(
        f"{info.api_url}/v1/avatars/save", json={"job_id": job["id"], "label": "shared"}, timeout=10
    ).json()
    published = owner.post(f"{info.api_url}/v1/avatars/{saved['id']}/publish", timeout=10).json()
    gallery = viewer.get(f"{info.api_url}/v1/community", timeout=10).json()
    assert published["community_id"] in [e["id"] for e in gallery["data"]]
    entry = next(e for e in gallery["data"] if e["id"] == published["community_id"])
    assert requests.get(entry["image_url"], timeout=10).status_code == 200
    assert info.tenant_id not in str(gallery) and "gallery piece" not in str(gallery)
    owner.post(f"{info.api_url}/v1/avatars/{saved['id']}/unpublish", timeout=10)
    after = viewer.get(f"{info.api_url}/v1/community", timeout=10).json()
    assert published["community_id"] not in [e["id"] for e in after["data"]]
