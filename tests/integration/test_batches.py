"""Batches: up to 100 generate requests paid for atomically, read, listed and cancelled together, and one
`avatar.batch.completed` event and webhook once every item has ended."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import (
    api_call,
    dispatch_queued_messages,
    execution_arn,
    run_notifier,
    wait_for_execution,
)
from tests.webhook_receiver import Receiver

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.fixture
def webhooks(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> AwsAccount:
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0")
    from tests.conftest import _reset_caches

    _reset_caches()
    return aws


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def _items(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"prompt": f"portrait number {i}", **extra} for i in range(n)]


def _run_all(aws: AwsAccount, job_ids: list[str]) -> None:
    sqs, sfn = aws.client("sqs"), aws.client("stepfunctions")
    started = 0
    while started < len(job_ids):
        result = dispatch_queued_messages(sqs, aws.env["GENERATION_QUEUE_URL"])
        assert result == {"batchItemFailures": []}
        started = sum(  # synchronous backends run on the EXPRESS workflow, the others on STANDARD
            len(sfn.list_executions(stateMachineArn=aws.env[machine])["executions"])
            for machine in ("EXPRESS_STATE_MACHINE_ARN", "STATE_MACHINE_ARN")
        )
    for job_id in job_ids:
        arn = execution_arn(aws.env, job_id)
        wait_for_execution(sfn, arn)


@pytest.fixture(autouse=True)
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every event put on the bus (recorded, then really published)."""
    from avatarsmith.dal.events import EventPublisher

    seen: list[dict[str, Any]] = []
    original = EventPublisher.put

    def put(self: EventPublisher, detail_type: str, detail: dict[str, Any]) -> None:
        seen.append({"source": "avatarsmith", "detail-type": detail_type, "detail": detail})
        original(self, detail_type, detail)

    monkeypatch.setattr(EventPublisher, "put", put)
    return seen


def _batch_events(published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in published if e["detail-type"] == "Avatar Batch Completed"]


def test_a_batch_of_5_completes_with_one_batch_event_and_webhook(
    webhooks: AwsAccount, receiver: Receiver, published: list[dict[str, Any]]
) -> None:
    aws = webhooks
    # Given a tenant with 100 credits and a batch of 5 with a callback URL
    _, key = aws.add_tenant(credits=100)
    status, headers, batch = api_call(
        "create_batch",
        key,
        body={"items": _items(5), "callback_url": receiver.url, "metadata": {"campaign": "spring"}},
        headers={"Idempotency-Key": "batch-5"},
    )
    # Then it is accepted with every credit reserved at once
    assert status == 202, batch
    assert batch["id"].startswith("bat_") and headers["Location"] == f"/v1/batches/{batch['id']}"
    assert batch["counts"]["total"] == 5 and batch["counts"]["queued"] == 5
    assert batch["credits"]["reserved"] == 5
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"]) == (95, 5)
    # When every item runs
    _run_all(aws, batch["job_ids"])
    # Then the batch is completed with per-status counts and charged credits
    _, _, done = api_call("get_batch", key, path_params={"batch_id": batch["id"]})
    assert done["status"] == "completed" and done["completed_at"]
    assert done["counts"]["completed"] == 5 and done["credits"]["charged"] == 5
    # and exactly one batch event was published, valid against its schema
    events = _batch_events(published)
    assert len(events) == 1
    schema = json.loads((SCHEMAS / "events/avatar-batch-event.v1.json").read_text())
    jsonschema.validate(events[0], schema)
    assert events[0]["detail"]["counts"]["completed"] == 5
    assert events[0]["detail"]["metadata"] == {"campaign": "spring"}
    # and the batch callback received one avatar.batch.completed webhook
    run_notifier(aws.client("sqs"), aws.env["WEBHOOK_QUEUE_URL"])
    batch_hooks = [json.loads(r.body) for r in receiver.received if b"avatar.batch.completed" in r.body]
    assert len(batch_hooks) == 1
    payload = json.loads((SCHEMAS / "webhooks/avatar-webhook-payload.v2.json").read_text())
    jsonschema.validate(batch_hooks[0], payload)
    assert batch_hooks[0]["data"]["counts"]["completed"] == 5 and "tenant_id" not in batch_hooks[0]["data"]


def test_not_enough_credits_for_every_item_is_one_402_and_nothing_reserved(aws: AwsAccount) -> None:
    _, key = aws.add_tenant(credits=4)
    status, _, answer = api_call("create_batch", key, body={"items": _items(5)})
    assert (status, answer["error"]["code"]) == (402, "insufficient_credits")
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"]) == (4, 0)
    _, _, jobs = api_call("list_jobs", key, query={})
    assert jobs["data"] == []
    _, _, batches = api_call("list_batches", key, query={})
    assert batches["data"] == []


