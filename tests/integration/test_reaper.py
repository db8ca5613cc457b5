"""The reaper against injected faults, with the real ASL running in moto's Step Functions engine:
a lost queue message, the dispatcher dying after receiving a message, an execution stopped from outside,
an execution running past the deadline, and re-drives that never take."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest

from tests.conftest import AwsAccount, lambda_context
from tests.integration.helpers import api_call, dispatch_queued_messages, wait_for_execution

pytestmark = pytest.mark.statemachine


def _sweep(**event: Any) -> dict[str, Any]:
    from functions.reaper.app import lambda_handler

    return dict(lambda_handler(event, lambda_context("ReaperFunction", 300)))


def _reaper(later_by: float = 0, **policy: Any) -> Any:
    """The handler's Reaper, with its clock moved forward (and its policy adjusted)."""
    from functions.reaper.app import get_services

    reaper = get_services()
    return dataclasses.replace(
        reaper,
        clock=lambda: time.time() + later_by,
        policy=dataclasses.replace(reaper.policy, **policy),
    )


def _lose_queued_messages(aws: AwsAccount) -> None:
    sqs, queue = aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"]
    for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def _execution_arn(aws: AwsAccount, job_id: str) -> str:
    return aws.env["STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:") + f":{job_id}"


def _submit(aws: AwsAccount, key: str, **body: Any) -> dict[str, Any]:
    status, _, job = api_call("generate_avatar", key, body={"prompt": "man with a beard", **body})
    assert status == 202, job
    return job


def _job(key: str, job_id: str) -> dict[str, Any]:
    return api_call("get_job", key, path_params={"job_id": job_id})[2]


def _account(key: str) -> dict[str, Any]:
    return api_call("get_account", key)[2]


def _failed_events(aws: AwsAccount, job_id: str) -> int:
    """ "Avatar Job Failed" events for the job that reached the bus (its rule copies every job event to
    the webhook delivery queue)."""
    sqs = aws.client("sqs")
    count = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=aws.env["WEBHOOK_QUEUE_URL"], MaxNumberOfMessages=10, VisibilityTimeout=600
        ).get("Messages", [])
        if not messages:
            return count
        for message in messages:
            event = json.loads(message["Body"])
            if event.get("detail-type") == "Avatar Job Failed" and event["detail"]["job_id"] == job_id:
                count += 1


def _wait_status(key: str, job_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = _job(key, job_id)
        if job["status"] == status or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


@pytest.mark.usefixtures("fast_polls", "no_retry_sleep")
def test_lost_queue_message_is_redriven_after_the_grace_and_the_job_completes(aws: AwsAccount) -> None:
    # Given a job whose queue message was lost before any dispatcher saw it
    _, key = aws.add_tenant()
    job = _submit(aws, key, model="test-async")
    _lose_queued_messages(aws)
    # When the reaper runs before the grace is over, it leaves the job alone
    assert _sweep()["redriven"] == []
    # When it runs with the grace over (the local stack's start sends 0)
    report = _sweep(queued_grace_seconds=0)
    # Then the job was re-driven, and it completes with its credits charged once
    assert report["redriven"] == [job["id"]]
    assert dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"]) == {
        "batchItemFailures": []
    }
    execution = wait_for_execution(aws.client("stepfunctions"), _execution_arn(aws, job["id"]))
    assert execution["status"] == "SUCCEEDED"
    assert _job(key, job["id"])["status"] == "completed"
    assert _account(key)["reserved"] == 0
    assert _sweep(queued_grace_seconds=0) == {"checked": 0, "redriven": [], "failed": [], "errors": 0}


