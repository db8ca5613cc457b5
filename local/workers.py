"""Worker processes per function: how the local stack invokes a function.

Every function the template declares gets a `WorkerPool`, with Lambda SnapStart's model: the init phase
runs once per function and every execution environment starts from the initialised one. The pool's
template process (local/lambda_worker.py, started on the first invocation or by `prewarm`) imports the
handler from the function's host-platform artifact, its layers and the runtime's packages - never the
source tree - with only that function's template environment plus the variables Lambda's runtime sets,
and then never serves an invocation: each instance, up to `concurrency`, is a fork of it (asked for on a
control socket, with the instance's pipes passed as descriptors), so an instance costs a fork, not an
interpreter start and the handler's imports. If the init phase fails (`Runtime.ImportModuleError`), the
invocation fails and the next one starts a new template, which imports the handler again.

An invocation takes an idle instance (or forks one; past `concurrency` it waits, like a reserved-
concurrency limit that queues instead of throttling), sends the event and waits at most the function's
Timeout: an instance past it is killed with its process group (the handler's own children) and the
invocation fails with Lambda's timeout error (`Sandbox.Timedout`, "Task timed out after N seconds"),
which the state machine's Retry/Catch see like any Lambda error. An instance that dies mid-invocation
fails it with `Runtime.ExitError` and its exit status, which the template (its parent) reports when it
reaps it; the next invocation gets a new fork. `close()` kills every instance and the template.

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
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from . import metering

log = logging.getLogger("avatarsmith.local.workers")

WORKER_SCRIPT = Path(__file__).resolve().parent / "lambda_worker.py"
Listener = Callable[[str, str, float, "str | None"], None]


class FunctionError(Exception):
    """An invocation that ended in a Lambda function error (the handler raised, timed out or crashed)."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


class _TemplateGone(Exception):
    """The template process exited or stopped answering; the pool starts a new one."""


class _Template:
    """A function's initialised process (the init phase ran there once); every instance is a fork of it.

    Requests go one at a time over the control socket (see local/lambda_worker.py for the messages)."""

    def __init__(self, command: list[str], env: dict[str, str], init_seconds: float):
        self._control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            try:
                self.process = subprocess.Popen(
                    command, stdin=theirs.fileno(), env=env, start_new_session=True
                )
            except BaseException:
                self._control.close()
                raise
        self._lock = threading.Lock()
        self.broken = False
        try:
            ready = self._receive(time.monotonic() + init_seconds)
        except _TemplateGone:
            ready = {
                "error": {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited at init"}
            }
        if ready is None or not ready.get("ready"):
            self.close()
            error = (ready or {}).get("error") or {"errorType": "Sandbox.Timedout", "errorMessage": "init"}
            raise FunctionError(str(error["errorType"]), str(error["errorMessage"]))

    def spawn(self) -> tuple[int, BinaryIO, BinaryIO]:
        """A new instance: its pid, and the pool's ends of its request and reply pipes."""
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            reply = self._request({"spawn": True}, [request_read, reply_write])
        except BaseException:
            os.close(request_write)
            os.close(reply_read)
            raise
        finally:  # the instance has its own copies (or there is no instance)
            os.close(request_read)
            os.close(reply_write)
        if "pid" not in reply:
            os.close(request_write)
            os.close(reply_read)
            error = reply.get("error") or {}
            error_type = str(error.get("errorType", "Runtime.ForkError"))
            raise FunctionError(error_type, str(error.get("errorMessage")))
        return int(reply["pid"]), os.fdopen(request_write, "wb"), os.fdopen(reply_read, "rb")

    def kill(self, pid: int) -> int | None:
        """Kill the instance's process group and have the template reap it: the instance's exit status
        (its own if it had already exited, -9 if this killed it), None if the template is gone."""
        try:
            reply = self._request({"kill": pid})
        except _TemplateGone:
            if self.process.poll() != 0:  # killed, not closed: its instances are orphans to kill here
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            return None  # (a template that exited after close() killed and reaped them all)
        status = reply.get("status")
        return None if status is None else int(status)

    def close(self) -> None:
        """EOF on the control socket: the template kills and reaps its instances, then exits."""
        with self._lock:
            self.broken = True
            self._control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def _request(self, message: dict[str, Any], fds: list[int] | None = None) -> dict[str, Any]:
        with self._lock:
            if self.broken:
                raise _TemplateGone
            try:
                socket.send_fds(self._control, [json.dumps(message).encode()], fds or [])
                reply = self._receive(time.monotonic() + 10)
            except (OSError, _TemplateGone):
                self.broken = True
                raise _TemplateGone from None
            if reply is None:  # a late answer would be taken for the next request's
                self.broken = True
                raise _TemplateGone
            return reply

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self._control], [], [], remaining)[0]:
            return None
        data = self._control.recv(65536)
        if not data:
            raise _TemplateGone
        return dict(json.loads(data))


