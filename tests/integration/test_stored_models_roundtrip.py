"""Every stored model, written with each optional field absent, empty and at its limit, reads back equal
(single read and list) from DynamoDB under moto; an item that no longer parses never takes a list down:
it is left out, logged with its key and counted in the UnreadableStoredItems metric."""

from __future__ import annotations

import json
import logging

import pytest

from avatarsmith.dal.avatars import AvatarRepository
from avatarsmith.dal.billing import BillingRepository, ledger_item
from avatarsmith.dal.jobs import JobRepository
from avatarsmith.dal.table import Table, avatar_sk, job_sk, tenant_pk
from avatarsmith.dal.webhooks import WebhookRepository
from avatarsmith.ids import new_ledger_entry_id, time_ordered_id
from avatarsmith.models.billing import LedgerEntry
from avatarsmith.models.webhooks import DeliveryAttempt, WebhookDelivery, WebhookEndpoint, WebhookSecret
from tests.conftest import AwsAccount
from tests.integration.helpers import api_call
from tests.integration.stored_fixtures import NOW, SHAPES, completed_job, saved_avatar


@pytest.fixture
def table(aws: AwsAccount) -> Table:
    return Table(aws.env["TABLE_NAME"])


@pytest.mark.parametrize("shape", SHAPES)
def test_a_job_reads_back_equal_and_is_listed(table: Table, shape: str) -> None:
    jobs = JobRepository(table)
    job = completed_job("t1", shape)
    jobs.create(job)
    assert jobs.get("t1", job.id, consistent=True) == job
    listed, _ = jobs.list_page("t1", limit=10, after_job_id=None, status=None, client_reference_id=None)
    assert listed == [job]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_saved_avatar_reads_back_equal_and_is_listed(table: Table, shape: str) -> None:
    avatars = AvatarRepository(table)
    avatar = saved_avatar("t1", completed_job("t1"), shape)
    avatars.create(avatar)
    assert avatars.get("t1", avatar.id) == avatar
    assert avatars.list_page("t1", limit=10, after_avatar_id=None) == ([avatar], None)
    assert avatars.list_offset("t1", limit=10, offset=0) == ([avatar], False)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_webhook_endpoint_reads_back_equal_and_is_listed(table: Table, shape: str) -> None:
    repo = WebhookRepository(table)
    description = {"absent": None, "empty": "", "at_limit": "d" * 500}[shape]
    endpoint = WebhookEndpoint(
        id=time_ordered_id("whe"),
        tenant_id="t1",
        url="https://example.com/" + "u" * (2048 - 20 if shape == "at_limit" else 0),
        events=["avatar.generation.completed"],
        description=description,
        disabled_reason={"absent": None, "empty": "", "at_limit": "r" * 500}[shape],
        secrets=[WebhookSecret(value="whsec_" + "A" * 43, created_at=NOW, expires_at=None)]
        + ([WebhookSecret(value="whsec_" + "B" * 43, created_at=NOW, expires_at=1.5e9 + 0.25)] * 2),
        created_at=NOW,
        updated_at=NOW,
    )
    repo.create_endpoint(endpoint)
    assert repo.get_endpoint("t1", endpoint.id) == endpoint
    assert repo.list_endpoints("t1") == [endpoint]


