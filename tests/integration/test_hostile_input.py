"""Regressions for hostile and odd input through the api function (moto): each answers in the error
envelope (or succeeds) and leaves stored data readable."""

from __future__ import annotations

import base64

import pytest

from avatarsmith.dal.jobs import JobRepository
from avatarsmith.dal.table import Table
from tests.conftest import AwsAccount, _reset_caches
from tests.integration.helpers import api_call
from tests.integration.stored_fixtures import completed_job


def _nested_cursor(depth: int = 1000) -> str:
    raw = ("[" * depth + "]" * depth).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def tenant(aws: AwsAccount) -> tuple[str, str]:
    return aws.add_tenant("acme")


def test_a_deeply_nested_cursor_is_refused_in_the_envelope(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    # Nested cursors that fit the declared 2048-character limit are a 400 from the cursor decoder; the
    # deeper ones are longer than the limit and are refused by the typed query parameter (422).
    decodable = (_nested_cursor(700), base64.b64encode(b'{"a":' * 280).decode())
    too_long = (_nested_cursor(), _nested_cursor(100_000), base64.b64encode(b'{"a":' * 5000).decode())
    for event in ("list_jobs", "list_avatars", "list_webhook_deliveries", "list_batches", "list_community"):
        for cursor, expected in [(c, (400, "invalid_request")) for c in decodable] + [
            (c, (422, "validation_error")) for c in too_long
        ]:
            assert (len(cursor) <= 2048) == (expected[0] == 400)
            status, _, body = api_call(event, tenant[1], query={"cursor": cursor})
            assert (status, body["error"]["code"]) == expected, (event, body)
            assert body["error"]["param"] == "cursor"
            assert body["error"]["request_id"]


def test_an_avatar_saved_with_any_label_reads_back_alone_and_in_lists(aws: AwsAccount) -> None:
    for label in (None, "", "ł" * 200):
        _check_saved_avatar_round_trip(aws, aws.add_tenant("acme"), label)


def _check_saved_avatar_round_trip(aws: AwsAccount, tenant: tuple[str, str], label: str | None) -> None:
    job = completed_job(tenant[0])
    JobRepository(Table(aws.env["TABLE_NAME"])).create(job)
    for variation in job.variations:  # saving copies the job's stored images
        for stored in (variation.image_key, variation.thumbnail_key):
            if stored:
                aws.client("s3").put_object(Bucket=aws.env["IMAGES_BUCKET_NAME"], Key=stored, Body=b"img")
    request = {"job_id": job.id} if label is None else {"job_id": job.id, "label": label}
    status, _, saved = api_call("save_avatar", tenant[1], body=request)
    assert status == 201, saved
    assert saved["label"] == label
    status, _, fetched = api_call("get_avatar", tenant[1], path_params={"avatar_id": saved["id"]})
    assert status == 200, fetched
    assert fetched == saved
    for query in ({}, {"offset": "0"}, {"limit": "1"}):
        status, _, listed = api_call("list_avatars", tenant[1], query=query)
        assert status == 200, listed
        assert [a["id"] for a in listed["data"]] == [saved["id"]]
        assert listed["data"][0]["label"] == label


UNSAFE = [
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[64:ff9b::a00:1]/",
    "https://[::7f00:1]/",
    "https://[2002:a9fe:a9fe::]/",
    "https://[2001:0:a00:1:8000:63bf:80ff:fffe]/",
    "https://[fec0::1]/",
    "https://[64:ff9b:1::a00:1]/",
]


@pytest.fixture
def loopback_refused(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployed default: loopback URLs refused too."""
    monkeypatch.delenv("AVATARSMITH_ALLOW_LOOPBACK_URLS", raising=False)
    _reset_caches()


def test_embedded_ipv4_addresses_are_refused_as_endpoints_callbacks_and_references(
    aws: AwsAccount, tenant: tuple[str, str], loopback_refused: None
) -> None:
    for url in UNSAFE:
        _check_refused_everywhere(tenant, url)


def _check_refused_everywhere(tenant: tuple[str, str], url: str) -> None:
    status, _, body = api_call("create_webhook_endpoint", tenant[1], body={"url": url})
    assert status == 400 and body["error"]["code"] == "unsafe_url" and body["error"]["param"] == "url"
    status, _, body = api_call("generate_avatar", tenant[1], body={"prompt": "x", "callback_url": url})
    assert status == 400 and body["error"]["code"] == "unsafe_url", body
    assert body["error"]["param"] == "callback_url"
    status, _, body = api_call(
        "generate_avatar", tenant[1], body={"prompt": "x", "reference_images": [url + "a.png"]}
    )
    assert status == 400 and body["error"]["code"] == "unsafe_url", body
    assert body["error"]["param"] == "reference_images[0]"
    _, _, listed = api_call("list_jobs", tenant[1], query={})
    assert listed["data"] == []
