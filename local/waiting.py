"""The front door waits, not the function: long-polls and `Prefer: wait` take no worker others need.

With `WAIT_IN_FRONT_DOOR` (set for the api function by the local stack), a request that asks to wait for a
job is answered by the function at once, with the job as it is and a `X-Avatarsmith-Wait-For: <job id>;
seconds=<left>` header (layers/common/avatarsmith/logic/waiting.py). `FrontDoorWaits.follow` takes that
answer, drops the header, and waits on the connection's own thread until the job's event arrives on the
bus (a queue subscribed to it, as event_watch.py does) or a fallback interval passes, then asks the
function again - a read of a few milliseconds - with `x-avatarsmith-wait-left` set to what remains:
- a read (`GET /v1/jobs/{id}`, Pi's `GET /api/v1/jobs/{id}`): the same request again; the function answers
  for good once the job is terminal or no time is left;
- a submit (`POST /v1/avatars/generate` or `POST /v1/batches` with `Prefer: wait=N`): `GET /v1/jobs/{id}`
  (or `/v1/batches/{id}`) with the same credentials; a job or batch that ended becomes the submit's 200
  answer (with its `Location` and `Preference-Applied`), and when N s pass the submit's own 202 goes out.
  A batch has no event of its own here: it is read every 2 s.
A client cannot send the internal headers: `strip_internal` removes them from every request first.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

DEFER_HEADER = "x-avatarsmith-wait-for"  # logic/waiting.DEFER_HEADER, compared lower-case
WAIT_LEFT_HEADER = "x-avatarsmith-wait-left"  # logic/waiting.WAIT_LEFT_HEADER
#: The api function's environment in the local stack.
FUNCTION_ENVIRONMENT = {"WAIT_IN_FRONT_DOOR": "true"}
FALLBACK_POLL_SECONDS = 2.0  # a job whose event is missed is still seen this often
QUEUE_NAME = "avatarsmith-local-FrontDoorWaits"
RULE_NAME = "avatarsmith-local-front-door-waits"
_TERMINAL = {"completed", "failed", "canceled"}  # a job's; a batch ends completed or failed
_REMEMBER_SECONDS = 120.0

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


def subscribe_queue(session: Any, bus_name: str) -> str:
    """A queue that receives every job event on the bus (the same EventBridge -> SQS route as on AWS)."""
    sqs, events = session.client("sqs"), session.client("events")
    url = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=RULE_NAME, EventBusName=bus_name, EventPattern=json.dumps({"source": ["avatarsmith"]})
    )
    events.put_targets(Rule=RULE_NAME, EventBusName=bus_name, Targets=[{"Id": "waits", "Arn": arn}])
    return str(url)


class JobEvents:
    """Wakes the waiters of a job when one of its events arrives (and remembers recent ones, for a waiter
    that starts just after its job's event)."""

    def __init__(self, sqs: Any = None, queue_url: str = ""):
        self.sqs, self.queue_url = sqs, queue_url
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._recent: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="front-door-waits", daemon=True)

    def start(self) -> None:
        if self.sqs is not None:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)

    @contextlib.contextmanager
    def watch(self, job_id: str) -> Iterator[threading.Event]:
        woken = threading.Event()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(woken)
            if job_id in self._recent:
                woken.set()
        try:
            yield woken
        finally:
            with self._lock:
                waiters = self._waiters.get(job_id, set())
                waiters.discard(woken)
                if not waiters:
                    self._waiters.pop(job_id, None)

    def notify(self, job_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent[job_id] = now
            if len(self._recent) > 1000:
                self._recent = {k: t for k, t in self._recent.items() if now - t < _REMEMBER_SECONDS}
            for woken in self._waiters.get(job_id, ()):
                woken.set()

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
                with contextlib.suppress(ValueError, AttributeError):
                    job_id = (json.loads(message["Body"]).get("detail") or {}).get("job_id")
                    if isinstance(job_id, str):
                        self.notify(job_id)
            if messages:
                with contextlib.suppress(Exception):
                    self.sqs.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(messages)
                        ],
                    )


