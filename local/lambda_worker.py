"""One function instance of the local stack: the counterpart of the Lambda runtime's bootstrap.

Started by local/workers.py as `python -I -S lambda_worker.py <sys.path JSON> <module.handler>`, with
only the function's environment. -I -S leave the standard library and nothing else on sys.path; the
worker then puts the function's artifact, its layers and the runtime's packages (boto3) there, imports
the handler once (the init phase) and serves invocations one at a time. Standard library only.

Protocol on the pipes (each message: 4-byte big-endian length + JSON):
  -> {"event": ..., "request_id": str, "timeout_ms": int}
  <- {"result": ...} or {"error": {"errorType", "errorMessage", "stackTrace"}}, with "duration_ms"
The first message the worker writes answers the init phase: {"ready": true} or {"error": ...}.
Whatever the handler prints goes to stderr (the stack's console), never into the protocol.
"""

from __future__ import annotations

import importlib
import json
import os
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


def main(paths_json: str, handler_spec: str) -> int:
    # The protocol keeps the original stdout; fd 1 becomes stderr so prints cannot corrupt it.
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    protocol_in = sys.stdin.buffer
    sys.path[:0] = json.loads(paths_json)
    module_name, _, attribute = handler_spec.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # the runtime's init error: every invocation of this instance fails
        error = _error(exc, "Runtime.ImportModuleError")
        error["errorMessage"] = f"Unable to import module '{module_name}': {exc}"
        _write(protocol_out, {"error": error})
        return 1
    _write(protocol_out, {"ready": True})
    while True:
        request = _read(protocol_in)
        if request is None:
            return 0
        started = time.perf_counter()
        try:
            reply: dict[str, Any] = {
                "result": handler(request["event"], Context(request["request_id"], request["timeout_ms"]))
            }
        except Exception as exc:  # an unhandled error: Lambda's error envelope
            reply = {"error": _error(exc)}
        reply["duration_ms"] = (time.perf_counter() - started) * 1000
        try:
            _write(protocol_out, reply)
        except TypeError as exc:  # the result is not JSON: Lambda reports it the same way
            _write(protocol_out, {"error": _error(exc, "Runtime.MarshalError"), "duration_ms": 0})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
