"""Credits, idempotency and limits against the api handler under moto, with real threads racing.

Given tenants with known balances, when requests race, then the ledger adds up to the credit.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from tests import credit_scenarios as scenarios
from tests.conftest import AwsAccount
from tests.integration.helpers import api_call


@pytest.fixture
def world(aws: AwsAccount) -> scenarios.World:
    from avatarsmith.logic.tenant_admin import TenantAdmin

    admin = TenantAdmin.for_table(aws.env["TABLE_NAME"])
    return scenarios.World(call=scenarios.handler_transport(), new_tenant=aws.add_tenant, audit=admin.audit)


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_scenario(world: scenarios.World, name: str) -> None:
    scenarios.SCENARIOS[name](world)


def _admin(aws: AwsAccount) -> Any:
    from avatarsmith.logic.tenant_admin import TenantAdmin

    return TenantAdmin.for_table(aws.env["TABLE_NAME"])


def test_submit_reserves_and_account_shows_the_ledger(aws: AwsAccount) -> None:
    # reality4 with no real backend configured: the offline fallback, 1 credit per variation
    tenant_id, key = aws.add_tenant(credits=4)
    status, headers, job = api_call(
        "generate_avatar", key, body={"prompt": "x", "model": "reality4", "num_variations": 2}
    )
    assert status == 202 and job["credits"] == {"reserved": 2, "charged": 0, "refunded": 0}
    status, headers, account = api_call("get_account", key, query={})
    assert status == 200 and headers["X-Credits-Balance"] == "2"
    assert (account["balance"], account["reserved"], account["running_jobs"]) == (2, 2, 1)
    assert [e["kind"] for e in account["recent_ledger_entries"]] == ["reserve", "grant"]
    assert account["recent_ledger_entries"][0] == {
        "object": "ledger_entry",
        "id": account["recent_ledger_entries"][0]["id"],
        "kind": "reserve",
        "amount": -2,
        "reserved_delta": 2,
        "job_id": job["id"],
        "created_at": job["created_at"],
    }
    status, headers, _ = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert status == 200 and headers["X-Credits-Balance"] == "2"
    status, headers, refused = api_call(
        "generate_avatar", key, body={"prompt": "x", "model": "reality4", "num_variations": 3}
    )
    assert status == 402 and headers["X-Credits-Balance"] == "2"
    assert refused["error"]["code"] == "insufficient_credits"
    assert "costs 3 credits but the balance is 2" in refused["error"]["message"]
    assert _admin(aws).audit(tenant_id)["balanced"]


def test_mark_failed_run_twice_at_once_refunds_once(aws: AwsAccount) -> None:
    from functions.processor.app import lambda_handler
    from tests.conftest import lambda_context, load_event

    tenant_id, key = aws.add_tenant(credits=50)
    _, _, job = api_call(
        "generate_avatar", key, body={"prompt": "x", "model": "imagen3", "num_variations": 2}
    )
    event = load_event("statemachine/mark_failed.json") | {"job_id": job["id"], "tenant_id": tenant_id}
    results = scenarios._race(2, lambda _i: lambda_handler(event, lambda_context("ProcessorFunction")))
    assert results[0] == results[1]
    assert results[0]["credits"] == {"reserved": 2, "charged": 0, "refunded": 2}
    lambda_handler(event, lambda_context("ProcessorFunction"))  # and a third, later
    audit = _admin(aws).audit(tenant_id)
    assert audit["balanced"] and (audit["balance"], audit["reserved"]) == (50, 0)
    kinds = [e["kind"] for e in _admin(aws).account(tenant_id)["recent_ledger_entries"]]
    assert kinds == ["refund", "reserve", "grant"]
    assert _admin(aws).account(tenant_id)["running_jobs"] == 0


def test_a_request_in_flight_is_409_then_replays(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    from avatarsmith.dal.queue import GenerationQueue

    monkeypatch.setenv("IDEMPOTENCY_WAIT_SECONDS", "0.2")
    tenant_id, key = aws.add_tenant(credits=50)
    release, entered = threading.Event(), threading.Event()
    original = GenerationQueue.enqueue

    def slow_enqueue(self: GenerationQueue, **kwargs: Any) -> None:
        entered.set()
        assert release.wait(10)
        original(self, **kwargs)

    monkeypatch.setattr(GenerationQueue, "enqueue", slow_enqueue)
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"prompt": "slow", "model": "flux"}
    first: list[Any] = []
    worker = threading.Thread(
        target=lambda: first.append(api_call("generate_avatar", key, body=body, headers=headers))
    )
    worker.start()
    assert entered.wait(10)
    status, _, busy = api_call("generate_avatar", key, body=body, headers=headers)
    assert status == 409 and busy["error"]["code"] == "request_in_progress"
    release.set()
    worker.join(10)
    assert first[0][0] == 202
    status, replay_headers, replay = api_call("generate_avatar", key, body=body, headers=headers)
    assert status == 202 and replay == first[0][2] and replay_headers["Idempotent-Replayed"] == "true"
    audit = _admin(aws).audit(tenant_id)
    assert audit["balanced"] and audit["balance"] == 49


def test_failed_enqueue_refunds_and_releases_the_key(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.dal.queue import GenerationQueue
    from avatarsmith.errors import ServiceUnavailableError

    tenant_id, key = aws.add_tenant(credits=10)

    def refuse(self: GenerationQueue, **kwargs: Any) -> None:
        raise ServiceUnavailableError("queue down")

    headers = {"Idempotency-Key": str(uuid.uuid4())}
    with monkeypatch.context() as patch:
        patch.setattr(GenerationQueue, "enqueue", refuse)
        status, _, _ = api_call(
            "generate_avatar", key, body={"prompt": "x", "model": "flux"}, headers=headers
        )
    assert status == 503
    audit = _admin(aws).audit(tenant_id)
    assert audit["balanced"] and (audit["balance"], audit["reserved"]) == (10, 0)
    status, _, job = api_call("generate_avatar", key, body={"prompt": "x", "model": "flux"}, headers=headers)
    assert status == 202 and job["status"] == "queued", "the retry runs again instead of replaying the 503"


def test_concurrency_cap_and_submit_rate_are_429_with_headers(aws: AwsAccount) -> None:
    _, key = aws.add_tenant(credits=100, max_concurrent_jobs=2)
    assert [api_call("generate_avatar", key, body={"prompt": "x"})[0] for _ in range(2)] == [202, 202]
    status, headers, body = api_call("generate_avatar", key, body={"prompt": "x"})
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert headers["RateLimit-Limit"] == "2" and headers["RateLimit-Remaining"] == "0"
    assert int(headers["Retry-After"]) >= 1 and headers["RateLimit-Reset"] == headers["Retry-After"]

    _, key = aws.add_tenant(credits=100, submits_per_minute=3)
    if time.time() % 60 > 55:  # keep the burst inside one window
        time.sleep(61 - time.time() % 60)
    statuses = [api_call("generate_avatar", key, body={"prompt": "x"})[0] for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_request_rate_per_tenant_is_429(aws: AwsAccount) -> None:
    _, key = aws.add_tenant(credits=1, requests_per_minute=5)
    _, other = aws.add_tenant(credits=1)
    if time.time() % 60 > 55:
        time.sleep(61 - time.time() % 60)
    statuses = [api_call("list_styles", key)[0] for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert api_call("list_styles", other)[0] == 200, "limits are per tenant"


def test_cancel_refunds_and_the_workflow_does_not_overwrite_it(aws: AwsAccount) -> None:
    from tests.integration.helpers import dispatch_queued_messages, execution_arn, wait_for_execution

    tenant_id, key = aws.add_tenant(credits=10)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "model": "imagen3"})
    status, _, canceled = api_call("cancel_job", key, path_params={"job_id": job["id"]})
    assert status == 200 and canceled["status"] == "canceled"
    assert canceled["credits"] == {"reserved": 1, "charged": 0, "refunded": 1}
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    arn = execution_arn(aws.env, job["id"])
    wait_for_execution(aws.client("stepfunctions"), arn)
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert final["status"] == "canceled" and final["credits"]["refunded"] == 1
    audit = _admin(aws).audit(tenant_id)
    assert audit["balanced"] and (audit["balance"], audit["reserved"]) == (10, 0)
    status, _, _ = api_call("cancel_job", key, path_params={"job_id": "job_doesnotexist"})
    assert status == 404


def test_a_cancel_retried_with_its_idempotency_key_replays_and_another_job_under_it_is_refused(
    aws: AwsAccount,
) -> None:
    # Given two queued jobs and one Idempotency-Key
    _, key = aws.add_tenant(credits=20)
    _, _, first = api_call("generate_avatar", key, body={"prompt": "x", "model": "imagen3"})
    _, _, second = api_call("generate_avatar", key, body={"prompt": "y", "model": "imagen3"})
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    # When the first job is canceled, and the same request is sent again
    status, sent_headers, canceled = api_call(
        "cancel_job", key, path_params={"job_id": first["id"]}, headers=headers
    )
    assert (
        status == 200 and canceled["credits"]["refunded"] == 1 and "Idempotent-Replayed" not in sent_headers
    )
    status, again_headers, again = api_call(
        "cancel_job", key, path_params={"job_id": first["id"]}, headers=headers
    )
    # Then the retry gets the stored answer, marked as a replay
    assert status == 200 and again == canceled and again_headers["Idempotent-Replayed"] == "true"
    # And the key cannot cancel another job
    status, _, refused = api_call("cancel_job", key, path_params={"job_id": second["id"]}, headers=headers)
    assert status == 409 and refused["error"]["code"] == "idempotency_key_mismatch"
    _, _, untouched = api_call("get_job", key, path_params={"job_id": second["id"]})
    assert untouched["status"] == "queued"


def test_completed_job_charges_and_releases_the_running_slot(aws: AwsAccount) -> None:
    from tests.integration.helpers import dispatch_queued_messages, execution_arn, wait_for_execution

    tenant_id, key = aws.add_tenant(credits=10, max_concurrent_jobs=1)
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x", "model": "flux", "num_variations": 2})
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    arn = execution_arn(aws.env, job["id"])
    assert wait_for_execution(aws.client("stepfunctions"), arn)["status"] == "SUCCEEDED"
    _, _, final = api_call("get_job", key, path_params={"job_id": job["id"]})
    assert final["credits"] == {"reserved": 2, "charged": 2, "refunded": 0}
    audit = _admin(aws).audit(tenant_id)
    assert audit["balanced"] and (audit["balance"], audit["reserved"]) == (8, 0)
    assert api_call("generate_avatar", key, body={"prompt": "again"})[0] == 202, "the slot was released"