@pytest.mark.parametrize("shape", SHAPES)
def test_callback_secrets_read_back_equal(table: Table, shape: str) -> None:
    repo = WebhookRepository(table)
    secrets = {
        "absent": [],
        "empty": [WebhookSecret(value="", created_at="")],
        "at_limit": [WebhookSecret(value="whsec_" + "C" * 43, created_at=NOW, expires_at=4.1e9 + 0.5)] * 3,
    }[shape]
    assert repo.put_callback_secrets("t1", secrets, updated_at=NOW, expected=None)
    assert repo.get_callback_secrets("t1") == (secrets, NOW)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_webhook_delivery_reads_back_equal_and_is_listed(table: Table, shape: str) -> None:
    repo = WebhookRepository(table)
    optional = {
        "absent": {},
        "empty": {"endpoint_id": "", "job_id": "", "next_attempt_at": "", "event": {}},
        "at_limit": {
            "endpoint_id": "whe_" + "0" * 26,
            "job_id": "job_" + "0" * 26,
            "next_attempt_at": NOW,
            "event": {"job_id": "job_" + "0" * 26, "metadata": {"k" * 40: "v" * 500}, "n": 2**60},
        },
    }[shape]
    delivery = WebhookDelivery.model_validate(
        {
            "id": time_ordered_id("whd"),
            "tenant_id": "t1",
            "webhook_id": "msg_1",
            "target": "endpoint",
            "url": "https://example.com/hook",
            "event_type": "avatar.generation.completed",
            "event": {},
            "created_at": NOW,
            "updated_at": NOW,
            **optional,
        }
    )
    assert repo.create_delivery(delivery)
    assert repo.get_delivery("t1", delivery.id) == delivery
    job_filter = delivery.job_id or None
    listed, _ = repo.list_deliveries("t1", limit=10, after=None, job_id=job_filter, status=None)
    assert listed == [delivery]
    # An attempt with every optional field absent, then one with all of them set, read back in order.
    claimed = repo.claim_attempt("t1", delivery.id, 1, now=1.0)
    assert claimed is not None
    bare = DeliveryAttempt(attempt=1, at=NOW)
    repo.record_attempt("t1", delivery.id, bare, status="pending", next_attempt_at=None, now=NOW)
    assert repo.claim_attempt("t1", delivery.id, 2, now=2.0) is not None
    full = DeliveryAttempt(attempt=2, at=NOW, status_code=599, latency_ms=0, error="e" * 300, replay=True)
    repo.record_attempt("t1", delivery.id, full, status="failed", next_attempt_at=None, now=NOW)
    stored = repo.get_delivery("t1", delivery.id)
    assert stored is not None and stored.attempts == [bare, full] and stored.status == "failed"


@pytest.mark.parametrize("shape", SHAPES)
def test_a_ledger_entry_reads_back_equal(table: Table, shape: str) -> None:
    note = {"absent": None, "empty": "", "at_limit": "n" * 1000}[shape]
    amount = {"absent": 1, "empty": 0, "at_limit": -(2**62) + 1}[shape]
    entry = LedgerEntry(
        id=new_ledger_entry_id(),
        kind="grant",
        amount=amount,
        reserved_delta=2**62 - 1 if shape == "at_limit" else 0,
        job_id={"absent": None, "empty": "", "at_limit": "job_" + "0" * 26}[shape],
        note=note,
        created_at=NOW,
    )
    table.put_new(ledger_item("t1", entry))
    assert BillingRepository(table).ledger("t1", limit=10) == [entry]
    assert BillingRepository(table).all_ledger_entries("t1") == [entry]


# --- unreadable items --------------------------------------------------------------------------------
def _metric_lines(out: str) -> list[dict]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return [line for line in lines if "UnreadableStoredItems" in line]


