"""Webhooks on the local stack, over HTTP: real deliveries to receivers on loopback (one failing its first
three attempts), verified with the independent `standardwebhooks` package; events watched on the bus;
the delivery log and replay over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import requests
from standardwebhooks import Webhook

from local.stack import EmbeddedStack, StackInfo
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _schema(name: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / name).read_text()))


@pytest.fixture(scope="module")
def stack() -> Iterator[StackInfo]:
    local = EmbeddedStack(
        api_port=0,
        extra_env={
            "AVATARSMITH_ALLOW_LOOPBACK_URLS": "1",
            "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0",
            "WEBHOOK_RETRY_BASE_SECONDS": "0",
        },
    )
    info = local.start()
    try:
        yield info
    finally:
        local.stop()


def _session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def _watched_events(info: StackInfo, job_id: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    sqs = boto3.session.Session().client("sqs")
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(seen) < count:
        for m in sqs.receive_message(
            QueueUrl=info.event_watch_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            event = json.loads(m["Body"])
            if event["detail"]["job_id"] == job_id:
                seen.append(event)
    return seen


def test_webhooks_reach_loopback_receivers_verified_even_after_three_failures(stack: StackInfo) -> None:
    api = _session(stack.api_key)
    flaky = Receiver(answers=[(500, 0, {}), (502, 0, {}), (503, 0, {}), (200, 0, {})]).start()
    healthy = Receiver().start()
    callback = Receiver().start()
    try:
        # Given two endpoints and a callback secret
        secrets = {}
        for r in (flaky, healthy):
            created = api.post(f"{stack.api_url}/v1/webhook-endpoints", json={"url": r.url})
            assert created.status_code == 201, created.text
            secrets[r.url] = created.json()["secret"]
        callback_secret = api.post(f"{stack.api_url}/v1/webhook-callback-secret", json={}).json()["secret"]
        # When a job with a callback runs to completion
        job = api.post(
            f"{stack.api_url}/v1/avatars/generate",
            json={"prompt": "a beekeeper", "callback_url": callback.url, "callback_id": "cb-7"},
        ).json()
        done = api.get(
            f"{stack.api_url}/v1/jobs/{job['id']}?wait_for_completion=true&timeout_seconds=20"
        ).json()
        assert done["status"] == "completed"
        # Then every receiver gets the completed event, each payload verified independently
        (ok,) = healthy.wait_for(1)
        assert Webhook(secrets[healthy.url]).verify(ok.body, ok.headers)["data"]["id"] == job["id"]
        (cb,) = callback.wait_for(1)
        assert Webhook(callback_secret).verify(cb.body, cb.headers)["data"]["callback_id"] == "cb-7"
        tries = flaky.wait_for(4)
        assert len({t.headers["webhook-id"] for t in tries}) == 1
        for t in tries:
            Webhook(secrets[flaky.url]).verify(t.body, t.headers)
        # and the delivery log over HTTP shows the history
        time.sleep(0.2)
        log = api.get(f"{stack.api_url}/v1/webhook-deliveries", params={"job_id": job["id"]}).json()["data"]
        flaky_log = next(d for d in log if d["url"] == flaky.url)
        assert flaky_log["status"] == "succeeded"
        assert [a["status_code"] for a in flaky_log["attempts"]] == [500, 502, 503, 200]
        # and a replay over HTTP resends the same message
        replay = api.post(f"{stack.api_url}/v1/webhook-deliveries/{flaky_log['id']}/replay")
        assert replay.status_code == 202
        again = flaky.wait_for(5)[4]
        assert again.headers["webhook-id"] == tries[0].headers["webhook-id"]
        Webhook(secrets[flaky.url]).verify(again.body, again.headers)
        # and the bus carried the completed event for the job (a synchronous backend's job puts no queued or
        # processing event unless the stack's ProgressEvents is "all")
        events = _watched_events(stack, job["id"], 1)
        assert [e["detail-type"] for e in events] == ["Avatar Job Completed"]
        assert _watched_events(stack, job["id"], 1, timeout=1) == []
        assert all(e["source"] == "avatarsmith" and "secret" not in json.dumps(e) for e in events)
        event_schema = _schema("events/avatar-job-event.v2.json")
        for event in events:
            jsonschema.validate(event, event_schema)
        payload_schema = _schema("webhooks/avatar-webhook-payload.v2.json")
        for received in (ok, cb, *tries, again):
            jsonschema.validate(json.loads(received.body), payload_schema)
    finally:
        for r in (flaky, healthy, callback):
            r.stop()


def test_cancelling_a_running_job_publishes_canceled_and_never_failed(
    stack: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job on the asynchronous test backend that would need 30 one-second polls
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLLS", "30")
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLL_SECONDS", "1")
    api = _session(stack.api_key)
    job = api.post(f"{stack.api_url}/v1/avatars/generate", json={"prompt": "x", "model": "test-async"}).json()
    deadline = time.monotonic() + 10
    while api.get(f"{stack.api_url}/v1/jobs/{job['id']}").json()["status"] != "processing":
        assert time.monotonic() < deadline, "the job never started processing"
        time.sleep(0.05)
    # When the caller cancels it mid-generation
    canceled = api.post(f"{stack.api_url}/v1/jobs/{job['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["credits"]["refunded"] == canceled.json()["credits"]["reserved"]
    # Then the workflow stops at its next poll without turning the job into a failure
    sfn = boto3.session.Session().client("stepfunctions")
    machine = stack.environment["STATE_MACHINE_ARN"]  # asynchronous backends run on the STANDARD one
    arn = machine.replace(":stateMachine:", ":execution:") + f":{job['id']}"
    deadline = time.monotonic() + 15
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not stop after the cancel"
        time.sleep(0.1)
    assert execution["status"] == "SUCCEEDED"  # ends in JobAlreadyFinished, not in GenerationFailed
    assert api.get(f"{stack.api_url}/v1/jobs/{job['id']}").json()["status"] == "canceled"
    # And the bus carried queued, processing and canceled for it, and no failed event
    events = _watched_events(stack, job["id"], 3)
    assert sorted(e["detail-type"] for e in events) == [
        "Avatar Job Canceled",
        "Avatar Job Processing",
        "Avatar Job Queued",
    ]
    time.sleep(0.5)
    assert _watched_events(stack, job["id"], 1, timeout=1) == []
