"""The api function under moto, driven by the committed API Gateway events."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call

GENERATE = {
    "prompt": "smiling woman with red hair",
    "style": "noir",
    "num_variations": 2,
    "seed": 7,
    "client_reference_id": "run-1",
}


@pytest.fixture
def tenant(aws: AwsAccount) -> tuple[str, str]:
    return aws.add_tenant("acme")


def test_generate_queues_a_job_and_enqueues_it(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    # Given a tenant's key, When it posts a generation
    status, headers, job = api_call("generate_avatar", tenant[1], body=GENERATE)
    # Then the job is accepted, queued, points at itself and sits in the queue
    assert status == 202
    assert headers["Location"] == f"/v1/jobs/{job['id']}"
    assert job["object"] == "job" and job["status"] == "queued"
    assert job["credits"] == {"reserved": 2, "charged": 0, "refunded": 0}
    assert [a["seed"] for a in job["avatars"]] == [7, 8]
    assert job["request"]["style"] == "noir" and job["client_reference_id"] == "run-1"
    messages = aws.client("sqs").receive_message(QueueUrl=aws.env["GENERATION_QUEUE_URL"])["Messages"]
    assert json.loads(messages[0]["Body"]) == {
        "job_id": job["id"],
        "tenant_id": tenant[0],
        "model": job["model"],
        "credits_reserved": 2,
        "created_at": job["created_at"],
        "backend": "offline",
    }


def test_the_committed_generate_event_is_accepted_as_written(
    aws: AwsAccount, tenant: tuple[str, str]
) -> None:
    status, _, job = api_call("generate_avatar", tenant[1])
    assert status == 202, job
    # flux, 2 variations, with no real backend configured: the offline fallback's price (1 per variation)
    assert job["model"] == "flux" and job["credits"]["reserved"] == 2


def test_get_job_reads_back_and_another_tenant_gets_404(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    _, _, job = api_call("generate_avatar", tenant[1], body=GENERATE)
    status, _, fetched = api_call("get_job", tenant[1], path_params={"job_id": job["id"]})
    assert status == 200 and fetched["id"] == job["id"]
    _, other_key = aws.add_tenant("intruder")
    status, _, error = api_call("get_job", other_key, path_params={"job_id": job["id"]})
    assert status == 404 and error["error"]["code"] == "not_found"


def test_long_poll_returns_when_the_timeout_runs_out(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    _, _, job = api_call("generate_avatar", tenant[1], body=GENERATE)
    status, headers, fetched = api_call(
        "get_job", tenant[1], path_params={"job_id": job["id"]}, query={}, headers={"Prefer": "wait=1"}
    )
    assert status == 200 and fetched["status"] == "queued"
    assert headers["Preference-Applied"] == "wait=1"
    assert int(headers["X-Credits-Balance"]) >= 0  # the long-poll answer carries the balance too
    status, _, error = api_call(
        "get_job_wait",
        tenant[1],
        path_params={"job_id": job["id"]},
        query={"wait_for_completion": "true", "timeout_seconds": "31"},
    )
    assert (status, error["error"]["code"]) == (422, "validation_error")
    assert error["error"]["param"] == "timeout_seconds" and error["error"]["details"][0]["in"] == "query"


def test_list_jobs_pages_with_an_opaque_cursor_and_filters(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    ids = [
        api_call("generate_avatar", tenant[1], body={**GENERATE, "client_reference_id": f"r{i}"})[2]["id"]
        for i in range(3)
    ]
    status, _, page1 = api_call("list_jobs", tenant[1], query={"limit": "2"})
    assert status == 200 and [j["id"] for j in page1["data"]] == ids[::-1][:2]
    assert page1["has_more"] is True
    _, _, page2 = api_call("list_jobs", tenant[1], query={"limit": "2", "cursor": page1["next_cursor"]})
    assert [j["id"] for j in page2["data"]] == [ids[0]] and page2["has_more"] is False
    _, _, by_ref = api_call("list_jobs", tenant[1], query={"client_reference_id": "r1"})
    assert [j["id"] for j in by_ref["data"]] == [ids[1]]
    _, _, by_status = api_call("list_jobs", tenant[1], query={"status": "queued", "limit": "10"})
    assert len(by_status["data"]) == 3
    status, _, error = api_call("list_jobs", tenant[1], query={"cursor": "bm9wZQ"})
    assert status == 400 and error["error"]["param"] == "cursor"
    _, other_key = aws.add_tenant("intruder")
    _, _, theirs = api_call("list_jobs", other_key, query={"limit": "10"})
    assert theirs["data"] == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"body": {"prompt": "x" * 5001}}, 422, "validation_error"),
        ({"body": {"prompt": "x", "reference_images": ["aGk="] * 7}}, 422, "validation_error"),
        ({"body": {"prompt": "x", "metadata": {f"k{i}": "v" for i in range(17)}}}, 422, "validation_error"),
        ({"body": {"prompt": "x", "seed": 2**31}}, 422, "validation_error"),
        ({"body": {"prompt": "x", "output": {"aspect_ratio": "7:5"}}}, 422, "validation_error"),
        (
            {"body": {"prompt": "x", "reference_images": ["data:image/png;base64,!!!"]}},
            422,
            "validation_error",
        ),
        (
            {"body": {"prompt": "x", "reference_images": ["R0lGODlhAQABAAAAACw="]}},
            415,
            "unsupported_media_type",
        ),
        ({"raw_body": "{not json"}, 400, "invalid_request"),
        ({"raw_body": "[1, 2]"}, 400, "invalid_request"),
        ({"body": {"prompt": "x"}, "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
        ({"raw_body": ""}, 400, "invalid_request"),
        ({"raw_body": '"prompt"'}, 400, "invalid_request"),
        (
            {"raw_body": "prompt=x", "headers": {"content-type": "application/x-www-form-urlencoded"}},
            415,
            "unsupported_media_type",
        ),
        (  # generate takes form-data (302.AI's variant): one without a boundary cannot be read
            {"raw_body": '{"prompt": "x"}', "headers": {"content-type": "multipart/form-data"}},
            400,
            "invalid_request",
        ),
        ({"body": {"prompt": "x", "model": "dall-e-9"}}, 400, "model_unavailable"),
        ({"body": {"prompt": "x", "callback_url": "https://169.254.169.254/latest"}}, 400, "unsafe_url"),
    ],
)
def test_bad_input_gets_the_error_envelope_and_creates_nothing(
    aws: AwsAccount, tenant: tuple[str, str], kwargs: dict, status: int, code: str
) -> None:
    got_status, _, body = api_call("generate_avatar", tenant[1], **kwargs)
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert body["error"]["message"] and body["error"]["request_id"]
    if status == 422:
        assert body["error"]["details"][0]["loc"]
    _, _, jobs = api_call("list_jobs", tenant[1], query={"limit": "5"})
    assert jobs["data"] == []


@pytest.mark.parametrize("headers", [{}, {"authorization": "Bearer wrong"}, {"x-api-key": "nope"}])
def test_requests_without_a_valid_key_are_401(aws: AwsAccount, headers: dict) -> None:
    status, _, body = api_call("list_jobs", None, headers=headers)
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_x_api_key_header_works_like_bearer(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    status, _, _ = api_call("list_styles", None, headers={"x-api-key": tenant[1]})
    assert status == 200


def test_catalog_routes_and_health(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    _, _, styles = api_call("list_styles", tenant[1])
    assert {s["name"] for s in styles["data"]} >= {"professional", "anime", "noir", "pixar", "cinematic"}
    assert [s["id"] for s in styles["data"]] == list(range(1, 11))
    _, _, models = api_call("list_models", tenant[1])
    costs = {m["id"]: m["credits_per_variation"] for m in models["data"]}
    # no real backend configured: the seed ids are offline fallbacks at the offline model's price
    assert costs["flux"] == costs["imagen3"] == costs["reality4"] == costs["avatarsmith-studio"] == 1
    status, _, health = api_call("health", None)
    assert status == 200 and health["status"] == "ok"


def test_saving_a_job_that_is_not_completed_is_a_conflict(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    _, _, job = api_call("generate_avatar", tenant[1], body=GENERATE)
    status, _, body = api_call("save_avatar", tenant[1], body={"job_id": job["id"], "label": "x"})
    assert status == 409 and body["error"]["code"] == "job_not_completed"
    status, _, body = api_call("save_avatar", tenant[1], body={"job_id": "job_missing"})
    assert status == 404


def test_unknown_avatar_is_404(aws: AwsAccount, tenant: tuple[str, str]) -> None:
    status, _, body = api_call("get_avatar", tenant[1], path_params={"avatar_id": "ava_unknown"})
    assert status == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("name", "query", "param"),
    [
        ("list_jobs", {"limit": "0"}, "limit"),
        ("list_jobs", {"limit": "ten"}, "limit"),
        ("list_jobs", {"status": "lost"}, "status"),
        ("list_avatars", {"offset": "-1"}, "offset"),
        ("get_account", {"limit": "101"}, "limit"),
    ],
)
def test_query_parameters_out_of_their_schema_are_422_with_details(
    aws: AwsAccount, tenant: tuple[str, str], name: str, query: dict, param: str
) -> None:
    status, _, body = api_call(name, tenant[1], query=query)
    assert (status, body["error"]["code"], body["error"]["param"]) == (422, "validation_error", param)
    assert body["error"]["details"][0] == {
        "loc": param,
        "in": "query",
        "message": body["error"]["details"][0]["message"],
        "type": body["error"]["details"][0]["type"],
    }
    assert body["error"]["request_id"]


def test_a_route_that_accepts_forms_reads_them_and_rejects_a_multipart_body_without_boundary(
    aws: AwsAccount, tenant: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from routes import common

    monkeypatch.setattr(common, "FORM_BODY_ROUTES", set())
    common.accept_form_bodies("post", "/v1/webhook-callback-secret")
    form = {"content-type": "application/x-www-form-urlencoded"}
    status, _, body = api_call(
        "rotate_webhook_callback_secret", tenant[1], raw_body="overlap_seconds=99999999", headers=form
    )
    assert (status, body["error"].get("param")) == (422, "overlap_seconds"), body  # parsed as a form
    status, _, body = api_call(
        "rotate_webhook_callback_secret",
        tenant[1],
        raw_body="overlap_seconds=1",
        headers={"content-type": "multipart/form-data"},
    )
    assert (status, body["error"]["code"]) == (400, "invalid_request") and "boundary" in body["error"][
        "message"
    ]
    status, _, body = api_call(
        "rotate_webhook_endpoint_secret",
        tenant[1],
        raw_body="overlap_seconds=1",
        path_params={"endpoint_id": "we_x"},
        headers=form,
    )
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")  # not registered: JSON only
