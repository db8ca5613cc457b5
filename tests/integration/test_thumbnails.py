"""Thumbnails rendered on request: a job stores one object per image, and `thumbnail_url` is a signed link
on the API that renders the 256 px thumbnail when fetched (no API key, like a presigned URL)."""

from __future__ import annotations

import base64
import copy
import io
from typing import Any

from PIL import Image

from tests.conftest import AwsAccount, lambda_context, load_event
from tests.integration.helpers import api_call


def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a thumbnail link through the api function, as API Gateway would pass it."""
    from functions.api.app import lambda_handler

    token = url.rsplit("/", 1)[1]
    event = copy.deepcopy(load_event("api/get_thumbnail.json"))
    event["pathParameters"] = {"token": token}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/thumbnails/{token}"
    result = lambda_handler(event, lambda_context("ApiFunction", 29))
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return result["statusCode"], result.get("headers", {}), raw


def _completed_job(aws: AwsAccount, key: str, tenant_id: str, **body: Any) -> dict[str, Any]:
    from functions.processor.app import lambda_handler

    _, _, job = api_call("generate_avatar", key, body={"prompt": "a lighthouse keeper", **body})
    task = {"action": "generate", "job_id": job["id"], "tenant_id": tenant_id, "run_id": "run-1"}
    lambda_handler(task, lambda_context("ProcessorFunction"))
    _, _, done = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert done["status"] == "completed"
    return done


def test_a_completed_job_stores_one_object_and_renders_its_thumbnail_when_asked(aws: AwsAccount) -> None:
    # Given a completed 2-variation 768x512 WebP job
    tenant_id, key = aws.add_tenant(credits=100)
    body = {"num_variations": 2, "output": {"width": 768, "height": 512, "format": "webp"}}
    job = _completed_job(aws, key, tenant_id, **body)
    # Then S3 holds the two images and nothing else
    listed = aws.client("s3").list_objects_v2(
        Bucket=aws.env["IMAGES_BUCKET_NAME"], Prefix=f"tenants/{tenant_id}/jobs/{job['id']}/"
    )
    assert sorted(o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]) == ["0.webp", "1.webp"]
    # And each thumbnail_url is a link on this API that needs no key and answers the 256 px thumbnail
    for avatar in job["avatars"]:
        url = avatar["thumbnail_url"]
        assert url.startswith("https://abc123.execute-api.us-east-1.amazonaws.com/v1/thumbnails/")
        status, headers, data = _fetch(url)
        assert status == 200 and headers["Content-Type"] == "image/webp"
        thumb = Image.open(io.BytesIO(data))
        assert (thumb.format, thumb.size) == ("WEBP", (256, 171))


def test_an_altered_or_expired_thumbnail_link_is_a_404(aws: AwsAccount, monkeypatch: Any) -> None:
    from avatarsmith.logic import thumbnails

    # Given a completed job's thumbnail link
    tenant_id, key = aws.add_tenant(credits=100)
    url = _completed_job(aws, key, tenant_id)["avatars"][0]["thumbnail_url"]
    payload, signature = url.rsplit("/", 1)[1].split(".")
    # When the link is altered to name another image (same signature), or its signature is changed
    other = base64.urlsafe_b64encode(b'{"k":"tenants/x/jobs/y/0.png","e":4102444800}').decode().rstrip("=")
    for altered in (f"{other}.{signature}", f"{payload}.{signature[::-1]}", payload, "x" * 300):
        status, headers, data = _fetch(url.rsplit("/", 1)[0] + "/" + altered)
        # Then the API answers 404 in the error envelope
        assert status == 404 and headers["Content-Type"] == "application/json", altered
        assert b'"code":"not_found"' in data
    # And the genuine link stops working once it expires
    monkeypatch.setattr(thumbnails.time, "time", lambda: 4102444800.0)
    assert _fetch(url)[0] == 404


def test_a_saved_avatar_keeps_a_thumbnail_link_after_its_job_is_erased(aws: AwsAccount) -> None:
    # Given a completed job, saved as an avatar
    tenant_id, key = aws.add_tenant(credits=100)
    job = _completed_job(aws, key, tenant_id)
    status, _, avatar = api_call("save_avatar", key, body={"job_id": job["id"], "variation": 0})
    assert status == 201, avatar
    job_link = job["avatars"][0]["thumbnail_url"]
    # When the job is erased
    assert api_call("delete_job", key, path_params={"job_id": job["id"]})[0] == 200
    # Then the job's thumbnail link finds no image, and the saved avatar's own link still renders
    assert _fetch(job_link)[0] == 404
    _, _, saved = api_call("get_avatar", key, path_params={"avatar_id": avatar["id"]})
    status, _, data = _fetch(saved["thumbnail_url"])
    assert status == 200 and Image.open(io.BytesIO(data)).size == (256, 256)


def test_a_published_avatar_without_a_stored_thumbnail_is_listed_with_a_working_link(aws: AwsAccount) -> None:
    # Given a saved avatar whose image was stored without a thumbnail object, published to the gallery
    tenant_id, key = aws.add_tenant(credits=100)
    job = _completed_job(aws, key, tenant_id)
    _, _, saved = api_call("save_avatar", key, body={"job_id": job["id"], "label": "shared"})
    status, _, _ = api_call("publish_avatar", key, path_params={"avatar_id": saved["id"]})
    assert status == 200
    # When another tenant browses the gallery
    _, other_key = aws.add_tenant()
    _, _, gallery = api_call("list_community", other_key)
    # Then the entry is listed, and its thumbnail link renders without naming the owner
    (entry,) = gallery["data"]
    assert (
        tenant_id
        not in base64.urlsafe_b64decode(
            entry["thumbnail_url"].rsplit("/", 1)[1].split(".")[0] + "=="
        ).decode()
    )
    status, _, data = _fetch(entry["thumbnail_url"])
    assert status == 200 and Image.open(io.BytesIO(data)).size == (256, 256)