def strip_internal(headers: dict[str, str]) -> None:
    """Requests from clients never carry the front door's own headers."""
    headers.pop(WAIT_LEFT_HEADER, None)


def _pop_defer(result: dict[str, Any]) -> tuple[str, float] | None:
    headers = result.get("headers") or {}
    for key in list(headers):
        if key.lower() == DEFER_HEADER:
            value = str(headers.pop(key))
            job_id, _, rest = value.partition(";")
            try:
                return job_id.strip(), float(rest.strip().removeprefix("seconds="))
            except ValueError:
                return None
    return None


def _read_of(event: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """`GET /v1/jobs/{job_id}` (or `/v1/batches/{batch_id}` for a batch) with the submit's credentials."""
    ask = copy.deepcopy(event)
    keep = ("authorization", "x-api-key", "host", "user-agent", "x-forwarded-proto")
    ask["headers"] = {k: v for k, v in (event.get("headers") or {}).items() if k in keep}
    kind, param = ("batches", "batch_id") if resource_id.startswith("bat_") else ("jobs", "job_id")
    path, route = f"/v1/{kind}/{resource_id}", f"GET /v1/{kind}/{{{param}}}"
    ask.update({"routeKey": route, "rawPath": path, "rawQueryString": ""})
    ask["requestContext"].update({"routeKey": route})
    ask["requestContext"]["http"].update({"method": "GET", "path": path})
    ask["pathParameters"] = {param: resource_id}
    ask["isBase64Encoded"] = False
    for key in ("body", "queryStringParameters"):
        ask.pop(key, None)
    return ask


def _status(result: dict[str, Any]) -> str | None:
    try:
        body = json.loads(result.get("body") or "")
    except ValueError:
        return None
    return body.get("status") if isinstance(body, dict) else None


class FrontDoorWaits:
    def __init__(self, events: JobEvents):
        self.events = events
        self._lock = threading.Lock()
        self.waiting = 0  # requests waiting right now (for tests and the curious)

    def follow(self, event: dict[str, Any], result: dict[str, Any], invoke: Invoke) -> dict[str, Any]:
        """The answer to send for `event`, given the function's first answer `result`."""
        deferred = _pop_defer(result)
        if deferred is None:
            return result
        job_id, seconds = deferred
        deadline = time.monotonic() + seconds
        submit = event.get("requestContext", {}).get("http", {}).get("method") == "POST"
        ask = _read_of(event, job_id) if submit else copy.deepcopy(event)
        with self._counted(), self.events.watch(job_id) as woken:
            while True:
                left = deadline - time.monotonic()
                if left > 0:
                    woken.wait(min(left, FALLBACK_POLL_SECONDS))
                    woken.clear()
                left = max(0.0, deadline - time.monotonic())
                ask["headers"][WAIT_LEFT_HEADER] = f"{left:.3f}"
                answer = invoke(ask)
                again = _pop_defer(answer)
                if submit:
                    if int(answer.get("statusCode", 0)) == 200 and _status(answer) in _TERMINAL:
                        return self._finished_submit(result, answer)
                    if left <= 0 or int(answer.get("statusCode", 0)) != 200:
                        return result
                elif again is None or left <= 0:
                    return answer

    @staticmethod
    def _finished_submit(submitted: dict[str, Any], read: dict[str, Any]) -> dict[str, Any]:
        headers = {**(submitted.get("headers") or {})}
        for key in ("X-Credits-Balance", "x-credits-balance"):
            if key in (read.get("headers") or {}):
                headers[key] = read["headers"][key]
        return {**submitted, "statusCode": 200, "headers": headers, "body": read.get("body") or ""}

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        with self._lock:
            self.waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self.waiting -= 1
