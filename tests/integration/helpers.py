"""Helpers to call handlers with the committed events/ fixtures."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from tests.conftest import lambda_context, load_event


def api_call(
    name: str,
    api_key: str | None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Invoke the api function with events/api/<name>.json, adjusted; returns (status, headers, json body)."""
    from functions.api.app import lambda_handler

    event = copy.deepcopy(load_event(f"api/{name}.json"))
    event["headers"].pop("authorization", None)
    event["headers"].pop("idempotency-key", None)  # sent only when a test passes one in `headers`
    if api_key:
        event["headers"]["authorization"] = f"Bearer {api_key}"
    if body is not None:
        event["body"] = json.dumps(body)
    if raw_body is not None:
        event["body"] = raw_body
    if path_params:
        event["pathParameters"] = path_params
        path = event["requestContext"]["routeKey"].split(" ", 1)[1]
        for key, value in path_params.items():
            path = path.replace("{" + key + "}", value)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if headers:
        event["headers"].update({k.lower(): v for k, v in headers.items()})
    result = lambda_handler(event, lambda_context("ApiFunction", 29))
    return (
        result["statusCode"],
        result.get("headers", {}),
        json.loads(result["body"]) if result.get("body") else {},
    )


def dispatch_queued_messages(sqs: Any, queue_url: str) -> dict[str, Any]:
    """Receive what the api enqueued and hand it to the dispatcher as one SQS batch."""
    from functions.dispatcher.app import lambda_handler
    from local.poller import sqs_event

    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    )
    assert messages, "the api enqueued nothing"
    arn = "arn:aws:sqs:us-east-1:123456789012:GenerationQueue"
    return dict(lambda_handler(sqs_event(messages, arn, "us-east-1"), lambda_context("DispatcherFunction")))


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return dict(execution)
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_arn} still running after {timeout}s")


def state_names_entered(sfn: Any, execution_arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def run_notifier(sqs: Any, queue_url: str, *, idle_polls: int = 2, max_batches: int = 200) -> int:
    """Feed what is on the webhook delivery queue to the notifier, batch by batch, the way the Lambda
    event source does (delete only what succeeded), until the queue stays empty. Returns batches run."""
    from functions.notifier.app import lambda_handler
    from local.poller import sqs_event

    arn = "arn:aws:sqs:us-east-1:123456789012:WebhookDeliveryQueue"
    batches, idle = 0, 0
    while idle < idle_polls and batches < max_batches:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=30
        ).get("Messages", [])
        if not messages:
            idle += 1
            time.sleep(0.05)
            continue
        idle, batches = 0, batches + 1
        result = lambda_handler(sqs_event(messages, arn, "us-east-1"), lambda_context("NotifierFunction", 60))
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
    return batches


def execution_arn(env: dict[str, str], job_id: str) -> str:
    """The job's execution: on the EXPRESS workflow (synchronous backends) or the STANDARD one."""
    import boto3

    sfn = boto3.session.Session().client("stepfunctions")
    arns = [
        env[name].replace(":stateMachine:", ":execution:") + f":{job_id}"
        for name in ("EXPRESS_STATE_MACHINE_ARN", "STATE_MACHINE_ARN")
    ]
    for arn in arns:
        try:
            sfn.describe_execution(executionArn=arn)
        except sfn.exceptions.ExecutionDoesNotExist:
            continue
        return arn
    raise AssertionError(f"no execution for {job_id}")


def run_like_the_state_machine(job_id: str, tenant_id: str, hooks: dict[str, Any] | None = None) -> None:
    """The STANDARD workflow's processor tasks for a synchronous backend: Submit -> Store -> MarkCompleted,
    with the ASL's Catch -> MarkFailed on any error (`hooks`: callables run before_submit, before_complete,
    after_complete)."""
    from functions.processor.app import lambda_handler

    hooks = hooks or {}

    def task(name: str, **extra: Any) -> dict[str, Any]:
        return load_event(f"statemachine/{name}.json") | {"job_id": job_id, "tenant_id": tenant_id} | extra

    ctx = lambda_context("ProcessorFunction", 120)
    try:
        hooks.get("before_submit", lambda: None)()
        generation = lambda_handler(task("submit"), ctx)
        stored = lambda_handler(task("store", generation=generation), ctx)
        hooks.get("before_complete", lambda: None)()
        lambda_handler(task("mark_completed", generation=generation, variations=stored["variations"]), ctx)
        hooks.get("after_complete", lambda: None)()
    except Exception as exc:
        error = {"Error": type(exc).__name__, "Cause": str(exc)}
        lambda_handler(task("mark_failed", error=error), ctx)
