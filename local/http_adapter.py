"""A loopback HTTP server that turns requests into API Gateway HTTP API (payload v2.0) events and
calls the api function in-process. Only the routes template.yaml declares are served, as in AWS."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .lambda_adapter import REGISTRY

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "+json")


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


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default listen backlog (5) resets bursts of concurrent clients
    daemon_threads = True


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
        event["body"] = body.decode("utf-8", errors="replace") if is_text else base64.b64encode(body).decode()
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
        self, *, function_name: str, routes: list[tuple[str, str]], host: str = "127.0.0.1", port: int = 3000
    ):
        self.function_name = function_name
        self.routes = [Route(m, p) for m, p in routes]
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                server.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _serve

        self.httpd = _Server((host, port), Handler)
        self.httpd.daemon_threads = True
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
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._reply(
                request,
                413,
                {
                    "error": {
                        "code": "payload_too_large",
                        "request_id": "local",
                        "message": "the request body is larger than 10 MB",
                    }
                },
            )
            request.close_connection = True
            return
        body = request.rfile.read(length) if length else b""
        method = request.command.upper()
        for route in self.routes:
            params = route.match(method, parts.path)
            if params is not None:
                break
        else:
            self._reply(
                request,
                404,
                {
                    "error": {
                        "code": "not_found",
                        "request_id": "local",
                        "message": f"no route for {method} {parts.path}",
                    }
                },
            )
            return
        event = build_event(
            method, parts.path, parts.query, headers, body, route, params, request.client_address[0]
        )
        if len(json.dumps(event)) > MAX_INVOKE_PAYLOAD_BYTES:
            self._reply(request, 413, _TOO_LARGE_FOR_LAMBDA)
            return
        try:
            result = REGISTRY.invoke(self.function_name, event)
        except Exception:
            self._reply(request, 502, {"message": "Internal Server Error"})
            return
        payload = result.get("body") or ""
        raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        self._send(request, int(result.get("statusCode", 200)), result.get("headers") or {}, raw)

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
