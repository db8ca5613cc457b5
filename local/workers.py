"""Worker processes per function: how the local stack invokes a function.

Every function the template declares gets a `WorkerPool`: up to `concurrency` processes
(local/lambda_worker.py), each importing the handler from the function's host-platform artifact, its
layers and the runtime's packages - never the source tree - with only that function's template
environment plus the variables Lambda's runtime sets. An invocation takes an idle worker (or starts
one; past `concurrency` it waits, like a reserved-concurrency limit that queues instead of throttling),
sends the event and waits at most the function's Timeout: a worker past it is killed and the
invocation fails with Lambda's timeout error (`Sandbox.Timedout`, "Task timed out after N seconds"),
which the state machine's Retry/Catch see like any Lambda error.

Each finished invocation is reported to the `listeners` (function, request id, handler duration in ms,
error type or None): the figures Lambda's REPORT line gives.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import metering

log = logging.getLogger("avatarsmith.local.workers")

WORKER_SCRIPT = Path(__file__).resolve().parent / "lambda_worker.py"
Listener = Callable[[str, str, float, "str | None"], None]


class FunctionError(Exception):
    """An invocation that ended in a Lambda function error (the handler raised, timed out or crashed)."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


class _Worker:
    def __init__(self, command: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        self.stdin.write(struct.pack(">I", len(data)) + data)
        self.stdin.flush()

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None if the deadline passed first; EOFError if the worker died."""
        header = self._read_exactly(4, deadline)
        if header is None:
            return None
        (length,) = struct.unpack(">I", header)
        body = self._read_exactly(length, deadline)
        return None if body is None else dict(json.loads(body))

    def _read_exactly(self, count: int, deadline: float) -> bytes | None:
        chunks, missing, fd = [], count, self.stdout.fileno()
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, missing)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # the handler's own children too
        self.process.wait()
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def exit_status(self) -> int | None:
        try:
            return self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return None


class WorkerPool:
    def __init__(
        self,
        name: str,
        *,
        handler: str,
        sys_path: list[str],
        environment: dict[str, str],
        timeout: int,
        concurrency: int,
        listeners: list[Listener] | None = None,
    ):
        self.name = name
        self.handler = handler
        self.timeout = timeout
        self.concurrency = concurrency
        self.command = [sys.executable, "-I", "-S", str(WORKER_SCRIPT), json.dumps(sys_path), handler]
        self.environment = environment
        self.listeners = listeners if listeners is not None else []
        self._slots = threading.BoundedSemaphore(concurrency)
        self.waiting = 0  # invocations queued for a free worker (the stack's backpressure signal)
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    # -- invocation ---------------------------------------------------------------------------------
    def invoke(self, event: Any) -> Any:
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self.waiting += 1
            try:
                self._slots.acquire()
            finally:
                with self._lock:
                    self.waiting -= 1
        try:
            worker = self._take()
            request_id = str(uuid.uuid4())
            try:
                reply = self._call(worker, event, request_id)
            except BaseException:
                self._discard(worker)
                raise
            self._give_back(worker)
        finally:
            self._slots.release()
        error = reply.get("error")
        duration = float(reply.get("duration_ms", 0.0))
        meter_file = self.environment.get(metering.METER_FILE_ENV)
        if meter_file and reply.get("meter") is not None:  # usage measured in the worker (`make cost`)
            metering.append(meter_file, reply["meter"])
        for listener in self.listeners:
            listener(self.name, request_id, duration, error["errorType"] if error else None)
        if error:
            raise FunctionError(str(error.get("errorType", "Error")), str(error.get("errorMessage", "")))
        return reply.get("result")

    def _call(self, worker: _Worker, event: Any, request_id: str) -> dict[str, Any]:
        try:
            worker.send({"event": event, "request_id": request_id, "timeout_ms": self.timeout * 1000})
            reply = worker.receive(time.monotonic() + self.timeout)
        except (EOFError, BrokenPipeError):
            status = worker.exit_status()
            raise FunctionError(
                "Runtime.ExitError",
                f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}",
            ) from None
        if reply is None:
            raise FunctionError(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {self.timeout:.2f} seconds",
            )
        return reply

    # -- instances ----------------------------------------------------------------------------------
    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise FunctionError("ResourceNotReadyException", f"{self.name} is shutting down")
            if self._idle:
                return self._idle.pop()
        worker = _Worker(self.command, self.environment)
        with self._lock:
            self._all.add(worker)
        try:  # the init phase: Lambda gives it 10 s
            ready = worker.receive(time.monotonic() + max(10, self.timeout))
        except EOFError:
            ready = {
                "error": {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited at init"}
            }
        if ready is None or not ready.get("ready"):
            self._discard(worker)
            error = (ready or {}).get("error") or {"errorType": "Sandbox.Timedout", "errorMessage": "init"}
            raise FunctionError(str(error["errorType"]), str(error["errorMessage"]))
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
            self._all.clear()
        for worker in workers:
            worker.kill()


def runtime_environment(
    name: str, *, handler: str, task_root: str, memory: int, timeout: int, region: str, endpoint_url: str
) -> dict[str, str]:
    """The variables the Lambda runtime sets for every function (the template's come on top)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "LAMBDA_TASK_ROOT": task_root,
        "_HANDLER": handler,
        # The execution role's credentials, here the emulator's; its endpoint for every AWS client.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL": endpoint_url,
        # No X-Ray daemon or CloudWatch metrics agent on this machine.
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_DISABLED": "1",
    }
