"""Watch the job events on the local bus: an SQS queue subscribed to it (the same EventBridge -> SQS
mechanism an operator uses in AWS), and an optional printer with one line per event."""

from __future__ import annotations

import json
import threading
from typing import Any

WATCH_QUEUE_NAME = "avatarsmith-local-JobEventsWatch"
WATCH_RULE_NAME = "avatarsmith-local-watch-job-events"
PACE_SECONDS = 0.5  # after a partial batch: events are printed at most this much later


def subscribe_watch_queue(session: Any, bus_name: str) -> str:
    """Create a queue that receives a copy of every event on the bus; returns its URL."""
    sqs, events = session.client("sqs"), session.client("events")
    url = sqs.create_queue(QueueName=WATCH_QUEUE_NAME)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=WATCH_RULE_NAME, EventBusName=bus_name, EventPattern=json.dumps({"source": ["avatarsmith"]})
    )
    events.put_targets(Rule=WATCH_RULE_NAME, EventBusName=bus_name, Targets=[{"Id": "watch", "Arn": arn}])
    return str(url)


def describe(event: dict[str, Any]) -> str:
    detail = event.get("detail", {})
    return (
        f"event {event.get('detail-type')}: job {detail.get('job_id')} status={detail.get('status')} "
        f"model={detail.get('model', '-')} credits={json.dumps(detail.get('credits', {}), sort_keys=True)}"
    )


class EventPrinter:
    """Prints one line per job event from the watch queue (and consumes them)."""

    def __init__(self, sqs: Any, queue_url: str, write: Any = print):
        self.sqs, self.queue_url, self.write = sqs, queue_url, write
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-printer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except Exception:  # the stack is stopping
                if self._stop.wait(1.0):
                    return
                continue
            for message in messages:
                self.write(describe(json.loads(message["Body"])), flush=True)
            if messages:  # one request for the batch (under load, one per event was a request per job)
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                    ],
                )
            if 0 < len(messages) < 10:  # a long poll answers as soon as one event is there: under load
                self._stop.wait(PACE_SECONDS)  # that was a receive and a delete per event; let them gather