def test_a_batch_over_the_concurrency_cap_is_refused(aws: AwsAccount) -> None:
    _, key = aws.add_tenant(max_concurrent_jobs=3)
    status, _, answer = api_call("create_batch", key, body={"items": _items(4)})
    assert (status, answer["error"]["code"]) == (429, "rate_limited")
    status, _, _ = api_call("create_batch", key, body={"items": _items(3)})
    assert status == 202


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"items": []}, "items"),
        ({"items": _items(101)}, "items"),
        ({"items": [*_items(2), {"prompt": "x", "seed": -1}]}, "items.2.seed"),
        ({"items": _items(1), "extra": 1}, "extra"),
    ],
)
def test_bad_batches_are_422_naming_the_item(aws: AwsAccount, body: dict[str, Any], param: str) -> None:
    _, key = aws.add_tenant()
    status, _, answer = api_call("create_batch", key, body=body)
    assert (status, answer["error"]["code"], answer["error"]["param"]) == (422, "validation_error", param)


def test_an_unknown_model_in_one_item_names_it(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    status, _, answer = api_call(
        "create_batch", key, body={"items": [{"prompt": "x"}, {"prompt": "y", "model": "nope"}]}
    )
    assert status == 400 and answer["error"]["param"] == "items[1].model"


def test_the_same_idempotency_key_replays_the_batch(aws: AwsAccount) -> None:
    _, key = aws.add_tenant(credits=10)
    body = {"items": _items(2)}
    first = api_call("create_batch", key, body=body, headers={"Idempotency-Key": "k1"})
    again = api_call("create_batch", key, body=body, headers={"Idempotency-Key": "k1"})
    assert first[0] == again[0] == 202 and first[2]["id"] == again[2]["id"]
    assert again[1].get("Idempotent-Replayed") == "true"
    _, _, account = api_call("get_account", key)
    assert account["balance"] == 8  # charged once
    other = api_call("create_batch", key, body={"items": _items(3)}, headers={"Idempotency-Key": "k1"})
    assert (other[0], other[2]["error"]["code"]) == (409, "idempotency_key_mismatch")


def test_a_failed_job_write_releases_the_whole_reservation(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from avatarsmith.dal.batches import BatchRepository
    from avatarsmith.errors import StorageError
    from avatarsmith.logic.tenant_admin import TenantAdmin

    tenant_id, key = aws.add_tenant(credits=50)

    def broken(self: BatchRepository, batch: Any, jobs: Any) -> None:
        raise StorageError("DynamoDB TransactWriteItems failed")

    monkeypatch.setattr(BatchRepository, "write_jobs", broken)
    status, _, answer = api_call("create_batch", key, body={"items": _items(7)})
    assert (status, answer["error"]["code"]) == (503, "service_unavailable")
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"], account["running_jobs"]) == (50, 0, 0)
    assert TenantAdmin.for_table(aws.env["TABLE_NAME"]).audit(tenant_id)["balanced"] is True
    _, _, batches = api_call("list_batches", key, query={})
    assert [b["status"] for b in batches["data"]] == ["failed"]


def test_cancel_a_batch_refunds_every_open_item_and_completes_it(
    aws: AwsAccount, published: list[dict[str, Any]]
) -> None:
    _, key = aws.add_tenant(credits=20)
    _, other = aws.add_tenant("other")
    _, _, batch = api_call("create_batch", key, body={"items": _items(3, num_variations=2)})
    assert api_call("cancel_batch", other, path_params={"batch_id": batch["id"]})[0] == 404
    status, _, canceled = api_call("cancel_batch", key, path_params={"batch_id": batch["id"]})
    assert status == 200 and canceled["counts"]["canceled"] == 3 and canceled["status"] == "completed"
    assert canceled["credits"]["refunded"] == 6 and canceled["canceled_at"]
    _, _, account = api_call("get_account", key)
    assert (account["balance"], account["reserved"]) == (20, 0)
    assert len(_batch_events(published)) == 1
    # another tenant cannot read it either
    assert api_call("get_batch", other, path_params={"batch_id": batch["id"]})[0] == 404


def test_cancel_after_applies_to_every_item_of_a_batch(aws: AwsAccount) -> None:
    _, key = aws.add_tenant()
    body = {"items": [{"prompt": "a"}, {"prompt": "b", "deadline_seconds": 10}]}
    status, _, batch = api_call("create_batch", key, body=body, headers={"Cancel-After": "5m"})
    assert status == 202
    from avatarsmith.logic.clock import epoch_of

    _, _, first = api_call("get_job", key, path_params={"job_id": batch["job_ids"][0]})
    _, _, second = api_call("get_job", key, path_params={"job_id": batch["job_ids"][1]})
    assert round(epoch_of(first["deadline_at"]) - epoch_of(first["created_at"])) == 300
    assert round(epoch_of(second["deadline_at"]) - epoch_of(second["created_at"])) == 10  # its own is sooner
    status, _, answer = api_call("create_batch", key, body=body, headers={"Cancel-After": "later"})
    assert (status, answer["error"]["param"]) == (400, "Cancel-After")
