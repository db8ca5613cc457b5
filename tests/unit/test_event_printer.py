"""`make run`'s event printer: one line per job event, and every printed event leaves the queue."""

from __future__ import annotations

import json
import time

import boto3
from moto import mock_aws

from local.event_watch import EventPrinter


def test_every_event_is_printed_once_and_deleted() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="watch", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
        for n in range(23):
            event = {"detail-type": "Job Completed", "detail": {"job_id": f"job-{n}", "status": "completed"}}
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        lines: list[str] = []
        printer = EventPrinter(sqs, url, lambda line, **_: lines.append(line))
        printer.start()
        deadline = time.monotonic() + 20
        while len(lines) < 23 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # past the visibility timeout: an undeleted message would come back
        printer.stop()
        left = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    assert sorted(lines) == sorted(
        f"event Job Completed: job job-{n} status=completed model=- credits={{}}" for n in range(23)
    )
    assert left == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


def test_a_trickle_of_events_is_read_in_batches() -> None:
    """Events arriving one by one (as jobs complete under load) are not read one request each."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="watch")["QueueUrl"]
        calls: list[str] = []
        sqs.meta.events.register("before-call.sqs.*", lambda model, **_: calls.append(model.name))
        lines: list[str] = []
        printer = EventPrinter(sqs, url, lambda line, **_: lines.append(line))
        printer.start()
        for n in range(40):  # 20 events a second for 2 s
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"detail": {"job_id": f"job-{n}"}}))
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while len(lines) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        printer.stop()
    assert len(lines) == 40
    receives, deletes = calls.count("ReceiveMessage"), calls.count("DeleteMessageBatch")
    assert receives <= 12 and deletes <= 12, (receives, deletes)  # one each per event without the pacing