def test_an_unreadable_avatar_is_skipped_logged_and_counted_and_paging_goes_on(
    aws: AwsAccount,
    table: Table,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")
    tenant_id, key = aws.add_tenant("acme")
    avatars = AvatarRepository(table)
    job = completed_job(tenant_id)
    created = [saved_avatar(tenant_id, job, "absent") for _ in range(4)]
    for avatar in created:
        avatars.create(avatar)
    newest_first = sorted(created, key=lambda a: a.id, reverse=True)
    # The second newest no longer parses (a field renamed by hand, say).
    broken = newest_first[1]
    table.put({"pk": tenant_pk(tenant_id), "sk": avatar_sk(broken.id), "type": "avatar", "id": broken.id})
    capsys.readouterr()

    with caplog.at_level(logging.WARNING):
        first, cursor = avatars.list_page(tenant_id, limit=2, after_avatar_id=None)
        second, end = avatars.list_page(tenant_id, limit=2, after_avatar_id=cursor)
    assert [a.id for a in first] == [newest_first[0].id] and cursor == broken.id
    assert [a.id for a in second] == [newest_first[2].id, newest_first[3].id] and end is None
    logged = [r for r in caplog.records if "does not parse" in r.getMessage()]
    assert logged and getattr(logged[0], "sk", None) == avatar_sk(broken.id)
    metrics = _metric_lines(capsys.readouterr().out)
    assert len(metrics) == 1 and metrics[0]["UnreadableStoredItems"] in (1.0, [1.0])
    assert metrics[0]["item_type"] == "avatar"

    # Over HTTP the list still answers, without the broken item.
    status, _, body = api_call("list_avatars", key, query={"limit": "10"})
    assert status == 200, body
    assert [a["id"] for a in body["data"]] == [newest_first[i].id for i in (0, 2, 3)]


def test_an_unreadable_job_is_skipped_in_every_listing(aws: AwsAccount, table: Table) -> None:
    tenant_id, key = aws.add_tenant("acme")
    jobs = JobRepository(table)
    good = sorted((completed_job(tenant_id, "absent") for _ in range(3)), key=lambda j: j.id, reverse=True)
    for job in good:
        jobs.create(job)
    table.update(tenant_pk(tenant_id), job_sk(good[1].id), set_values={"spec": "{not json"})
    listed, _ = jobs.list_page(tenant_id, limit=10, after_job_id=None, status=None, client_reference_id=None)
    assert [j.id for j in listed] == [good[0].id, good[2].id]
    status, _, body = api_call("list_jobs", key, query={"status": "completed"})
    assert status == 200, body
    assert [j["id"] for j in body["data"]] == [good[0].id, good[2].id]


def test_an_unreadable_webhook_endpoint_or_delivery_is_skipped(aws: AwsAccount, table: Table) -> None:
    tenant_id, key = aws.add_tenant("acme")
    table.put({"pk": tenant_pk(tenant_id), "sk": "WHE#whe_broken", "type": "webhook_endpoint", "data": "[]"})
    table.put(
        {
            "pk": tenant_pk(tenant_id),
            "sk": "WHD#whd_broken",
            "type": "webhook_delivery",
            "status": "pending",
            "data": "{}",
            "gsi1pk": f"T#{tenant_id}#WHD",
            "gsi1sk": f"{NOW}#whd_broken",
        }
    )
    status, _, body = api_call("list_webhook_endpoints", key)
    assert status == 200 and body["data"] == [], body
    status, _, body = api_call("list_webhook_deliveries", key, query={})
    assert status == 200 and body["data"] == [], body


def test_an_unreadable_batch_is_skipped_and_paging_goes_on(aws: AwsAccount, table: Table) -> None:
    from avatarsmith.dal.batches import BatchRepository, batch_sk, batch_to_item
    from avatarsmith.models.domain import Batch

    tenant_id, key = aws.add_tenant("acme")
    ids = sorted((time_ordered_id("bat") for _ in range(4)), reverse=True)
    for batch_id in ids:
        batch = Batch(
            id=batch_id, tenant_id=tenant_id, status="completed", job_ids=[], created_at=NOW, updated_at=NOW
        )
        table.put(batch_to_item(batch))
    # The second newest no longer parses (its status renamed by hand, say).
    table.update(tenant_pk(tenant_id), batch_sk(ids[1]), set_values={"status": "??"})
    batches = BatchRepository(table)
    first, cursor = batches.list_page(tenant_id, limit=2, after_batch_id=None)
    second, end = batches.list_page(tenant_id, limit=2, after_batch_id=cursor)
    assert [b.id for b in first] == [ids[0]] and cursor == ids[1]
    assert [b.id for b in second] == [ids[2], ids[3]] and end is None
    status, _, body = api_call("list_batches", key, query={"limit": "10"})
    assert status == 200, body
    assert [b["id"] for b in body["data"]] == [ids[0], ids[2], ids[3]]


def test_an_unreadable_community_entry_is_skipped_logged_and_counted(
    aws: AwsAccount,
    table: Table,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from avatarsmith.dal.community import COMMUNITY_PK, entry_sk

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")
    _, key = aws.add_tenant("acme")
    table.put({"pk": COMMUNITY_PK, "sk": entry_sk("pub_broken"), "id": "pub_broken", "width": "wide"})
    capsys.readouterr()
    status, _, body = api_call("list_community", key, query={"limit": "10"})
    assert status == 200 and body["data"] == [], body
    metrics = _metric_lines(capsys.readouterr().out)
    assert len(metrics) == 1 and metrics[0]["item_type"] == "community_entry"
