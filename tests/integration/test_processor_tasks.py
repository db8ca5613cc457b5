"""The processor's tasks, driven one by one with the committed events/statemachine/*.json payloads
(the same payloads the ASL builds), so the events stay true to the handler's contract."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from tests.conftest import AwsAccount, lambda_context, load_event
from tests.integration.helpers import api_call


def _task(name: str, job_id: str, tenant_id: str, **extra: Any) -> dict[str, Any]:
    return load_event(f"statemachine/{name}.json") | {"job_id": job_id, "tenant_id": tenant_id} | extra


@pytest.mark.usefixtures("fast_polls")
def test_submit_poll_store_complete_with_the_committed_events(aws: AwsAccount) -> None:
    from functions.processor.app import lambda_handler

    # Given a queued 2-variation job on the asynchronous test backend
    tenant_id, key = aws.add_tenant()
    _, _, job = api_call(
        "generate_avatar", key, body={"prompt": "x", "model": "test-async", "num_variations": 2}
    )
    ctx = lambda_context("ProcessorFunction", 120)
    # When the tasks run in the order the state machine runs them
    generation = lambda_handler(_task("submit", job["id"], tenant_id), ctx)
    assert generation["status"] == "pending" and generation["backend"] == "async-test"
    _, _, processing = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert processing["status"] == "processing"
    while generation["status"] == "pending":
        generation = lambda_handler(_task("poll", job["id"], tenant_id, generation=generation), ctx)
    assert generation["polls"] == 3
    stored = lambda_handler(_task("store", job["id"], tenant_id, generation=generation), ctx)
    event = lambda_handler(
        _task("mark_completed", job["id"], tenant_id, generation=generation, variations=stored["variations"]),
        ctx,
    )
    # Then the job is completed, charged, and its images download from fresh presigned URLs
    assert event["status"] == "completed" and event["credits"]["charged"] == 2
    # the event is thin: ids, status and credits, no image data and no URLs
    assert len(json.dumps(event)) < 1024 and "http" not in json.dumps(event)
    assert event["variations"] == [{"index": 0, "status": "completed"}, {"index": 1, "status": "completed"}]
    _, _, done = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert (
        done["status"] == "completed" and done["provenance"]["backend_job_id"] == generation["backend_job_id"]
    )
    for avatar in done["avatars"]:
        image = Image.open(io.BytesIO(requests.get(avatar["image_url"], timeout=10).content))
        assert image.size == (1024, 1024)
    # And running MarkCompleted again changes nothing
    again = lambda_handler(
        _task("mark_completed", job["id"], tenant_id, generation=generation, variations=stored["variations"]),
        ctx,
    )
    assert again == event


def test_every_committed_task_event_parses(aws: AwsAccount) -> None:
    from avatarsmith.models.tasks import ProcessorTask

    for name in ("submit", "poll", "store", "mark_completed", "mark_failed"):
        task = ProcessorTask.model_validate({"task": load_event(f"statemachine/{name}.json")}).task
        assert task.action == name


def test_a_task_for_another_tenants_job_finds_nothing(aws: AwsAccount) -> None:
    from functions.processor.app import lambda_handler

    _, key = aws.add_tenant("owner")
    other_tenant, _ = aws.add_tenant("other")
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x"})
    with pytest.raises(Exception, match="does not exist"):
        lambda_handler(_task("submit", job["id"], other_tenant), lambda_context("ProcessorFunction"))


def test_the_asl_asks_poll_and_store_to_settle_and_publishes_what_they_answer() -> None:
    """The STANDARD workflow's PollGeneration and StoreImages carry `settle` (one invocation stores and
    completes); the completed event is published from what they answer; MarkCompleted is gone."""
    asl = json.loads(Path("statemachine/generate_avatar.asl.json").read_text())["States"]
    assert asl["PollGeneration"]["Parameters"]["settle"] is True
    assert asl["StoreImages"]["Parameters"]["settle"] is True
    assert asl["StoreImages"]["ResultPath"] == asl["PollGeneration"]["ResultPath"] == "$.generation"
    assert asl["PublishCompletedEvent"]["Parameters"]["Entries"][0]["Detail.$"] == "$.generation.event"
    assert "MarkCompleted" not in asl
    for name in ("PollGeneration", "StoreImages"):  # a failure still refunds
        assert asl[name]["Catch"][0]["Next"] == "MarkFailed"
        assert asl[name]["TimeoutSeconds"] >= 310  # room for the store


@pytest.mark.usefixtures("fast_polls")
def test_a_settling_poll_stores_and_completes_once_and_a_retry_answers_the_same(aws: AwsAccount) -> None:
    from functions.processor.app import lambda_handler

    # Given a submitted 2-variation job on the asynchronous test backend
    tenant_id, key = aws.add_tenant()
    _, _, before = api_call("get_account", key)
    _, _, job = api_call(
        "generate_avatar", key, body={"prompt": "x", "model": "test-async", "num_variations": 2}
    )
    ctx = lambda_context("ProcessorFunction", 120)
    generation = lambda_handler(_task("submit", job["id"], tenant_id), ctx)
    # When it is polled with `settle` until the backend is ready
    polls = 0
    while generation["status"] == "pending":
        generation = lambda_handler(
            _task("poll", job["id"], tenant_id, generation=generation, settle=True), ctx
        )
        polls += 1
    # Then the poll that found the images ready stored them and completed the job
    assert polls == 3 and generation["status"] == "completed"
    event = generation["event"]
    assert event["status"] == "completed" and event["credits"]["charged"] == 2
    _, _, done = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert done["status"] == "completed" and [a["status"] for a in done["avatars"]] == ["completed"] * 2
    # And a retried step (its first attempt timed out after the settling write) answers the same event
    # without charging again, so the run still publishes it
    last_handle = load_event("statemachine/poll.json")["generation"] | {
        "backend_job_id": done["provenance"]["backend_job_id"]
    }
    again = lambda_handler(_task("poll", job["id"], tenant_id, generation=last_handle, settle=True), ctx)
    assert again == generation
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"]) == (before["balance"] - 2, 0)


@pytest.mark.usefixtures("fast_polls")
def test_a_settling_store_completes_and_a_canceled_job_is_not_stored(aws: AwsAccount) -> None:
    from functions.processor.app import lambda_handler

    tenant_id, key = aws.add_tenant()
    ctx = lambda_context("ProcessorFunction", 120)

    def ready(job_id: str) -> dict[str, Any]:
        generation = lambda_handler(_task("submit", job_id, tenant_id), ctx)
        while generation["status"] == "pending":
            generation = lambda_handler(_task("poll", job_id, tenant_id, generation=generation), ctx)
        return generation

    # A settling StoreImages stores and completes in one invocation; run again, it answers the same
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "model": "test-async"})
    generation = ready(job["id"])
    stored = lambda_handler(_task("store", job["id"], tenant_id, generation=generation, settle=True), ctx)
    assert stored["status"] == "completed" and stored["event"]["credits"]["charged"] == 1
    assert (
        lambda_handler(_task("store", job["id"], tenant_id, generation=generation, settle=True), ctx)
        == stored
    )
    # A job canceled before its images are ready is neither stored nor charged by a settling poll
    _, _, other = api_call("generate_avatar", key, body={"prompt": "y", "model": "test-async"})
    pending = lambda_handler(_task("submit", other["id"], tenant_id), ctx)
    status, _, _ = api_call("cancel_job", key, path_params={"job_id": other["id"]})
    assert status == 200
    with pytest.raises(Exception, match="canceled"):
        while True:
            pending = lambda_handler(
                _task("poll", other["id"], tenant_id, generation=pending, settle=True), ctx
            )
    _, _, canceled = api_call("get_job", key, path_params={"job_id": other["id"]})
    assert canceled["status"] == "canceled" and canceled["credits"]["charged"] == 0
    assert not any(a.get("image_url") for a in canceled.get("avatars", []))
