"""Waiting on AWS: the api function itself holds a long-poll (and `Prefer: wait` on a submit), so each tenant
may hold only WAITS_PER_TENANT of them at once (a conditional DynamoDB count, given back when the wait ends
and expiring on its own if an instance dies mid-wait). Probed as a greedy client would."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.conftest import AwsAccount
from tests.integration.helpers import api_call


@pytest.fixture
def one_wait_each(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> AwsAccount:
    from avatarsmith.config import clear_settings_cache

    monkeypatch.setenv("WAITS_PER_TENANT", "1")
    clear_settings_cache()
    return aws


def _long_poll(key: str, job_id: str, seconds: int, out: dict[str, Any]) -> None:
    started = time.monotonic()
    out["answer"] = api_call(
        "get_job",
        key,
        path_params={"job_id": job_id},
        query={"wait_for_completion": "true", "timeout_seconds": str(seconds)},
    )
    out["seconds"] = time.monotonic() - started


def test_a_tenant_past_its_waits_gets_429_and_others_are_not_limited(one_wait_each: AwsAccount) -> None:
    _, key = one_wait_each.add_tenant("greedy")
    _, other_key = one_wait_each.add_tenant("other")
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x"})  # stays queued: no processor runs
    _, _, other_job = api_call("generate_avatar", other_key, body={"prompt": "y"})
    first: dict[str, Any] = {}
    holder = threading.Thread(target=_long_poll, args=(key, job["id"], 3, first))
    holder.start()
    time.sleep(0.8)
    # When the same tenant asks for a second wait while the first is held
    status, headers, body = api_call(
        "get_job", key, path_params={"job_id": job["id"]}, headers={"Prefer": "wait=5"}
    )
    # Then it is refused at once, with Retry-After, in the envelope
    assert status == 429 and body["error"]["code"] == "rate_limited", body
    assert int(headers["Retry-After"]) >= 1
    # but a read without waiting, and another tenant's wait, are served
    assert api_call("get_job", key, path_params={"job_id": job["id"]})[0] == 200
    other: dict[str, Any] = {}
    _long_poll(other_key, other_job["id"], 1, other)
    assert other["answer"][0] == 200 and other["seconds"] >= 0.9
    holder.join()
    assert first["answer"][0] == 200 and first["seconds"] >= 2.9
    # And once the first wait ended, its slot is free again
    again: dict[str, Any] = {}
    _long_poll(key, job["id"], 1, again)
    assert again["answer"][0] == 200


def test_prefer_wait_on_a_submit_answers_202_after_n_seconds_when_the_job_is_not_done(
    one_wait_each: AwsAccount,
) -> None:
    _, key = one_wait_each.add_tenant("submitter")
    started = time.monotonic()
    status, headers, job = api_call(
        "generate_avatar", key, body={"prompt": "x"}, headers={"Prefer": "wait=2"}
    )
    took = time.monotonic() - started
    assert status == 202 and job["status"] == "queued"
    assert headers["Preference-Applied"] == "wait=2" and headers["Location"] == f"/v1/jobs/{job['id']}"
    assert 1.9 <= took < 10


def test_a_forged_front_door_header_does_not_shorten_a_wait_on_aws(one_wait_each: AwsAccount) -> None:
    _, key = one_wait_each.add_tenant("forger")
    _, _, job = api_call("generate_avatar", key, body={"prompt": "x"})
    started = time.monotonic()
    status, headers, _ = api_call(
        "get_job",
        key,
        path_params={"job_id": job["id"]},
        headers={"Prefer": "wait=2", "x-avatarsmith-wait-left": "0"},
    )
    assert status == 200 and time.monotonic() - started >= 1.9
    assert not any(k.lower() == "x-avatarsmith-wait-for" for k in headers)


def test_the_wait_count_is_given_back_and_expires(aws: AwsAccount) -> None:
    from avatarsmith.dal.table import Table
    from avatarsmith.dal.waits import WaitSlots

    slots = WaitSlots(Table(aws.env["TABLE_NAME"]))
    now = time.time()
    assert slots.acquire("t1", limit=2, hold_seconds=35, now=now)
    assert slots.acquire("t1", limit=2, hold_seconds=35, now=now)
    assert not slots.acquire("t1", limit=2, hold_seconds=35, now=now)
    assert slots.acquire("t2", limit=2, hold_seconds=35, now=now)  # per tenant
    slots.release("t1")
    assert slots.holders("t1") == 1
    assert slots.acquire("t1", limit=2, hold_seconds=35, now=now)
    # Two holders die without giving their slots back: once every wait must have ended, the count restarts
    assert not slots.acquire("t1", limit=2, hold_seconds=35, now=now + 10)
    assert slots.acquire("t1", limit=2, hold_seconds=35, now=now + 40)
    assert slots.holders("t1") == 1
    slots.release("t1")
    slots.release("t1")  # one release too many never goes below zero
    assert slots.holders("t1") == 0


def test_prefer_wait_on_a_batch_answers_202_after_n_seconds_when_its_jobs_run_on(
    one_wait_each: AwsAccount,
) -> None:
    _, key = one_wait_each.add_tenant("batcher")
    started = time.monotonic()
    status, headers, batch = api_call(
        "create_batch", key, body={"items": [{"prompt": "x"}, {"prompt": "y"}]}, headers={"Prefer": "wait=1"}
    )
    assert status == 202 and batch["object"] == "batch"
    assert headers["Preference-Applied"] == "wait=1"
    assert 0.9 <= time.monotonic() - started < 10
