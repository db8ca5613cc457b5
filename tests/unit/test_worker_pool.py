"""The local stack's function workers: Timeout enforced (killed, reported as Lambda reports it),
concurrency bounded, only the given environment and sys.path."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import lambda_adapter
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
            None,  # type: ignore[arg-type]
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
