"""Errors a prober runs into, each in the envelope and never a 5xx:
- 402 comes before 429 when a request is both unpaid for and over a limit;
- a thumbnail whose stored object is not a decodable image (overwritten, truncated) is a 422, a gone one 404;
- a single read of a stored item that no longer parses (job, avatar, batch, webhook endpoint, upload)
  answers like a missing one, 404, as lists already leave it out.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call, run_like_the_state_machine


def _error(status: int, body: dict[str, Any], expected_status: int, code: str) -> None:
    assert status == expected_status, (status, body)
    assert body["error"]["code"] == code and body["error"]["message"] and body["error"]["request_id"]


def test_a_batch_from_a_tenant_without_credits_is_402_even_past_its_limits(aws: AwsAccount) -> None:
    _, key = aws.add_tenant("broke", credits=0, max_concurrent_jobs=1, submits_per_minute=1)
    items = [{"prompt": f"a portrait {i}"} for i in range(3)]  # over both the concurrency and rate limits
    status, headers, body = api_call("create_batch", key, body={"items": items})
    _error(status, body, 402, "insufficient_credits")
    assert headers["X-Credits-Balance"] == "0"


def test_a_submit_that_is_unpaid_and_over_the_rate_is_402(aws: AwsAccount) -> None:
    _, key = aws.add_tenant("one-credit", credits=1, submits_per_minute=1)
    status, _, _ = api_call("generate_avatar", key, body={"prompt": "first"})
    assert status == 202  # the minute's only submit, and the last credit
    status, _, body = api_call("generate_avatar", key, body={"prompt": "second"})
    _error(status, body, 402, "insufficient_credits")
    status, _, body = api_call("create_batch", key, body={"items": [{"prompt": "third"}]})
    _error(status, body, 402, "insufficient_credits")


def _thumbnail(token_url: str) -> tuple[int, dict[str, str], Any]:
    from functions.api.app import lambda_handler
    from tests.conftest import lambda_context, load_event

    token = token_url.rsplit("/", 1)[-1]
    event = load_event("api/get_thumbnail.json")
    event["pathParameters"] = {"token": token}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/v1/thumbnails/{token}"
    result = lambda_handler(event, lambda_context("ApiFunction", 29))
    return result["statusCode"], result.get("headers", {}), result.get("body")


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"<html>not an image</html>", "text in place of the image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "a PNG signature and nothing decodable"),
        (b"", "an empty object"),
    ],
)
def test_a_thumbnail_whose_object_is_not_an_image_is_422(aws: AwsAccount, payload: bytes, why: str) -> None:
    import json

    tenant_id, key = aws.add_tenant("thumbs")
    _, _, job = api_call(
        "generate_avatar", key, body={"prompt": "a robot", "output": {"width": 256, "height": 256}}
    )
    run_like_the_state_machine(job["id"], tenant_id)
    _, _, done = api_call("get_job", key, path_params={"job_id": job["id"]})
    avatar = done["avatars"][0]
    status, _, _ = _thumbnail(avatar["thumbnail_url"])
    assert status == 200  # the link works while its object is an image
    image_key = f"tenants/{tenant_id}/jobs/{job['id']}/0.png"
    aws.client("s3").put_object(Bucket=aws.env["IMAGES_BUCKET_NAME"], Key=image_key, Body=payload)
    status, _, body = _thumbnail(avatar["thumbnail_url"])
    _error(status, json.loads(body), 422, "image_unreadable")
    aws.client("s3").delete_object(Bucket=aws.env["IMAGES_BUCKET_NAME"], Key=image_key)
    status, _, body = _thumbnail(avatar["thumbnail_url"])
    _error(status, json.loads(body), 404, "not_found")


def _put_raw(aws: AwsAccount, item: dict[str, Any]) -> None:
    from avatarsmith.dal.table import to_item

    aws.client("dynamodb").put_item(TableName=aws.env["TABLE_NAME"], Item=to_item(item))


def test_a_single_read_of_an_unreadable_stored_item_is_404(aws: AwsAccount) -> None:
    from avatarsmith import ids
    from avatarsmith.dal.avatars import AVATAR_PREFIX
    from avatarsmith.dal.batches import batch_sk
    from avatarsmith.dal.jobs import JOB_PREFIX
    from avatarsmith.dal.webhooks import ENDPOINT_PREFIX

    tenant_id, key = aws.add_tenant("damaged")
    pk = f"T#{tenant_id}"
    job_id, avatar_id, batch_id = ids.new_job_id(), ids.new_avatar_id(), ids.new_batch_id()
    endpoint_id = "whe_" + ids.new_job_id().removeprefix("job_")
    # Items that exist under the tenant's key but no longer parse (a bad status, a number as text, ...)
    _put_raw(aws, {"pk": pk, "sk": JOB_PREFIX + job_id, "type": "job", "status": "exploded", "credits": "x"})
    _put_raw(aws, {"pk": pk, "sk": AVATAR_PREFIX + avatar_id, "type": "avatar", "variation": "many"})
    _put_raw(aws, {"pk": pk, "sk": batch_sk(batch_id), "type": "batch", "job_ids": 7})
    _put_raw(aws, {"pk": pk, "sk": ENDPOINT_PREFIX + endpoint_id, "type": "webhook_endpoint", "url": 3})
    reads = [
        ("get_job", {"job_id": job_id}),
        ("cancel_job", {"job_id": job_id}),
        ("delete_job", {"job_id": job_id}),
        ("get_avatar", {"avatar_id": avatar_id}),
        ("publish_avatar", {"avatar_id": avatar_id}),
        ("get_batch", {"batch_id": batch_id}),
        ("get_webhook_endpoint", {"endpoint_id": endpoint_id}),
    ]
    for name, params in reads:
        status, _, body = api_call(name, key, path_params=params)
        assert status in (404, 410, 422), (name, status, body)
        assert body["error"]["code"] and body["error"]["request_id"], (name, body)
    # and the lists still answer, without them
    status, _, jobs = api_call("list_jobs", key, query={})
    assert status == 200 and all(j["id"] != job_id for j in jobs["data"])