@pytest.mark.usefixtures("fast_polls", "no_retry_sleep")
def test_dispatcher_dying_after_receiving_a_message_is_redriven_once(aws: AwsAccount) -> None:
    # Given a dispatcher that received the job's message and died (the message is invisible for 180 s)
    _, key = aws.add_tenant()
    job = _submit(aws, key, model="test-async")
    sqs, queue = aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"]
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"]
    # When the reaper runs after the grace
    report = _reaper(later_by=2_000).sweep()
    # Then the job is re-driven and completes
    assert report["redriven"] == [job["id"]]
    dispatch_queued_messages(sqs, queue)
    sfn = aws.client("stepfunctions")
    assert wait_for_execution(sfn, _execution_arn(aws, job["id"]))["status"] == "SUCCEEDED"
    # When the original message comes back after all, it starts nothing: one execution, one charge
    sqs.change_message_visibility(
        QueueUrl=queue, ReceiptHandle=received[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    dispatch_queued_messages(sqs, queue)
    executions = sfn.list_executions(stateMachineArn=aws.env["STATE_MACHINE_ARN"])["executions"]
    assert [e["name"] for e in executions].count(job["id"]) == 1
    final = _job(key, job["id"])
    assert final["status"] == "completed" and final["credits"]["charged"] == 1
    assert _account(key)["reserved"] == 0


def _start_slow_job(aws: AwsAccount, key: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLLS", "1000")
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLL_SECONDS", "1")
    job = _submit(aws, key, model="test-async", num_variations=2)
    dispatch_queued_messages(aws.client("sqs"), aws.env["GENERATION_QUEUE_URL"])
    assert _wait_status(key, job["id"], "processing")["status"] == "processing"
    return job


def test_execution_stopped_from_outside_fails_the_job_stalled_refunded_and_announced_once(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a processing job whose execution an operator stopped (outside the workflow's Catch)
    _, key = aws.add_tenant(credits=10)
    job = _start_slow_job(aws, key, monkeypatch)
    sfn, arn = aws.client("stepfunctions"), _execution_arn(aws, job["id"])
    sfn.stop_execution(executionArn=arn)
    assert wait_for_execution(sfn, arn)["status"] == "ABORTED"
    assert _account(key)["reserved"] == 2
    # When the reaper runs (twice)
    first, second = _sweep(), _sweep()
    # Then the job failed with `stalled` once, everything reserved was refunded, one failed event went out
    assert first["failed"] == [job["id"]] and second["failed"] == []
    failed = _job(key, job["id"])
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "stalled"
    assert failed["credits"] == {"reserved": 2, "charged": 0, "refunded": 2}
    account = _account(key)
    assert (account["balance"], account["reserved"]) == (10, 0)
    assert _failed_events(aws, job["id"]) == 1


def test_execution_running_past_the_deadline_is_stopped_and_the_job_fails_stalled(
    aws: AwsAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = aws.add_tenant(credits=10)
    job = _start_slow_job(aws, key, monkeypatch)
    sfn, arn = aws.client("stepfunctions"), _execution_arn(aws, job["id"])
    # Within the deadline the running execution is left alone
    assert _reaper().sweep()["failed"] == []
    # Past the deadline plus the margin it is stopped and the job fails
    report = _reaper(later_by=100_000).sweep()
    assert report["failed"] == [job["id"]]
    assert wait_for_execution(sfn, arn)["status"] == "ABORTED"
    assert _job(key, job["id"])["error"]["code"] == "stalled"
    assert _account(key)["reserved"] == 0


def test_redrives_that_never_take_end_in_stalled(aws: AwsAccount) -> None:
    # Given a job whose every message is lost
    _, key = aws.add_tenant(credits=10)
    job = _submit(aws, key, model="test-async")
    reaper = _reaper(max_redrives=1)
    _lose_queued_messages(aws)
    assert reaper.sweep(queued_grace_seconds=0)["redriven"] == [job["id"]]
    _lose_queued_messages(aws)
    # When the last re-drive had its margin and nothing started
    assert reaper.sweep(queued_grace_seconds=0) == {"checked": 1, "redriven": [], "failed": [], "errors": 0}
    report = _reaper(later_by=2_000, max_redrives=1).sweep(queued_grace_seconds=0)
    # Then the job fails with `stalled` and is refunded
    assert report["failed"] == [job["id"]]
    failed = _job(key, job["id"])
    assert (failed["status"], failed["error"]["code"]) == ("failed", "stalled")
    assert _account(key)["reserved"] == 0
