"""A loopback HTTP server that turns requests into API Gateway HTTP API (payload v2.0) events and
calls the api function in-process. Only the routes template.yaml declares are served, as in AWS."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import waiting
from .front_door import FrontDoorServer
from .lambda_adapter import REGISTRY

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "+json")


class _BodyError(Exception):
    """The request's framing is unusable: answered in the error envelope, then the connection closes."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "request_id": "local"}}


def _too_large() -> _BodyError:
    return _BodyError(413, "payload_too_large", "the request body is larger than 10 MB")


def _read_body(request: BaseHTTPRequestHandler, headers: dict[str, str]) -> bytes:
    """The request body, framed by Content-Length or chunked transfer coding (as API Gateway accepts).

    A chunked body reaches the function like any other: `content-length` set, no `transfer-encoding`.
    """
    coding = headers.pop("transfer-encoding", "").lower()
    if coding:
        codings = [c.strip() for c in coding.split(",") if c.strip()]
        if codings != ["chunked"]:
            raise _BodyError(
                400, "invalid_request", "unsupported Transfer-Encoding; send the body plain or chunked"
            )
        body = _read_chunked(request)
        headers["content-length"] = str(len(body))
        return body
    raw = headers.get("content-length")
    if raw is None:
        return b""
    values = {v.strip() for v in raw.split(",")}  # repeated headers were joined with commas
    if len(values) != 1 or not re.fullmatch(r"[0-9]{1,19}", next(iter(values))):
        raise _BodyError(400, "invalid_request", "Content-Length must be one non-negative integer")
    length = int(next(iter(values)))
    if length > MAX_BODY_BYTES:
        raise _too_large()
    headers["content-length"] = str(length)
    body = request.rfile.read(length) if length else b""
    if len(body) != length:
        raise _BodyError(400, "invalid_request", "the request body is shorter than its Content-Length")
    return body


def _read_chunked(request: BaseHTTPRequestHandler) -> bytes:
    body = bytearray()
    while True:
        line = request.rfile.readline(1024)
        size_text = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
        if not line.endswith(b"\n") or not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_text):
            raise _BodyError(400, "invalid_request", "malformed chunked request body")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise _too_large()
        chunk = request.rfile.read(size)
        if len(chunk) != size or request.rfile.readline(3) not in (b"\r\n", b"\n"):
            raise _BodyError(400, "invalid_request", "malformed chunked request body")
        body += chunk
    while True:  # trailer fields, up to the empty line
        line = request.rfile.readline(8192)
        if line in (b"\r\n", b"\n", b""):
            return bytes(body)


class Route:
    def __init__(self, method: str, path: str):
        self.method = method
        self.path = path
        self.pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.match(path)
        return found.groupdict() if found else None


def build_event(
    method: str,
    raw_path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    route: Route,
    path_params: dict[str, str],
    source_ip: str,
) -> dict[str, Any]:
    content_type = headers.get("content-type", "")
    is_text = not body or any(t in content_type for t in _TEXT_TYPES)
    if is_text and body:  # bytes that are not UTF-8 reach the function as they are (it refuses them)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            is_text = False
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{route.method} {route.path}",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{route.method} {route.path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if params:
        event["queryStringParameters"] = params
    if path_params:
        event["pathParameters"] = path_params
    if body:
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
    return event


# Lambda refuses a synchronous invocation whose event (body base64- or JSON-escaped, plus headers) is
# over 6 MB, so the api function never sees such a request on AWS either.
MAX_INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024
_TOO_LARGE_FOR_LAMBDA = {
    "error": {
        "code": "payload_too_large",
        "request_id": "local",
        "message": "the request is larger than the 6 MB a function invocation can carry; "
        "send reference photos over 4 MB with POST /v1/uploads and pass the upload ids",
    }
}


class ApiServer:
    def __init__(
        self,
        *,
        function_name: str,
        routes: list[tuple[str, str]],
        host: str = "127.0.0.1",
        port: int = 3000,
        waits: waiting.FrontDoorWaits | None = None,
    ):
        self.function_name = function_name
        self.waits = waits  # long-polls wait here, not in a function worker (local/waiting.py)
        self.routes = [Route(m, p) for m, p in routes]
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                server.handle(self)

            def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
                """What http.server refuses itself (request line or headers too long, bad request line)
                is answered in the error envelope too."""
                codes = {414: "uri_too_long", 431: "headers_too_large", 501: "not_implemented"}
                body = _error(codes.get(code, "invalid_request"), message or "the request cannot be read")
                ApiServer._send(
                    self,
                    code,
                    {"Content-Type": "application/json", "Connection": "close"},
                    json.dumps(body).encode(),
                )
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

            def __getattr__(self, name: str) -> Any:
                # Any other method (TRACE, QUERY, ...) is routed too: no route -> the API's 404 envelope,
                # as API Gateway answers, instead of the stdlib's 501 page.
                if name.startswith("do_"):
                    return self._serve
                raise AttributeError(name)

        # One loop reads every connection until its request is whole (slow clients get 408), a bounded
        # pool runs the handler: local/front_door.py.
        self.httpd = FrontDoorServer((host, port), Handler, max_body_bytes=MAX_BODY_BYTES)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="api-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            k = key.lower()
            headers[k] = f"{headers[k]},{value}" if k in headers else value
        try:
            body = _read_body(request, headers)
        except _BodyError as exc:
            self._reply(request, exc.status, _error(exc.code, exc.message))
            request.close_connection = True  # the rest of the stream cannot be trusted
            return
        method = request.command.upper()
        for route in self.routes:
            params = route.match(method, parts.path)
            if params is not None:
                break
        else:
            self._reply(request, 404, _error("not_found", f"no route for {method} {parts.path}"))
            return
        waiting.strip_internal(headers)
        event = build_event(
            method, parts.path, parts.query, headers, body, route, params, request.client_address[0]
        )
        if len(json.dumps(event)) > MAX_INVOKE_PAYLOAD_BYTES:
            self._reply(request, 413, _TOO_LARGE_FOR_LAMBDA)
            return
        try:
            result = REGISTRY.invoke(self.function_name, event)
            if self.waits is not None:
                result = self.waits.follow(event, result, self._invoke)
        except Exception:
            self._reply(request, 502, {"message": "Internal Server Error"})
            return
        payload = result.get("body") or ""
        raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        self._send(request, int(result.get("statusCode", 200)), result.get("headers") or {}, raw)

    def _invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return REGISTRY.invoke(self.function_name, event)

    def _reply(self, request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        self._send(request, status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], raw: bytes) -> None:
        request.send_response(status)
        for key, value in headers.items():
            request.send_header(key, str(value))
        request.send_header("Content-Length", str(len(raw)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(raw)
