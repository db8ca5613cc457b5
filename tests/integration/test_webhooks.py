"""Webhooks end to end in moto: job events on the bus -> rule -> delivery queue -> notifier -> real receivers
on loopback, every payload verified with the independent `standardwebhooks` package."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.conftest import AwsAccount
from tests.integration.helpers import (
    api_call,
    dispatch_queued_messages,
    execution_arn,
    run_notifier,
    wait_for_execution,
)
from tests.webhook_receiver import Receiver


@pytest.fixture
def webhooks(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> AwsAccount:
    """The account with the retry schedule shrunk to nothing and short receiver timeouts."""
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0")
    monkeypatch.setenv("WEBHOOK_READ_TIMEOUT_SECONDS", "0.5")
    from tests.conftest import _reset_caches

    _reset_caches()
    return aws


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for r in started:
        r.stop()


def _receiver(receivers: list[Receiver], *answers: tuple[int, float, dict[str, str]]) -> Receiver:
    r = Receiver(answers=list(answers) or [(200, 0.0, {})]).start()
    receivers.append(r)
    return r


def _endpoint(key: str, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "description": "test receiver"}
    if events is not None:
        body["events"] = events
    status, _, endpoint = api_call("create_webhook_endpoint", key, body=body)
    assert status == 201, endpoint
    return endpoint


def _run_job(aws: AwsAccount, key: str, **extra: Any) -> dict[str, Any]:
    _, _, job = api_call("generate_avatar", key, body={"prompt": "a lighthouse keeper", **extra})
    assert dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"]) == {
        "batchItemFailures": []
    }
    arn = execution_arn(aws.env, job["id"])
    wait_for_execution(aws.client("stepfunctions"), arn)
    return job


def _notify(aws: AwsAccount) -> None:
    run_notifier(aws.client("sqs"), aws.env["WEBHOOK_QUEUE_URL"])


def _verify(secret: str, received: Any) -> dict[str, Any]:
    return dict(Webhook(secret).verify(received.body, received.headers))


def _deliveries(key: str, **query: str) -> list[dict[str, Any]]:
    status, _, body = api_call("list_webhook_deliveries", key, query=query)
    assert status == 200, body
    return list(body["data"])


def test_every_transition_is_delivered_signed_and_verifiable(
    webhooks: AwsAccount, receivers: list[Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import _reset_caches

    # Given a stack that puts every job's progress events on the bus (ProgressEvents=all; by default only
    # jobs on asynchronous backends put queued and processing)
    monkeypatch.setenv("PROGRESS_EVENTS", "all")
    _reset_caches()
    # and an endpoint subscribed to every job event type
    _, key = webhooks.add_tenant()
    receiver = _receiver(receivers)
    all_types = [
        f"avatar.generation.{s}" for s in ("queued", "processing", "completed", "failed", "canceled")
    ]
    endpoint = _endpoint(key, receiver.url, all_types)
    assert endpoint["secret"].startswith("whsec_")
    # When a job runs to completion and the notifier drains its queue
    job = _run_job(webhooks, key, num_variations=2, metadata={"customer_id": "cus_123"})
    _notify(webhooks)
    # Then queued, processing and completed arrived, each verified by the independent verifier
    payloads = [_verify(endpoint["secret"], r) for r in receiver.wait_for(3)]
    assert sorted(p["type"] for p in payloads) == sorted(all_types[:3])
    completed = next(p for p in payloads if p["type"] == "avatar.generation.completed")
    assert completed["data"]["id"] == job["id"] and completed["data"]["status"] == "completed"
    assert completed["data"]["links"] == {"job": f"/v1/jobs/{job['id']}"}
    assert [a["image_url"].startswith("http") for a in completed["data"]["avatars"]] == [True, True]
    assert "tenant_id" not in completed["data"]
    # and every delivery echoes the job's metadata (Pi); the completed one names its first image
    assert {p["data"]["metadata"]["customer_id"] for p in payloads} == {"cus_123"}
    assert completed["data"]["image_url"] == completed["data"]["avatars"][0]["image_url"]
    # and the webhook-ids are distinct per event, and a wrong secret does not verify
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 3
    with pytest.raises(WebhookVerificationError):
        _verify("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", receiver.received[0])
    # and the delivery log shows them as succeeded, filterable by job
    log = _deliveries(key, job_id=job["id"])
    assert {d["status"] for d in log} == {"succeeded"} and len(log) == 3
    assert all(d["attempts"][0]["status_code"] == 200 and "latency_ms" in d["attempts"][0] for d in log)
    # and pages with an opaque cursor, with and without the job filter
    for query in ({"job_id": job["id"]}, {}):
        _, _, first = api_call("list_webhook_deliveries", key, query={**query, "limit": "2"})
        assert len(first["data"]) == 2 and first["has_more"]
        _, _, rest = api_call(
            "list_webhook_deliveries", key, query={**query, "limit": "2", "cursor": first["next_cursor"]}
        )
        assert len(rest["data"]) == 1 and not rest["has_more"]
        assert {d["id"] for d in first["data"] + rest["data"]} == {d["id"] for d in log}
    status, _, body = api_call("list_webhook_deliveries", key, query={"status": "lost"})
    assert (status, body["error"]["code"], body["error"]["param"]) == (422, "validation_error", "status")


def test_the_secret_is_shown_once_and_endpoints_are_tenant_scoped(webhooks: AwsAccount) -> None:
    _, key = webhooks.add_tenant("a")
    _, other = webhooks.add_tenant("b")
    endpoint = _endpoint(key, "http://127.0.0.1:9/hooks")
    assert endpoint["events"] == [
        "avatar.generation.completed",
        "avatar.generation.failed",
        "avatar.generation.canceled",
    ]
    status, _, fetched = api_call("get_webhook_endpoint", key, path_params={"endpoint_id": endpoint["id"]})
    assert status == 200 and "secret" not in fetched and len(fetched["secrets"]) == 1
    _, _, listed = api_call("list_webhook_endpoints", key)
    assert [e["id"] for e in listed["data"]] == [endpoint["id"]] and "secret" not in listed["data"][0]
    assert endpoint["secret"] not in json.dumps(listed)
    # another tenant sees nothing and cannot touch it
    for name in ("get_webhook_endpoint", "delete_webhook_endpoint", "test_webhook_endpoint"):
        status, _, body = api_call(name, other, path_params={"endpoint_id": endpoint["id"]})
        assert status == 404 and body["error"]["code"] == "not_found", name
    status, _, body = api_call(
        "create_webhook_endpoint", key, body={"url": "https://x.example", "events": ["nope"]}
    )
    assert status == 422 and body["error"]["param"] == "events"
    status, _, _ = api_call("delete_webhook_endpoint", key, path_params={"endpoint_id": endpoint["id"]})
    assert status == 200
    status, _, _ = api_call("get_webhook_endpoint", key, path_params={"endpoint_id": endpoint["id"]})
    assert status == 404


def test_a_receiver_failing_three_times_gets_it_on_the_fourth_with_one_webhook_id(
    webhooks: AwsAccount, receivers: list[Receiver]
) -> None:
    # Given a receiver that fails its first three attempts (500, 503 + Retry-After, a timeout)
    _, key = webhooks.add_tenant()
    flaky = _receiver(receivers, (500, 0, {}), (503, 0, {"Retry-After": "1"}), (200, 1.0, {}), (200, 0, {}))
    endpoint = _endpoint(key, flaky.url)
    # When a job completes
    job = _run_job(webhooks, key)
    _notify(webhooks)
    # Then the fourth attempt lands; all four carry the same webhook-id and verify
    received = flaky.wait_for(4)
    assert len(received) == 4
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert all(_verify(endpoint["secret"], r)["data"]["id"] == job["id"] for r in received)
    (delivery,) = _deliveries(key, job_id=job["id"])
    assert delivery["status"] == "succeeded" and delivery["attempt_count"] == 4
    assert [a.get("status_code") for a in delivery["attempts"]] == [500, 503, None, 200]
    assert delivery["attempts"][2]["error"] == "timed out"


def test_410_disables_the_endpoint_and_a_successful_test_ping_enables_it(
    webhooks: AwsAccount, receivers: list[Receiver]
) -> None:
    _, key = webhooks.add_tenant()
    gone = _receiver(receivers, (410, 0, {}), (200, 0, {}))
    endpoint = _endpoint(key, gone.url)
    job = _run_job(webhooks, key)
    _notify(webhooks)
    assert len(gone.wait_for(1)) == 1
    _, _, fetched = api_call("get_webhook_endpoint", key, path_params={"endpoint_id": endpoint["id"]})
    assert fetched["status"] == "disabled" and "410" in fetched["disabled_reason"]
    (delivery,) = _deliveries(key, job_id=job["id"])
    assert delivery["status"] == "failed" and delivery["attempt_count"] == 1  # no retries after 410
    # A disabled endpoint receives no new events
    _run_job(webhooks, key)
    _notify(webhooks)
    assert len(gone.received) == 1
    # A test ping is still sent, verifies, and its 2xx re-enables the endpoint
    status, _, ping = api_call("test_webhook_endpoint", key, path_params={"endpoint_id": endpoint["id"]})
    assert status == 202 and ping["event_type"] == "webhook.test"
    _notify(webhooks)
    assert _verify(endpoint["secret"], gone.wait_for(2)[1])["type"] == "webhook.test"
    status, _, logged = api_call("get_webhook_delivery", key, path_params={"delivery_id": ping["id"]})
    assert logged["status"] == "succeeded" and logged["attempts"][0].get("replay") is False
    _, _, fetched = api_call("get_webhook_endpoint", key, path_params={"endpoint_id": endpoint["id"]})
    assert fetched["status"] == "enabled"


def test_exhausted_deliveries_are_marked_failed_and_land_in_the_dead_letter_queue(
    webhooks: AwsAccount, receivers: list[Receiver]
) -> None:
    _, key = webhooks.add_tenant()
    down = _receiver(receivers, (500, 0, {}))
    _endpoint(key, down.url)
    job = _run_job(webhooks, key)
    _notify(webhooks)
    from avatarsmith.logic.notifier import MAX_ATTEMPTS

    assert len(down.wait_for(MAX_ATTEMPTS)) == MAX_ATTEMPTS
    (delivery,) = _deliveries(key, job_id=job["id"], status="failed")
    assert delivery["attempt_count"] == MAX_ATTEMPTS and delivery["next_attempt_at"] is None
    dlq = webhooks.client("sqs").receive_message(QueueUrl=webhooks.env["WEBHOOK_DEAD_LETTER_QUEUE_URL"])
    (message,) = dlq["Messages"]
    assert json.loads(message["Body"])["delivery_id"] == delivery["id"]
    assert _deliveries(key, status="succeeded") == []


def test_a_slow_or_redirecting_receiver_does_not_delay_a_healthy_one(
    webhooks: AwsAccount, receivers: list[Receiver]
) -> None:
    _, key = webhooks.add_tenant()
    slow = _receiver(receivers, (200, 3.0, {}), (200, 0, {}))
    redirect = _receiver(receivers, (301, 0, {"Location": "http://169.254.169.254/latest/meta-data"}))
    healthy = _receiver(receivers)
    for r in (slow, redirect, healthy):
        _endpoint(key, r.url)
    job = _run_job(webhooks, key)
    started = time.time()
    _notify(webhooks)
    assert healthy.wait_for(1)[0].at - started < 1.5
    log = {d["url"]: d for d in _deliveries(key, job_id=job["id"])}
    assert log[healthy.url]["status"] == "succeeded"
    assert log[slow.url]["attempts"][0]["error"] == "timed out"
    assert "redirect not followed" in log[redirect.url]["attempts"][0]["error"]
    assert len(redirect.received) >= 1 and all(r.path == "/hooks/avatarsmith" for r in redirect.received)


def test_rotation_signs_with_both_secrets_during_the_overlap(
    webhooks: AwsAccount, receivers: list[Receiver]
) -> None:
    _, key = webhooks.add_tenant()
    receiver = _receiver(receivers)
    endpoint = _endpoint(key, receiver.url)
    status, _, rotated = api_call(
        "rotate_webhook_endpoint_secret",
        key,
        path_params={"endpoint_id": endpoint["id"]},
        body={"overlap_seconds": 600},
    )
    assert status == 200 and rotated["secret"] != endpoint["secret"] and len(rotated["secrets"]) == 2
    _run_job(webhooks, key)
    _notify(webhooks)
    (got,) = receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert _verify(endpoint["secret"], got) == _verify(rotated["secret"], got)
    # overlap 0: the old secret stops signing at once
    _, _, again = api_call(
        "rotate_webhook_endpoint_secret",
        key,
        path_params={"endpoint_id": endpoint["id"]},
        body={"overlap_seconds": 0},
    )
    assert len(again["secrets"]) == 1


def test_per_job_callback_echoes_callback_id_and_replay_resends_the_same_message(
    webhooks: AwsAccount, receivers: list[Receiver]
) -> None:
    # Given a callback secret issued to the tenant and a job with callback_url + callback_id
    _, key = webhooks.add_tenant()
    status, _, issued = api_call("rotate_webhook_callback_secret", key, body={})
    assert status == 200 and issued["secret"].startswith("whsec_")
    callback = _receiver(receivers)
    job = _run_job(webhooks, key, callback_url=callback.url, callback_id="order-42")
    _notify(webhooks)
    # Then only the terminal event reaches the callback, verified, with callback_id echoed
    (first,) = callback.wait_for(1)
    payload = _verify(issued["secret"], first)
    assert payload["type"] == "avatar.generation.completed" and payload["data"]["callback_id"] == "order-42"
    # When the delivery is replayed over the API
    (delivery,) = _deliveries(key, job_id=job["id"])
    assert delivery["target"] == "callback"
    status, _, replayed = api_call(
        "replay_webhook_delivery", key, path_params={"delivery_id": delivery["id"]}
    )
    assert status == 202 and replayed["status"] == "pending"
    _notify(webhooks)
    # Then the receiver gets the same message again (same webhook-id, fresh signature)
    second = callback.wait_for(2)[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert _verify(issued["secret"], second)["data"]["id"] == job["id"]
    status, _, logged = api_call("get_webhook_delivery", key, path_params={"delivery_id": delivery["id"]})
    assert logged["status"] == "succeeded" and [a.get("replay", False) for a in logged["attempts"]] == [
        False,
        True,
    ]
    # and another tenant cannot see or replay it
    _, other = webhooks.add_tenant("other")
    status, _, _ = api_call("replay_webhook_delivery", other, path_params={"delivery_id": delivery["id"]})
    assert status == 404
    assert _deliveries(other, job_id=job["id"]) == []


def test_every_url_field_refuses_unsafe_addresses(
    webhooks: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployed-like configuration (no loopback allowance)
    monkeypatch.setenv("AVATARSMITH_ALLOW_LOOPBACK_URLS", "0")
    from tests.conftest import _reset_caches

    _reset_caches()
    _, key = webhooks.add_tenant()
    unsafe = [
        "http://hooks.example.com/x",  # plain http
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/x",
        "https://10.0.0.8/x",
        "https://192.168.1.1/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://[::1]/x",
        "https://2130706433/x",  # decimal 127.0.0.1
        "https://0177.0.0.1/x",  # octal
        "https://0x7f.1/x",  # hex
        "https://0.0.0.0/x",
        "https://224.0.0.1/x",
        "https://user:pw@hooks.example.com/x",
    ]
    for url in unsafe:
        status, _, body = api_call("create_webhook_endpoint", key, body={"url": url})
        assert status == 400 and body["error"]["code"] == "unsafe_url", url
        status, _, body = api_call("generate_avatar", key, body={"prompt": "x", "callback_url": url})
        assert status in (400, 422) and body["error"]["code"] in ("unsafe_url", "validation_error"), url


def test_a_name_that_resolves_to_a_private_address_is_refused_at_send_time(
    webhooks: AwsAccount, monkeypatch: pytest.MonkeyPatch, receivers: list[Receiver]
) -> None:
    # Given a callback host that passed the submit-time syntax check but resolves to a private address
    # (DNS rebinding: it may have resolved elsewhere before)
    import socket

    real = socket.getaddrinfo

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 0))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    _, key = webhooks.add_tenant()
    job = _run_job(webhooks, key, callback_url="https://hooks.rebind.example/cb")
    _notify(webhooks)
    # Then nothing is sent, the delivery fails at once (no retries) and says why
    (delivery,) = _deliveries(key, job_id=job["id"])
    assert delivery["status"] == "failed" and delivery["attempt_count"] == 1
    assert "SSRF" in delivery["attempts"][0]["error"] and "private" in delivery["attempts"][0]["error"]


@pytest.mark.usefixtures("no_retry_sleep")
def test_a_failed_job_notifies_its_error_and_refund(
    webhooks: AwsAccount, receivers: list[Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a backend that rejects every prompt, and an endpoint on the default (terminal) events
    from avatarsmith.backends import registry
    from tests.integration.test_state_machine import _Moderated

    monkeypatch.setitem(registry._FACTORIES, "async-test", _Moderated)
    _, key = webhooks.add_tenant()
    receiver = _receiver(receivers)
    endpoint = _endpoint(key, receiver.url)
    # When the job fails
    job = _run_job(webhooks, key, model="test-async", num_variations=2)
    _notify(webhooks)
    # Then exactly the failed event arrives, verified, with the error code and the refund
    (got,) = receiver.wait_for(1)
    payload = _verify(endpoint["secret"], got)
    assert payload["type"] == "avatar.generation.failed" and payload["data"]["job_id"] == job["id"]
    assert payload["data"]["error"]["code"] == "content_moderated"
    assert payload["data"]["credits"]["refunded"] == payload["data"]["credits"]["reserved"]
    assert "avatars" not in payload["data"]


def test_an_attempt_is_claimed_once_unless_its_sender_crashed(webhooks: AwsAccount) -> None:
    from avatarsmith.dal.table import Table
    from avatarsmith.dal.webhooks import WebhookRepository
    from avatarsmith.models.webhooks import DeliveryAttempt, WebhookDelivery

    repo = WebhookRepository(Table(webhooks.env["TABLE_NAME"]))
    delivery = WebhookDelivery(
        id="whd_" + "a" * 26,
        tenant_id="ten_x",
        webhook_id="msg_" + "a" * 26,
        target="callback",
        url="https://hooks.example.com/x",
        event_type="avatar.generation.completed",
        job_id="job_" + "b" * 26,
        event={"job_id": "job_" + "b" * 26},
        created_at="2026-11-22T00:00:00.000Z",
        updated_at="2026-11-22T00:00:00.000Z",
    )
    assert repo.create_delivery(delivery) and not repo.create_delivery(delivery)
    t = 1_000_000.0
    assert repo.claim_attempt("ten_x", delivery.id, 1, now=t) is not None
    assert repo.claim_attempt("ten_x", delivery.id, 1, now=t + 1) is None  # a duplicate message
    assert repo.claim_attempt("ten_x", delivery.id, 1, now=t + 200) is not None  # the sender crashed
    repo.record_attempt(
        "ten_x",
        delivery.id,
        DeliveryAttempt(attempt=1, at="x", status_code=500),
        status="pending",
        next_attempt_at=None,
        now="x",
    )
    assert repo.claim_attempt("ten_x", delivery.id, 1, now=t + 900) is None  # recorded: done
    assert repo.claim_attempt("ten_x", delivery.id, 2, now=t + 900) is not None
    # A late write for attempt 2 after attempt 3 already succeeded only appends to the log
    assert repo.claim_attempt("ten_x", delivery.id, 3, now=t + 901) is not None
    repo.record_attempt(
        "ten_x",
        delivery.id,
        DeliveryAttempt(attempt=3, at="z", status_code=200),
        status="succeeded",
        next_attempt_at=None,
        now="z",
    )
    repo.record_attempt(
        "ten_x",
        delivery.id,
        DeliveryAttempt(attempt=2, at="y", status_code=503),
        status="pending",
        next_attempt_at="later",
        now="y",
    )
    final = repo.get_delivery("ten_x", delivery.id)
    assert final is not None and final.status == "succeeded" and final.next_attempt_at is None
    assert [a.status_code for a in final.attempts] == [500, 503, 200]


def test_the_committed_notifier_batch_is_handled_and_a_malformed_record_is_reported(
    webhooks: AwsAccount,
) -> None:
    import copy

    from functions.notifier.app import lambda_handler
    from tests.conftest import lambda_context, load_event

    # Given the committed batch (a bus event for a tenant with no endpoints, a delivery that does not
    # exist) plus one malformed record
    event = copy.deepcopy(load_event("sqs/webhook_batch.json"))
    bad = copy.deepcopy(event["Records"][1])
    bad["messageId"] = "malformed-1"
    bad["body"] = json.dumps({"kind": "delivery", "delivery_id": "nope"})
    event["Records"].append(bad)
    # When the notifier handles it
    result = lambda_handler(event, lambda_context("NotifierFunction", 60))
    # Then only the malformed record is reported as failed (it will be retried, then dead-lettered)
    assert result == {"batchItemFailures": [{"itemIdentifier": "malformed-1"}]}
