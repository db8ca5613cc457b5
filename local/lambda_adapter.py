"""Run our Lambda functions when moto is asked to invoke one (Step Functions tasks, direct invokes).

moto offers no hook for this, so we replace `LambdaSimpleBackend.invoke` (moto is pinned; the test
tests/unit/test_moto_contract.py fails loudly if an upgrade changes the method we replace). A function
error becomes a Lambda error envelope, so the state machine's Retry/Catch see its type.

`REGISTRY` knows how to run each function:
- the local stack registers a `WorkerPool` per function (local/workers.py): worker processes that
  import the built artifact with only the function's environment, as Lambda does;
- tests that run everything inside one process under moto's in-process mock (the `aws` fixture)
  use `register`: the handler imported from the source tree and called in the calling thread.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from . import metering
from .workers import FunctionError, WorkerPool

Handler = Callable[[dict[str, Any], Any], Any]


class LocalContext:
    """The parts of the Lambda context our handlers and Powertools use."""

    def __init__(self, function_name: str, timeout_seconds: int, memory_mb: int = 512):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionRegistry:
    """Function name -> how to run it: a worker pool, or (in-process tests) the handler's import path."""

    def __init__(self) -> None:
        self._specs: dict[str, tuple[str, str, int, int]] = {}
        self._handlers: dict[str, Handler] = {}
        self._pools: dict[str, WorkerPool] = {}
        self._lock = threading.Lock()

    def register(self, name: str, module: str, attribute: str, *, timeout: int, memory: int) -> None:
        self._specs[name] = (module, attribute, timeout, memory)

    def register_pool(self, name: str, pool: WorkerPool) -> None:
        self._pools[name] = pool

    def pool(self, name: str) -> WorkerPool | None:
        return self._pools.get(name)

    def close_pools(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

    def handler(self, name: str) -> Handler:
        with self._lock:
            if name not in self._handlers:
                module, attribute, _, _ = self._specs[name]
                self._handlers[name] = getattr(importlib.import_module(module), attribute)
            return self._handlers[name]

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        pool = self._pools.get(name)
        if pool is not None:
            return pool.invoke(event)
        _, _, timeout, memory = self._specs[name]
        handler = self.handler(name)
        with metering.invocation(name, memory):  # duration and AWS requests, for `make cost`
            return handler(event, LocalContext(name, timeout, memory))

    def __contains__(self, name: str) -> bool:
        return name in self._specs or name in self._pools


REGISTRY = FunctionRegistry()
_original_invoke = LambdaSimpleBackend.invoke


def _invoke(
    self: LambdaSimpleBackend,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    name = function_name_of(function_name)
    if name not in REGISTRY:
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)  # type: ignore[return-value]
    payload, function_error = invoke_for_payload(name, body)
    if function_error:
        response_headers["x-amz-function-error"] = function_error
    return payload


def function_name_of(name_or_arn: str) -> str:
    return name_or_arn.split(":function:")[-1].split(":")[0]


def invoke_for_payload(name: str, body: bytes | str | None) -> tuple[bytes, str | None]:
    """Run a registered function on a request payload as Lambda's Invoke does: (response payload, the
    X-Amz-Function-Error value or None). A function error is an error envelope, never a crash."""
    event = json.loads(body) if body else {}
    try:
        result = REGISTRY.invoke(name, event)
    except Exception as exc:
        error_type = exc.error_type if isinstance(exc, FunctionError) else type(exc).__name__
        return json.dumps({"errorType": error_type, "errorMessage": str(exc)}).encode(), "Unhandled"
    return json.dumps(result).encode(), None


def install() -> None:
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
    if metering.enabled():  # before any client is created, so that every request is attributed
        metering.install()
    from . import moto_atomic

    moto_atomic.install()  # concurrent requests need DynamoDB's per-item atomicity
    from . import s3_post_policy

    s3_post_policy.install()  # browser uploads are held to their signed policy, as on AWS


def uninstall() -> None:
    LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
    from . import moto_atomic

    moto_atomic.uninstall()
    from . import s3_post_policy

    s3_post_policy.uninstall()
