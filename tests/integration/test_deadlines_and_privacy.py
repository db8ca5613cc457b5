"""Per-request deadlines (Cancel-After, deadline_seconds) through the real state machine with a slow
backend, and reference photos deleted when the job ends (unless kept)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import (
    api_call,
    dispatch_queued_messages,
    execution_arn,
    state_names_entered,
    wait_for_execution,
)

pytestmark = pytest.mark.statemachine

ASTRONAUT = (Path(__file__).resolve().parents[1] / "fixtures" / "astronaut.jpg").read_bytes()
PHOTO = "data:image/jpeg;base64," + base64.b64encode(ASTRONAUT).decode()


def _run(
    aws: AwsAccount, key: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    status, _, job = api_call("generate_avatar", key, body=body, headers=headers)
    assert status == 202, job
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    sfn = aws.client("stepfunctions")
    arn = execution_arn(aws.env, job["id"])
    execution = wait_for_execution(sfn, arn)
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    return execution, final, state_names_entered(sfn, arn)


def _slow_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLLS", "1000")  # never ready in time
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLL_SECONDS", "1")


@pytest.mark.parametrize(
    ("body", "headers"),
    [({}, {"Cancel-After": "2s"}), ({"deadline_seconds": 2}, None)],
    ids=["cancel-after-header", "deadline_seconds"],
)
def test_a_job_past_its_deadline_ends_canceled_and_refunded(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, body: dict[str, Any], headers: dict[str, str] | None
) -> None:
    from avatarsmith.backends import async_test

    async_test.CANCELED.clear()
    # Given a slow backend and a job that may take 2 seconds from creation
    _slow_backend(monkeypatch)
    _, key = aws.add_tenant(credits=100)
    # When it runs through the state machine
    execution, job, states = _run(
        aws, key, {"prompt": "p", "model": "test-async", "num_variations": 2, **body}, headers
    )
    # Then it ended canceled with deadline_exceeded, every credit refunded, the backend task cancelled
    assert execution["status"] == "SUCCEEDED" and "MarkFailed" in states
    assert job["status"] == "canceled"
    assert job["error"]["code"] == "deadline_exceeded"
    assert job["credits"]["charged"] == 0 and job["credits"]["refunded"] == job["credits"]["reserved"] > 0
    assert job["deadline_at"] is not None
    assert job["provenance"].get("backend_job_id") is None  # never completed
    if "PollGeneration" in states:  # (a loaded machine may reach the deadline before the first poll)
        assert async_test.CANCELED, "the backend was asked to cancel its task"
    _, _, account = api_call("get_account", key)
    assert account["balance"] == 100 and account["reserved"] == 0


def test_a_job_within_its_deadline_completes(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLLS", "1")
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLL_SECONDS", "0")
    _, key = aws.add_tenant()
    _, job, _ = _run(aws, key, {"prompt": "p", "model": "test-async"}, {"Cancel-After": "5m"})
    assert job["status"] == "completed"
    assert job["deadline_at"] > job["created_at"]


@pytest.mark.parametrize("value", ["soon", "0", "25h", "1.5s", "-3", "90000"])
def test_a_malformed_cancel_after_is_a_400(aws: AwsAccount, value: str) -> None:
    _, key = aws.add_tenant()
    status, _, answer = api_call(
        "generate_avatar", key, body={"prompt": "p"}, headers={"Cancel-After": value}
    )
    assert (status, answer["error"]["code"], answer["error"]["param"]) == (
        400,
        "invalid_request",
        "Cancel-After",
    )


def test_cancel_after_forms(aws: AwsAccount) -> None:
    from avatarsmith.logic.job_end import parse_cancel_after

    assert [parse_cancel_after(v) for v in ("45s", "5m", "1h30m", "120", "1h", "2m5s")] == [
        45,
        300,
        5400,
        120,
        3600,
        125,
    ]


def _s3_keys(aws: AwsAccount, prefix: str) -> set[str]:
    listed = aws.client("s3").list_objects_v2(Bucket=aws.env["IMAGES_BUCKET_NAME"], Prefix=prefix)
    return {o["Key"] for o in listed.get("Contents", [])}


def test_reference_photos_are_deleted_when_the_job_ends(aws: AwsAccount) -> None:
    # Given a job with an inline reference photo
    tenant_id, key = aws.add_tenant()
    _, job, _ = _run(aws, key, {"prompt": "p", "reference_images": [PHOTO]})
    # Then once it completed its references are gone and the job says when
    assert job["status"] == "completed"
    assert _s3_keys(aws, f"tenants/{tenant_id}/jobs/{job['id']}/references/") == set()
    assert job["references_purged_at"] is not None and job["reference_retention"] == "delete"
    # while its images stay
    assert _s3_keys(aws, f"tenants/{tenant_id}/jobs/{job['id']}/0.")


def test_reference_retention_keep_keeps_them(aws: AwsAccount) -> None:
    tenant_id, key = aws.add_tenant()
    _, job, _ = _run(aws, key, {"prompt": "p", "reference_images": [PHOTO], "reference_retention": "keep"})
    assert job["status"] == "completed" and job["references_purged_at"] is None
    assert len(_s3_keys(aws, f"tenants/{tenant_id}/jobs/{job['id']}/references/")) == 1


def test_a_failed_job_loses_its_references_too(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_backend(monkeypatch)
    tenant_id, key = aws.add_tenant()
    _, job, _ = _run(
        aws, key, {"prompt": "p", "model": "test-async", "reference_images": [PHOTO], "deadline_seconds": 1}
    )
    assert job["status"] == "canceled" and job["references_purged_at"]
    assert _s3_keys(aws, f"tenants/{tenant_id}/jobs/{job['id']}/references/") == set()


def test_a_poll_past_the_deadline_cancels_the_backend_task(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.backends import async_test
    from avatarsmith.errors import DeadlineExceededError
    from avatarsmith.logic import workflow
    from avatarsmith.models.domain import JobStatus
    from functions.processor.app import get_services

    # Given a processing job on the slow backend whose own deadline has just passed
    _slow_backend(monkeypatch)
    tenant_id, key = aws.add_tenant()
    _, _, created = api_call(
        "generate_avatar", key, body={"prompt": "p", "model": "test-async", "deadline_seconds": 1}
    )
    services = get_services()
    handle = workflow.submit_generation(
        services, tenant_id=tenant_id, job_id=created["id"], deadline_seconds=900
    )
    assert handle["poll_after_seconds"] <= 1  # the wait never overshoots the deadline
    job = services.jobs.get(tenant_id, created["id"])
    assert job is not None and job.status == JobStatus.PROCESSING
    import time

    time.sleep(1.1)
    async_test.CANCELED.clear()
    # When the next poll runs, Then it cancels the backend task and ends with deadline_exceeded
    with pytest.raises(DeadlineExceededError):
        workflow.poll_generation(services, tenant_id=tenant_id, job_id=created["id"], generation=handle)
    assert {handle["backend_job_id"]} == async_test.CANCELED


def test_delete_erases_a_finished_jobs_images_and_inputs_but_not_saved_copies(aws: AwsAccount) -> None:
    import requests

    # Given a completed job with a kept reference and a saved avatar
    tenant_id, key = aws.add_tenant()
    _, job, _ = _run(aws, key, {"prompt": "p", "reference_images": [PHOTO], "reference_retention": "keep"})
    _, _, saved = api_call("save_avatar", key, body={"job_id": job["id"]})
    # When the job is deleted
    status, _, erased = api_call("delete_job", key, path_params={"job_id": job["id"]})
    # Then its images, thumbnails and references are gone, and the job says so
    assert status == 200 and erased["erased_at"] and erased["references_purged_at"]
    assert _s3_keys(aws, f"tenants/{tenant_id}/jobs/{job['id']}/") == set()
    assert "image_url" not in erased["avatars"][0]
    # while the saved avatar still downloads, and deleting again is harmless
    _, _, avatar = api_call("get_avatar", key, path_params={"avatar_id": saved["id"]})
    assert requests.get(avatar["image_url"], timeout=10).status_code == 200
    assert api_call("delete_job", key, path_params={"job_id": job["id"]})[0] == 200


def test_delete_refuses_a_running_job_and_another_tenants_job(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = aws.add_tenant("a")
    _, other = aws.add_tenant("b")
    _, _, job = api_call("generate_avatar", key, body={"prompt": "p"})
    status, _, answer = api_call("delete_job", key, path_params={"job_id": job["id"]})
    assert (status, answer["error"]["code"]) == (409, "job_not_finished")
    assert api_call("delete_job", other, path_params={"job_id": job["id"]})[0] == 404
