"""A function's instances in the local stack: the Lambda runtime's bootstrap, with SnapStart's model
(the init phase runs once; further execution environments start from the initialised one).

Started by local/workers.py as `python -I -S lambda_worker.py <sys.path JSON> <module.handler>`, with
only the function's environment and a control socket (Unix, SOCK_SEQPACKET) as stdin. -I -S leave the
standard library and nothing else on sys.path; this process puts the function's artifact, its layers and
the runtime's packages (boto3) there and imports the handler once: the init phase. It is then the
function's template: it never serves an invocation, it forks an instance on each request. Standard
library only.

Control socket, one JSON message per packet:
  <- {"ready": true} or {"error": {...}}: the init phase's outcome (after an error the template exits)
  -> {"spawn": true} with two descriptors (SCM_RIGHTS): the read end of the instance's request pipe and
     the write end of its reply pipe
  <- {"pid": int} (the instance) or {"error": {...}} (fork failed)
  -> {"kill": pid}: SIGKILL to the instance's process group, then the template reaps it
  <- {"pid": int, "status": int or null}: its exit status as subprocess gives it (3 after os._exit(3),
     -9 when killed here), null for a pid that is not a live instance of this template
The template reaps an instance only when asked to kill it, so an instance's pid (its process group id)
cannot be reused while the stack still holds it. At EOF on the control socket (the pool is closed, or the
stack died) the template kills and reaps every instance, then exits.

An instance is a fork of the template: it starts a session of its own (os.setsid, so killing its process
group also kills the handler's own children) and serves invocations one at a time on its pipes, each
message a 4-byte big-endian length + JSON:
  -> {"event": ..., "request_id": str, "timeout_ms": int}
  <- {"result": ...} or {"error": {"errorType", "errorMessage", "stackTrace"}}, with "duration_ms"
Its first message is {"ready": true}. It exits at EOF on its request pipe.
Whatever the handler or the template prints goes to stderr (the stack's console), never into a protocol.

Fork safety: the template is single-threaded and serves nothing, so no lock is held and no connection is
open when it forks. A handler module may build AWS clients at import (botocore connects on the first
request, in an instance), but one that starts threads or opens sockets at import would hand every
instance a copy of them (threads do not survive a fork). Python's `random` reseeds itself in a forked
child and uuid4 reads os.urandom, so instances do not share random sequences. The template freezes its
objects (gc.freeze) before forking so the instances' collections do not copy the pages they share.

With AVATARSMITH_METER_FILE in its environment (`make cost`), the template also loads local/metering.py
(standard library at import; botocore and requests from the sys.path above once installed) and every
instance adds each invocation's usage record, measured there around the handler call, to its reply as
"meter".
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
from typing import Any


class Context:
    """The Lambda context object (the parts handlers and Powertools read)."""

    def __init__(self, request_id: str, timeout_ms: int):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__)[-8:],
    }


def _read(stream: Any) -> Any:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack(">I", header)
    return json.loads(stream.read(length))


def _write(stream: Any, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def _load_meter() -> Any:
    """local/metering.py, next to this file (it is not part of any artifact), or None when metering is off."""
    if not os.environ.get("AVATARSMITH_METER_FILE"):
        return None
    spec = importlib.util.spec_from_file_location(
        "avatarsmith_local_metering", os.path.join(os.path.dirname(os.path.abspath(__file__)), "metering.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()  # before the handler's import creates its clients
    return module


def _load_bedrock_profile() -> None:
    """local/bedrock_profile.py when AVATARSMITH_BEDROCK_PROFILE is set (real Bedrock from a laptop)."""
    if not os.environ.get("AVATARSMITH_BEDROCK_PROFILE"):
        return
    spec = importlib.util.spec_from_file_location(
        "avatarsmith_local_bedrock_profile",
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "bedrock_profile.py"),
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()  # before the handler's import creates its clients


def _send(control: socket.socket, message: dict[str, Any]) -> None:
    control.sendall(json.dumps(message).encode())


def _kill(pid: int) -> None:
    """SIGKILL to the instance's process group and to the instance itself (before its setsid)."""
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _fork_instances(control: socket.socket) -> tuple[int, int] | None:
    """The template's loop. In a forked instance it returns the instance's (request, reply) descriptors;
    in the template it returns None once the control socket is closed and every instance is reaped."""
    instances: set[int] = set()
    while True:
        data, fds, _, _ = socket.recv_fds(control, 65536, 2)
        if not data:
            for pid in instances:
                _kill(pid)
            for pid in instances:
                os.waitpid(pid, 0)
            return None
        request = json.loads(data)
        if "kill" in request:
            pid, status = int(request["kill"]), None
            if pid in instances:
                instances.discard(pid)
                _kill(pid)
                status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            _send(control, {"pid": pid, "status": status})
            continue
        try:
            if len(fds) != 2:
                raise OSError(f"a spawn request carries 2 descriptors, not {len(fds)}")
            pid = os.fork()
        except OSError as exc:
            _send(control, {"error": _error(exc, "Runtime.ForkError")})
            pid = -1
        if pid == 0:  # the instance
            control.close()
            os.setsid()
            for fd in fds:
                os.set_inheritable(fd, False)
            return fds[0], fds[1]
        for fd in fds:
            os.close(fd)
        if pid > 0:
            instances.add(pid)
            _send(control, {"pid": pid})


def _serve(handler: Any, meter: Any, request_fd: int, reply_fd: int) -> int:
    """An instance: invocations one at a time until EOF on its request pipe."""
    protocol_in, protocol_out = os.fdopen(request_fd, "rb"), os.fdopen(reply_fd, "wb")
    _write(protocol_out, {"ready": True})
    while True:
        request = _read(protocol_in)
        if request is None:
            return 0
        started = time.perf_counter()
        context = Context(request["request_id"], request["timeout_ms"])
        metered = (
            meter.invocation(context.function_name, context.memory_limit_in_mb, write=False)
            if meter is not None
            else contextlib.nullcontext()
        )
        with metered as record:
            try:
                reply: dict[str, Any] = {"result": handler(request["event"], context)}
            except Exception as exc:  # an unhandled error: Lambda's error envelope
                reply = {"error": _error(exc)}
        reply["duration_ms"] = (time.perf_counter() - started) * 1000
        if record is not None:
            reply["meter"] = record
        try:
            _write(protocol_out, reply)
        except TypeError as exc:  # the result is not JSON: Lambda reports it the same way
            _write(protocol_out, {"error": _error(exc, "Runtime.MarshalError"), "duration_ms": 0})


def main(paths_json: str, handler_spec: str) -> int:
    # stdin is the control socket; fd 0 becomes /dev/null and fd 1 stderr, so prints reach no protocol.
    control = socket.socket(fileno=os.dup(0))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.path[:0] = json.loads(paths_json)
    module_name, _, attribute = handler_spec.rpartition(".")
    try:
        meter = _load_meter()
        _load_bedrock_profile()
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # the runtime's init error: no instance can start from this template
        error = _error(exc, "Runtime.ImportModuleError")
        error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        _send(control, {"error": error})
        return 1
    gc.freeze()
    _send(control, {"ready": True})
    pipes = _fork_instances(control)
    if pipes is None:  # the template, after its instances
        return 0
    return _serve(handler, meter, *pipes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