class _Worker:
    """One instance (a fork of the template), seen from the pool."""

    def __init__(self, template: _Template):
        self.template = template
        self.pid, self.stdin, self.stdout = template.spawn()
        self._status: int | None = None
        self._killed = False
        self._kill_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        self.stdin.write(struct.pack(">I", len(data)) + data)
        self.stdin.flush()

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None if the deadline passed first; EOFError if the instance died."""
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
        """Kill it with its process group (the handler's own children too); once it returns, it is gone."""
        with self._kill_lock:
            if self._killed:
                return
            self._killed = True
            self._status = self.template.kill(self.pid)

    def close_pipes(self) -> None:
        """Only by the thread that uses the instance (or for an idle one): another thread may be reading."""
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def exit_status(self) -> int | None:
        """After EOF on its pipes: the status it exited with (the template reaps it)."""
        self.kill()
        return self._status


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
        self._template: _Template | None = None
        self._template_lock = threading.Lock()  # one template start, one fork at a time
        self._closed = False

    @property
    def template_pid(self) -> int | None:
        """The pid of the process every instance is forked from (None before the first start)."""
        template = self._template
        return None if template is None else template.process.pid

    def prewarm(self, instances: int = 0) -> None:
        """Run the init phase now (start the template) and fork up to `instances` idle instances, within
        `concurrency` and the slots free at the time. Blocks for the init; FunctionError if it fails."""
        with self._template_lock:
            self._running_template()
        for _ in range(instances):
            with self._lock:
                if len(self._all) >= self.concurrency:
                    return
            if not self._slots.acquire(blocking=False):
                return
            try:
                self._give_back(self._start_instance())
            finally:
                self._slots.release()

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
        return self._start_instance()

    def _start_instance(self) -> _Worker:
        worker = self._fork()
        try:
            ready = worker.receive(time.monotonic() + 10)
        except EOFError:
            ready = None
        if ready is None or not ready.get("ready"):
            self._discard(worker)
            raise FunctionError("Runtime.ExitError", f"{self.name}: a forked instance did not start")
        return worker

    def _fork(self) -> _Worker:
        with self._template_lock:
            for attempt in (1, 2):  # a template that went away is replaced once
                template = self._running_template()
                try:
                    worker = _Worker(template)
                except _TemplateGone:
                    self._retire(template)
                    if attempt == 2:
                        message = f"{self.name}: the template exited"
                        raise FunctionError("Runtime.ExitError", message) from None
                    continue
                with self._lock:
                    self._all.add(worker)
                return worker
        raise AssertionError("unreachable")

    def _running_template(self) -> _Template:
        """The template, started if there is none (the init phase: Lambda gives it 10 s).
        The caller holds _template_lock."""
        if self._closed:
            raise FunctionError("ResourceNotReadyException", f"{self.name} is shutting down")
        if self._template is None or self._template.broken:
            if self._template is not None:
                self._retire(self._template)
            self._template = _Template(self.command, self.environment, max(10, self.timeout))
        return self._template

    def _retire(self, template: _Template) -> None:
        """Close a template that stopped answering, and forget its idle instances (gone with it, or
        orphans if it was killed); a busy one ends its invocation with Runtime.ExitError.
        The caller holds _template_lock."""
        self._template = None
        template.close()
        with self._lock:
            stale = [worker for worker in self._idle if worker.template is template]
            self._idle = [worker for worker in self._idle if worker.template is not template]
            self._all.difference_update(stale)
        for worker in stale:
            worker.kill()
            worker.close_pipes()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                return
        self._discard(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        worker.close_pipes()
        with self._lock:
            self._all.discard(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        with self._template_lock:  # no fork is under way past this point
            with self._lock:
                workers, idle = list(self._all), set(self._idle)
                self._idle.clear()
                self._all.clear()
            for worker in workers:
                worker.kill()  # a busy one's invocation sees EOF and closes its pipes
                if worker in idle:
                    worker.close_pipes()
            if self._template is not None:
                self._template.close()
                self._template = None


def runtime_environment(
    name: str,
    *,
    handler: str,
    task_root: str,
    memory: int,
    timeout: int,
    region: str,
    endpoint_url: str,
    credentials: dict[str, str],
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
        # The execution role's credentials, here the stack's emulator credentials (AWS_ACCESS_KEY_ID,
        # AWS_SECRET_ACCESS_KEY: every call to the emulator is signed with them); its endpoint for
        # every AWS client.
        **credentials,
        "AWS_ENDPOINT_URL": endpoint_url,
        # No X-Ray daemon or CloudWatch metrics agent on this machine.
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_DISABLED": "1",
    }
