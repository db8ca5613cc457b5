"""The processor's tasks, driven one by one with the committed events/statemachine/*.json payloads
(the same payloads the ASL builds), so the events stay true to the handler's contract."""

from __future__ import annotations

import io
import json
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
