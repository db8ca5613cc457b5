"""Reference-photo uploads: a presigned S3 POST whose policy caps the size at 15 MB and fixes the type;
the upload id then stands in for the photo in `reference_images` (own tenant only)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call, dispatch_queued_messages, execution_arn, wait_for_execution

ASTRONAUT = (Path(__file__).resolve().parents[1] / "fixtures" / "astronaut.jpg").read_bytes()
MB = 1024 * 1024


def _jpeg_of_size(size: int) -> bytes:
    """A real JPEG (the astronaut) padded after its end marker to exactly `size` bytes."""
    return ASTRONAUT + b"\0" * (size - len(ASTRONAUT))


def _create_upload(key: str, content_type: str = "image/jpeg", size: int = 1000) -> dict[str, Any]:
    status, _, body = api_call("create_upload", key, body={"content_type": content_type, "size": size})
    assert status == 201, body
    return body


def _post_form(upload: dict[str, Any], data: bytes, content_type: str = "image/jpeg") -> requests.Response:
    return requests.post(
        upload["upload_url"],
        data=upload["fields"],
        files={"file": ("photo.jpg", io.BytesIO(data), content_type)},
        timeout=30,
    )


def test_create_upload_returns_a_presigned_post_form(aws: AwsAccount) -> None:
    # Given a tenant
    _, key = aws.add_tenant()
    # When it asks for an upload
    upload = _create_upload(key, size=12 * MB)
    # Then it gets an upl_ id and a POST form whose fields carry the policy and the content type
    assert upload["id"].startswith("upl_") and upload["object"] == "upload"
    assert upload["method"] == "POST"
    assert upload["fields"]["Content-Type"] == "image/jpeg"
    assert {"policy", "x-amz-signature", "key"} <= set(upload["fields"])
    assert upload["max_bytes"] == 15 * MB
    assert datetime.fromisoformat(upload["expires_at"].replace("Z", "+00:00")) > datetime.now(UTC)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"content_type": "image/jpeg", "size": 15 * MB + 1}, 413, "payload_too_large"),
        ({"content_type": "image/gif", "size": 1000}, 422, "validation_error"),
        ({"content_type": "image/jpeg", "size": 0}, 422, "validation_error"),
        ({"content_type": "image/jpeg"}, 422, "validation_error"),
    ],
)
def test_create_upload_refuses_bad_declarations(
    aws: AwsAccount, body: dict[str, Any], status: int, code: str
) -> None:
    _, key = aws.add_tenant()
    got, _, answer = api_call("create_upload", key, body=body)
    assert (got, answer["error"]["code"]) == (status, code)


def test_a_12_mb_upload_becomes_the_reference_of_a_completed_job(aws: AwsAccount) -> None:
    # Given a 12 MB JPEG uploaded through the form
    _, key = aws.add_tenant()
    upload = _create_upload(key, size=12 * MB)
    posted = _post_form(upload, _jpeg_of_size(12 * MB))
    assert posted.status_code == 204, posted.text
    # When a job names the upload
    status, _, job = api_call(
        "generate_avatar", key, body={"prompt": "portrait", "reference_images": [upload["id"]]}
    )
    assert status == 202, job
    assert job["request"]["reference_images"] == [{"kind": "s3", "media_type": "image/jpeg"}]
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    arn = execution_arn(aws.env, job["id"])
    execution = wait_for_execution(aws.client("stepfunctions"), arn)
    # Then the job completed
    assert execution["status"] == "SUCCEEDED"
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert final["status"] == "completed"


def test_the_policy_refuses_a_16_mb_file_and_another_content_type(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    upload = _create_upload(key)
    # When a 16 MB file is posted with the form, S3 refuses it with EntityTooLarge
    too_big = _post_form(upload, _jpeg_of_size(16 * MB))
    assert too_big.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_big.text
    # and a form whose Content-Type was changed fails the policy
    changed = {**upload, "fields": {**upload["fields"], "Content-Type": "text/html"}}
    refused = _post_form(changed, ASTRONAUT, "text/html")
    assert refused.status_code == 403 and "Policy Condition failed" in refused.text
    # and a tampered policy fails the signature
    forged = {**upload, "fields": {**upload["fields"], "policy": upload["fields"]["policy"][:-4] + "AAAA"}}
    assert _post_form(forged, ASTRONAUT).status_code == 403
    # Then nothing was stored, so a job naming the upload is told it is unfinished
    status, _, answer = api_call(
        "generate_avatar", key, body={"prompt": "p", "reference_images": [upload["id"]]}
    )
    assert (status, answer["error"]["code"], answer["error"]["param"]) == (
        409,
        "upload_incomplete",
        "reference_images[0]",
    )


def test_unknown_and_foreign_uploads_are_not_found(aws: AwsAccount) -> None:
    # Given tenant A's finished upload
    _, key_a = aws.add_tenant("a")
    _, key_b = aws.add_tenant("b")
    upload = _create_upload(key_a)
    assert _post_form(upload, ASTRONAUT).status_code == 204
    # When tenant B names it, or anyone names an id that does not exist
    for key, upload_id in ((key_b, upload["id"]), (key_a, "upl_" + "0" * 26)):
        status, _, answer = api_call(
            "generate_avatar", key, body={"prompt": "p", "reference_images": [upload_id]}
        )
        # Then it is 404 in the envelope, and nothing was reserved
        assert (status, answer["error"]["code"]) == (404, "not_found")


def test_an_upload_that_is_not_an_image_is_refused(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    upload = _create_upload(key)
    assert _post_form(upload, b"not an image at all").status_code == 204
    status, _, answer = api_call(
        "generate_avatar", key, body={"prompt": "p", "reference_images": [upload["id"]]}
    )
    assert (status, answer["error"]["code"]) == (415, "unsupported_media_type")


def test_an_expired_upload_is_gone(aws: AwsAccount) -> None:
    from avatarsmith.errors import UploadExpiredError
    from avatarsmith.logic.uploads import UPLOAD_USABLE_SECONDS, resolve_upload
    from functions.api.app import get_services

    tenant_id, key = aws.add_tenant()
    upload = _create_upload(key)
    assert _post_form(upload, ASTRONAUT).status_code == 204
    later = datetime.now(UTC) + timedelta(seconds=UPLOAD_USABLE_SECONDS + 60)
    with pytest.raises(UploadExpiredError):
        resolve_upload(get_services(), tenant_id, upload["id"], param="reference_images[0]", now=later)
    # an unfinished upload whose form expired is gone too
    unfinished = _create_upload(key)
    form_over = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(UploadExpiredError):
        resolve_upload(
            get_services(), tenant_id, unfinished["id"], param="reference_images[0]", now=form_over
        )
