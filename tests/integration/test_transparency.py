"""Progress and transparency: job progress and per-variation credits, RateLimit-* headers on every
authenticated answer, job metadata echoed in events and webhook payloads (schema version 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call, dispatch_queued_messages, execution_arn, wait_for_execution

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / name).read_text()))


def test_rate_limit_headers_on_every_authenticated_answer(aws: AwsAccount) -> None:
    _, key = aws.add_tenant(requests_per_minute=50)
    # a success, a client error and a long list: all carry the caller's window
    status, ok_headers, _ = api_call("list_jobs", key, query={})
    missing, miss_headers, _ = api_call("get_job", key, path_params={"job_id": "job_" + "0" * 26})
    assert (status, missing) == (200, 404)
    assert ok_headers["RateLimit-Limit"] == "50" and miss_headers["RateLimit-Limit"] == "50"
    assert int(ok_headers["RateLimit-Remaining"]) == int(miss_headers["RateLimit-Remaining"]) + 1
    assert 1 <= int(ok_headers["RateLimit-Reset"]) <= 60
    # an unauthenticated answer has none
    _, anonymous, _ = api_call("list_jobs", None, query={})
    assert "RateLimit-Limit" not in anonymous


def test_progress_and_per_variation_credits(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    status, _, queued = api_call("generate_avatar", key, body={"prompt": "p", "num_variations": 2})
    assert status == 202
    assert queued["progress"] == {"stage": "queued", "variations_done": 0, "variations_total": 2}
    assert [a["credits"] for a in queued["avatars"]] == [0, 0]
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    arn = execution_arn(aws.env, queued["id"])
    wait_for_execution(aws.client("stepfunctions"), arn)
    _, _, done = api_call("get_job", key, path_params={"job_id": queued["id"]})
    assert done["progress"] == {"stage": "finished", "variations_done": 2, "variations_total": 2}
    assert sum(a["credits"] for a in done["avatars"]) == done["credits"]["charged"] == 2


def test_progress_counts_variations_as_they_are_stored(aws: AwsAccount) -> None:
    from avatarsmith.logic.presenters import progress_of
    from functions.api.app import get_services

    tenant_id, key = aws.add_tenant()
    _, _, queued = api_call("generate_avatar", key, body={"prompt": "p", "num_variations": 3})
    services = get_services()
    job = services.jobs.get(tenant_id, queued["id"])
    assert job is not None
    from avatarsmith.models.domain import JobStatus

    running = services.jobs.transition(
        job, to=JobStatus.PROCESSING, allowed_from=(JobStatus.QUEUED,), now=job.updated_at
    )
    assert progress_of(running)["stage"] == "generating"
    stored = services.jobs.record(running, set_values={"variations_stored": 2})
    assert stored is not None
    assert progress_of(stored) == {"stage": "storing", "variations_done": 2, "variations_total": 3}


def test_metadata_is_echoed_in_events_and_webhook_payloads(aws: AwsAccount) -> None:
    from avatarsmith.logic.events import job_event_detail
    from avatarsmith.logic.notifier import build_payload
    from avatarsmith.models.webhooks import WebhookDelivery
    from functions.api.app import get_services

    tenant_id, key = aws.add_tenant()
    _, _, created = api_call("generate_avatar", key, body={"prompt": "p", "metadata": {"order": "A-17"}})
    services = get_services()
    job = services.jobs.get(tenant_id, created["id"])
    assert job is not None
    detail = job_event_detail(job)
    assert detail["metadata"] == {"order": "A-17"} and detail["version"] == "2"
    event = {"source": "avatarsmith", "detail-type": "Avatar Job Queued", "detail": detail}
    jsonschema.validate(event, _schema("events/avatar-job-event.v2.json"))
    # a version-1 event (no metadata) is still valid under both schemas
    old = {**event, "detail": {**{k: v for k, v in detail.items() if k != "metadata"}, "version": "1"}}
    jsonschema.validate(old, _schema("events/avatar-job-event.v1.json"))
    jsonschema.validate(old, _schema("events/avatar-job-event.v2.json"))
    delivery = WebhookDelivery(
        id="whd_" + "0" * 26,
        tenant_id=tenant_id,
        webhook_id="msg_" + "0" * 26,
        target="callback",
        url="https://example.invalid/hook",
        event_type="avatar.generation.queued",
        job_id=job.id,
        event=detail,
        created_at=job.created_at,
        updated_at=job.created_at,
    )
    payload = json.loads(build_payload(services, delivery, 0))
    assert payload["data"]["metadata"] == {"order": "A-17"}
    jsonschema.validate(payload, _schema("webhooks/avatar-webhook-payload.v2.json"))


@pytest.mark.parametrize(
    "name", ["events/avatar-job-event.v2.json", "webhooks/avatar-webhook-payload.v2.json"]
)
def test_the_new_schemas_are_valid_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(_schema(name))


def test_the_queued_event_from_the_dispatcher_carries_the_metadata(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.dal.events import EventPublisher

    seen: list[tuple[str, dict[str, Any]]] = []
    original = EventPublisher.put

    def put(self: EventPublisher, detail_type: str, detail: dict[str, Any]) -> None:
        seen.append((detail_type, detail))
        original(self, detail_type, detail)

    monkeypatch.setattr(EventPublisher, "put", put)
    _, key = aws.add_tenant()
    body = {"prompt": "p", "model": "test-async", "metadata": {"order": "B-2"}}  # queued: asynchronous jobs
    api_call("generate_avatar", key, body=body)
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    queued = [d for t, d in seen if t == "Avatar Job Queued"]
    assert queued and queued[0]["metadata"] == {"order": "B-2"}
    event = {"source": "avatarsmith", "detail-type": "Avatar Job Queued", "detail": queued[0]}
    jsonschema.validate(event, _schema("events/avatar-job-event.v2.json"))
