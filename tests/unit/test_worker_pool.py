"""The local stack's function workers: Timeout enforced (killed, reported as Lambda reports it),
concurrency bounded, only the given environment and sys.path."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import lambda_adapter, metering
from local.workers import FunctionError, WorkerPool

HANDLERS = """
import json, os, sys, time

def sleepy(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "remaining_ms": context.get_remaining_time_in_millis()}

def inspect(event, context):
    print("a print goes to the console, not into the reply")
    return {"env": dict(os.environ), "path": sys.path, "request_id": context.aws_request_id}

def crash(event, context):
    os._exit(3)

def boom(event, context):
    raise ValueError("no such avatar")
"""


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    return tmp_path


@pytest.fixture
def pool_for(artifact: Path) -> Iterator[object]:
    pools: list[WorkerPool] = []

    def make(handler: str, *, timeout: int = 5, concurrency: int = 2) -> WorkerPool:
        pool = WorkerPool(
            "Probe",
            handler=f"handlers.{handler}",
            sys_path=[str(artifact)],
            environment={"ONLY_THIS": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"},
            timeout=timeout,
            concurrency=concurrency,
        )
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def test_a_handler_past_its_timeout_is_killed_and_reported_as_lambda_does(pool_for) -> None:  # type: ignore[no-untyped-def]
    pool = pool_for("sleepy", timeout=1)
    first = pool.invoke({})
    with pytest.raises(FunctionError) as caught:
        pool.invoke({"sleep": 30})
    assert caught.value.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in str(caught.value)
    with pytest.raises(ProcessLookupError):
        os.kill(first["pid"], 0)  # the instance that timed out is gone
    again = pool.invoke({})
    assert again["pid"] != first["pid"]
    assert 0 < again["remaining_ms"] <= 1000


def test_a_timeout_reaches_the_state_machine_as_a_lambda_error_envelope(pool_for) -> None:  # type: ignore[no-untyped-def]
    lambda_adapter.REGISTRY.register_pool("Probe", pool_for("sleepy", timeout=1))
    try:
        headers: dict[str, str] = {}
        body = lambda_adapter._invoke(  # what moto's Lambda Invoke runs (Step Functions tasks)
            None,
            "arn:aws:lambda:us-east-1:123456789012:function:Probe",
            None,
            json.dumps({"sleep": 30}),
            {},
            headers,
        )
    finally:
        lambda_adapter.REGISTRY.close_pools()
    assert headers["x-amz-function-error"] == "Unhandled"
    assert json.loads(body)["errorType"] == "Sandbox.Timedout"


def test_errors_crashes_and_only_the_given_environment(pool_for) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FunctionError) as caught:
        pool_for("boom").invoke({})
    assert (caught.value.error_type, str(caught.value)) == ("ValueError", "no such avatar")
    with pytest.raises(FunctionError) as crashed:
        pool_for("crash").invoke({})
    assert crashed.value.error_type == "Runtime.ExitError"
    seen = pool_for("inspect").invoke({})
    assert set(seen["env"]) - {"LC_CTYPE"} == {"ONLY_THIS", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"}
    repo = str(Path(__file__).resolve().parents[2])
    assert not [p for p in seen["path"] if p.startswith(repo) or "site-packages" in p], seen["path"]
    with pytest.raises(FunctionError) as missing:
        pool_for("nothing_here").invoke({})
    assert missing.value.error_type == "Runtime.ImportModuleError"


def test_concurrency_is_bounded_per_function(pool_for) -> None:  # type: ignore[no-untyped-def]
    pool = pool_for("sleepy", concurrency=2)
    pids: list[int] = []
    threads = [
        threading.Thread(target=lambda: pids.append(pool.invoke({"sleep": 0.3})["pid"])) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pids) == 6
    assert len(set(pids)) == 2


METERED = """
import time

def busy(event, context):
    deadline = time.thread_time() + event["cpu"]
    while time.thread_time() < deadline:
        pass
    time.sleep(event["sleep"])
    return {"ok": True}
"""


def test_usage_is_measured_inside_the_worker_and_appended_by_the_pool(tmp_path: Path) -> None:
    import botocore
    import requests

    (tmp_path / "metered.py").write_text(METERED)
    meter_file = tmp_path / "meter.jsonl"
    packages = {str(Path(str(m.__file__)).resolve().parent.parent) for m in (botocore, requests)}
    runtime = {"AWS_LAMBDA_FUNCTION_NAME": "Probe", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}

    def pool(environment: dict[str, str]) -> WorkerPool:
        return WorkerPool(
            "Probe",
            handler="metered.busy",
            sys_path=[str(tmp_path), *packages],
            environment=environment,
            timeout=10,
            concurrency=1,
        )

    unmetered = pool(runtime)
    try:
        assert unmetered.invoke({"cpu": 0.01, "sleep": 0}) == {"ok": True}
    finally:
        unmetered.close()
    assert not meter_file.exists()  # off unless the variable is set

    metered = pool({**runtime, metering.METER_FILE_ENV: str(meter_file)})
    try:
        for _ in range(2):
            assert metered.invoke({"cpu": 0.15, "sleep": 0.2}) == {"ok": True}
    finally:
        metered.close()
    records = metering.read(str(meter_file))
    assert len(records) == 2
    for record in records:
        assert (record["function"], record["memory_mb"]) == ("Probe", 256)
        assert record["cpu_ms"] >= 140  # the worker's own CPU time for the handler
        assert 190 <= record["wait_ms"] < 1000  # its sleep, counted by the worker's hooks


def test_invocations_past_the_concurrency_are_counted_as_waiting(pool_for) -> None:  # type: ignore[no-untyped-def]
    import time

    pool = pool_for("sleepy", concurrency=1)
    pool.invoke({})  # a warm worker, so the next ones only wait for it
    threads = [threading.Thread(target=pool.invoke, args=({"sleep": 0.6},)) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while pool.waiting != 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.waiting == 2  # one running, two queued for the only worker
    for thread in threads:
        thread.join()
    assert pool.waiting == 0


def test_the_dispatcher_takes_no_batch_while_the_workflow_functions_are_saturated(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Admission: the backlog waits in the queue instead of in executions that would time out."""
    import time

    import boto3
    from moto import mock_aws

    from local.poller import SqsPoller
    from local.stack import EmbeddedStack
    from local.template import execution_starters, load_template, workflow_functions

    template = load_template()
    assert workflow_functions(template) == {"ProcessorFunction"}
    assert "DispatcherFunction" in execution_starters(template)

    class Pool:
        concurrency, waiting = 4, 0

    processor = Pool()
    monkeypatch.setattr(lambda_adapter.REGISTRY, "_pools", {"ProcessorFunction": processor})
    has_room = EmbeddedStack._workflow_has_room(template)
    assert has_room()
    processor.waiting = 5
    assert not has_room()

    batches: list[int] = []
    monkeypatch.setattr(
        lambda_adapter.REGISTRY, "invoke", lambda name, event: batches.append(len(event["Records"]))
    )
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        for i in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(i))
        poller = SqsPoller(
            sqs,
            function_name="DispatcherFunction",
            queue_url=url,
            queue_arn="arn:aws:sqs:us-east-1:123456789012:jobs",
            batch_size=10,
            admit=has_room,
        )
        poller.start()
        try:
            time.sleep(0.5)
            assert batches == []
            count = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            assert count["Attributes"]["ApproximateNumberOfMessages"] == "3"
            processor.waiting = 4  # one queued invocation per worker: room again
            deadline = time.monotonic() + 5
            while sum(batches) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sum(batches) == 3
        finally:
            poller.stop()
