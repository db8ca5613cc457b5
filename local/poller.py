"""Our own SQS -> Lambda poller (moto's event-source mapping delivers one message at a time inside
send_message and ignores batchItemFailures). Real batches, partial failures, visibility timeout, redrive."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from .lambda_adapter import REGISTRY

log = logging.getLogger("avatarsmith.local.poller")
ADMISSION_RECHECK_SECONDS = 0.02


def sqs_event(records: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The Lambda SQS event for a batch of received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": m.get("MessageAttributes", {}),
                "md5OfBody": m.get("MD5OfBody")
                or hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in records
        ]
    }


class SqsPoller:
    def __init__(
        self,
        sqs: Any,
        *,
        function_name: str,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        region: str = "us-east-1",
        wait_seconds: int = 1,
        admit: Callable[[], bool] | None = None,
    ):
        self.sqs = sqs
        self.function_name = function_name
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.region = region
        self.wait_seconds = wait_seconds
        self.admit = admit  # False: take no new batch now (the functions downstream are saturated)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{function_name}", daemon=True)
        self.batches = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait_seconds + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.admit is not None and not self.admit():
                self._stop.wait(ADMISSION_RECHECK_SECONDS)
                continue
            try:
                self.poll_once()
            except Exception:  # keep polling; the messages stay in the queue and are retried
                if self._stop.is_set():
                    return
                log.exception("poller %s: receive failed", self.function_name)
                self._stop.wait(1.0)

    def poll_once(self) -> int:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        self.batches += 1
        event = sqs_event(messages, self.queue_arn, self.region)
        try:
            result = REGISTRY.invoke(self.function_name, event) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            log.exception("poller %s: the function failed the whole batch", self.function_name)
            failed = {m["MessageId"] for m in messages}
        self.failures += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        # Failed messages are left alone: they reappear after the visibility timeout and, past
        # maxReceiveCount, the queue's redrive policy moves them to the DLQ.
        return len(messages)
