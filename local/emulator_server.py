"""The emulator's HTTP server: moto's WSGI app, with connections kept alive between requests.

moto's own server (werkzeug's development server) answers every request with `Connection: close`, so
each AWS call a function makes opens a new TCP connection and the server starts a new thread for it:
under load that was a fifth of the emulator's time, on top of a TIME_WAIT socket per request. HTTP/1.1
clients (botocore among them) keep a connection open; this handler does too whenever it can find the end
of the request: a body with a Content-Length is read to its end after the app answers (werkzeug's
reason for always closing is that the app may leave part of it unread), and a request with a chunked
body, or one that asked for it, still closes. Every answer is sent whole, framed by its Content-Length,
in one write (headers and body together, with TCP_NODELAY: two small writes would wait on delayed ACKs).

JSON-protocol calls (an `X-Amz-Target` header, POST /: DynamoDB, SQS, Step Functions, EventBridge) go
straight to the moto handler's `dispatch`, the call moto's Flask view makes, without the Flask request
context, routing and hooks around it (`DirectDispatch`): a tenth of the emulator's time under load.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from flask import Response
from moto.core.request import normalize_request
from moto.core.utils import convert_to_flask_response
from moto.moto_api import recorder
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wsgi import LimitedStream

from .emulator_auth import AuthGate, EmulatorCredentials


class KeepAliveRequestHandler(MotoRequestHandler):
    _body: LimitedStream | None = None
    _keep_alive = False

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:  # type: ignore[attr-defined]
            self.server.connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        with self.server.connections_lock:  # type: ignore[attr-defined]
            self.server.connections.discard(self.connection)  # type: ignore[attr-defined]
        super().finish()

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        length = self.headers.get("Content-Length")
        self._body = None
        if environ.get("wsgi.input_terminated"):  # chunked: its end is the app's business
            self._keep_alive = False
        elif length is None:
            self._keep_alive = True
        elif length.isdigit():
            self._body = LimitedStream(self.rfile, int(length))  # type: ignore[arg-type]
            environ["wsgi.input"] = self._body
            self._keep_alive = True
        else:
            self._keep_alive = False
        return environ

    def run_wsgi(self) -> None:
        """One request: the app's whole answer, framed by Content-Length, then the connection stays
        open when the request's end was found (werkzeug's own loop closes it every time, and its drain
        of the socket would swallow the next request)."""
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda data: chunks.append(data)  # the legacy write() callable

        chunks: list[bytes] = []
        try:
            answer = self.server.app(environ, start_response)
            try:
                chunks.extend(answer)
            finally:
                if hasattr(answer, "close"):
                    answer.close()
            if self._body is not None:
                self._body.exhaust()  # what the app left unread, so the next request line is found
        except Exception:
            self.log_error("the emulator failed a request: %s", self.requestline)
            self.close_connection = True
            self.send_error(500)
            return
        status, headers = started
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        body = b"".join(chunks)
        self.send_response(code, reason)
        framed_by_app = self.command == "HEAD" or code < 200 or code in (204, 304)
        for name, value in headers:
            lowered = name.lower()
            if lowered in ("connection", "transfer-encoding") or (
                lowered == "content-length" and not framed_by_app
            ):
                continue
            self.send_header(name, value)
        if not framed_by_app:
            self.send_header("Content-Length", str(len(body)))
        if not self._keep_alive or self.close_connection:  # ours, or the client's `Connection: close`
            self.send_header("Connection", "close")  # also sets close_connection
        self._headers_buffer.append(b"\r\n")  # end of the headers; the body goes out in the same write
        if body and self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()


class DirectDispatch:
    """moto's WSGI app, with JSON-protocol calls answered by their handler without Flask around it.

    A call qualifies when it is a signed POST to / with an X-Amz-Target header and no Origin (a browser's
    CORS requests keep Flask's CORS hooks). Its service's Flask app is found as moto finds it; the view
    the app's URL map routes / to is moto's `convert_to_flask_response` around the handler's dispatch,
    called here as that view calls it: the app's request class, the raw URL and the headers, a ClientError
    answered 400 with its message, and the (status, headers, body) answer sent as the same Response.
    Anything else, and any view that is not such a wrapper, goes through moto's app unchanged."""

    def __init__(self, dispatcher: DomainDispatcherApplication):
        self.dispatcher = dispatcher
        self._callbacks: dict[int, Any] = {}  # id(Flask app): the dispatch behind its / route, or None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        app: Any
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") != "/"
            or not environ.get("HTTP_X_AMZ_TARGET")
            or "HTTP_ORIGIN" in environ
        ):
            return self.dispatcher(environ, start_response)
        app = self.dispatcher.get_application(environ)
        callback = self._callback_of(app, environ)
        if callback is None:
            return app(environ, start_response)
        request = normalize_request(app.request_class(environ))  # moto's Request (BackendRequest)
        recorder._record_request(request)
        try:
            result = callback(request, request.raw_url, dict(request.headers))
        except ClientError as exc:
            result = 400, {}, exc.response["Error"]["Message"]
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        return Response(response=content, status=status, headers=headers)(environ, start_response)

    def _callback_of(self, app: Any, environ: dict[str, Any]) -> Any:
        key = id(app)
        if key not in self._callbacks:
            callback = None
            try:
                endpoint, arguments = app.url_map.bind_to_environ(environ).match()
            except Exception:  # no route for / (moto's app answers that itself)
                endpoint, arguments = None, {"?": None}
            view = app.view_functions.get(endpoint)
            if isinstance(view, convert_to_flask_response) and not arguments:
                callback = view.callback
            self._callbacks[key] = callback
        return self._callbacks[key]


class EmulatorServer(ThreadedMotoServer):
    """ThreadedMotoServer with keep-alive connections; `wrap` puts middleware around moto's app, and
    with `credentials` every request must be signed with them (local/emulator_auth.py)."""

    def __init__(
        self,
        ip_address: str,
        port: int,
        *,
        wrap: Callable[[Any], Any] | None = None,
        credentials: EmulatorCredentials | None = None,
    ):
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self._wrap = wrap
        self.credentials = credentials
        self.gate: AuthGate | None = None

    def _server_entry(self) -> None:
        app: Any = DirectDispatch(DomainDispatcherApplication(create_backend_app))
        if self._wrap is not None:
            app = self._wrap(app)
        if self.credentials is not None:
            app = self.gate = AuthGate(app, self.credentials)
        server = make_server(self._ip_address, self._port, app, True, request_handler=KeepAliveRequestHandler)
        server.connections = set()  # type: ignore[attr-defined]  # being served; shut down at stop()
        server.connections_lock = threading.Lock()  # type: ignore[attr-defined]
        self._server = server
        self._server_ready_event.set()
        server.serve_forever()

    def stop(self) -> None:
        super().stop()
        server: Any = self._server
        if server is None:
            return
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:  # idle keep-alive connections would otherwise wait for their client
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
