"""What every route module shares: the per-request resolver state, the caller, bodies, queries, replies.

Routes read the request through these helpers and raise `avatarsmith.errors` types; app.py maps every
error to the envelope `{"error": {"code", "message", "param"?, "details"?, "request_id"}}` once.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, ResponseBuilder
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from pydantic import BaseModel, ValidationError

from avatarsmith.config import get_api_settings
from avatarsmith.errors import (
    AvatarsmithError,
    InvalidRequestError,
    UnsupportedMediaTypeError,
)
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic import thumbnails
from avatarsmith.logic import waiting as waiting_logic
from avatarsmith.logic.auth import Principal, authenticate_principal
from avatarsmith.logic.services import Services

from . import bodies

M = TypeVar("M", bound=BaseModel)

_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)", re.IGNORECASE)
_RESPONSE_MARGIN_SECONDS = 1.5


#: (METHOD, path as declared, e.g. "/v1/jobs/<job_id>") of the routes whose typed body may also arrive
#: as a form (urlencoded or multipart).
FORM_BODY_ROUTES: set[tuple[str, str]] = set()


def accept_form_bodies(method: str, path: str) -> None:
    """Let one route's typed body arrive as application/x-www-form-urlencoded or multipart/form-data
    (parsed by Powertools); every other route answers such bodies 415."""
    FORM_BODY_ROUTES.add((method.upper(), path))


class JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, reading bodies as JSON only (`application/json`, `*+json`, or no
    Content-Type): any other media type is a 415 before the body is parsed or validated, unless the route
    accepts forms (`accept_form_bodies`)."""

    def _get_body(self, app: Any) -> Any:
        content_type = str(app.current_event.headers.get("content-type", "")).strip().lower()
        media_type = content_type.split(";")[0].strip()
        route = app.context.get("_route")
        if not media_type or media_type == "application/json" or media_type.endswith("+json"):
            return self._parse_json_data(app)
        if route is not None and (route.method, route.path) in FORM_BODY_ROUTES:
            return super()._get_body(app)
        raise RequestUnsupportedContentType(
            "Unsupported content type",
            errors=[{"type": "unsupported_content_type", "loc": ("body",), "msg": media_type, "input": {}}],
        )


class PerRequestResolver(APIGatewayHttpResolver):
    """Powertools keeps the current event on the router class. A Lambda container serves one request at a
    time, but the local stack and the concurrency tests run this handler on many threads at once (like
    many containers), so the per-request state lives in a thread-local here. Routers included in the
    resolver read it through the resolver."""

    _state = threading.local()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self, "_request_validation_middleware"):
            self._request_validation_middleware = JsonBodyValidation()

    @property
    def current_event(self) -> Any:
        return self._state.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._state.event = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._state, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._state.lambda_context = value

    @property
    def context(self) -> dict:
        if not hasattr(self._state, "context"):
            self._state.context = {}
        return self._state.context

    @context.setter
    def context(self, value: dict) -> None:
        self._state.context = value

    _request_rewriters: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = ()

    def rewrite_requests(self, rewriters: list[Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
        """Functions that turn a raw event into the one to route, before routing and validation (an
        `app.use` middleware runs after Powertools' request validation). One may raise AvatarsmithError:
        the caller gets the error envelope."""
        self._request_rewriters = (*self._request_rewriters, *rewriters)

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        self._state.resolver = self
        thumbnails.public_base_url.set(public_base_url(event))
        self._state.event = self._to_proxy_event(event)
        self._state.lambda_context = context
        self._state.rate_headers = {}
        try:
            for rewrite in self._request_rewriters:
                event = rewrite(event)
        except AvatarsmithError as exc:
            reply = error_response(exc.status_code, exc.code, exc.message, param=exc.param)
            return ResponseBuilder(response=reply).build(self._state.event)
        self._state.event = self._to_proxy_event(event)
        result = super().resolve(event, context)
        if self._state.rate_headers:  # every answer to an authenticated caller, not only 429
            result["headers"] = {**self._state.rate_headers, **(result.get("headers") or {})}
        return result


def public_base_url(event: Any) -> str | None:
    """The address the caller reached this API at (`https://<host>`; `http` on loopback without a proxy),
    for links back to it such as thumbnail links."""
    if not isinstance(event, dict):
        return None
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    host = str(headers.get("host") or (event.get("requestContext") or {}).get("domainName") or "")
    if not host or "/" in host or "@" in host:
        return None
    loopback = host.rsplit(":", 1)[0].strip("[]") in ("127.0.0.1", "localhost", "::1")
    proto = str(headers.get("x-forwarded-proto") or ("http" if loopback else "https")).split(",")[0].strip()
    return f"{'http' if proto == 'http' else 'https'}://{host}"


def current_event() -> Any:
    """The request being served on this thread (set by `PerRequestResolver.resolve`)."""
    state = PerRequestResolver._state
    return state.event if hasattr(state, "event") else BaseRouter.current_event


def current_resolver() -> PerRequestResolver:
    """The resolver serving this thread's request (the OpenAPI routes describe every route it holds)."""
    return PerRequestResolver._state.resolver


def lambda_context() -> Any:
    return getattr(PerRequestResolver._state, "lambda_context", None)


@lru_cache(maxsize=1)
def get_services() -> Services:
    settings = get_api_settings()
    return Services.build(
        table_name=settings.TABLE_NAME,
        bucket_name=settings.IMAGES_BUCKET_NAME,
        queue_url=settings.GENERATION_QUEUE_URL,
        include_test_models=settings.AVATARSMITH_ENABLE_TEST_BACKENDS,
        allow_loopback_urls=settings.AVATARSMITH_ALLOW_LOOPBACK_URLS,
        presigned_url_ttl=settings.PRESIGNED_URL_TTL_SECONDS,
        webhook_queue_url=settings.WEBHOOK_QUEUE_URL,
        event_bus_name=settings.EVENT_BUS_NAME,
    )


# --- replies ------------------------------------------------------------------------------------------
def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=headers or {},
    )


def request_id() -> str:
    try:
        return str(current_event().request_context.request_id)
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": request_id()}
    if param:
        error["param"] = param
    if details:
        error["details"] = details
    return json_response(status, {"error": error}, headers)


def replayable(result: billing_logic.ApiResult) -> Response[str]:
    headers = dict(result.headers)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        status_code=result.status_code, content_type="application/json", body=result.body, headers=headers
    )


def run_replayable(
    services: Any,
    tenant_id: str,
    key: str | None,
    *,
    route: str,
    body: Any,
    action: Callable[[], billing_logic.ApiResult],
) -> Response[str]:
    """`action` once per Idempotency-Key (`key`, already checked): a retry with the same route and body
    gets the stored answer, marked `Idempotent-Replayed`; a different one under the same key is refused."""
    return replayable(
        billing_logic.run_idempotent(
            services,
            tenant_id,
            idempotency_key=key,
            fingerprint=billing_logic.request_fingerprint(route, body),
            action=action,
            wait_seconds=idempotency_wait(),
        )
    )


# --- the caller -----------------------------------------------------------------------------------------
def principal() -> Principal:
    """The caller, counted against its per-container request rate (429 rate_limited when over)."""
    from avatarsmith.logic.ratelimit import count_request

    caller = authenticate_principal(
        get_services(),
        dict(current_event().headers or {}),
        cache_seconds=get_api_settings().API_KEY_CACHE_SECONDS,
    )
    if not _asked_again() or not get_api_settings().WAIT_IN_FRONT_DOOR:
        PerRequestResolver._state.rate_headers = count_request(caller.tenant_id, caller.requests_per_minute)
    return caller


def _asked_again() -> bool:
    """The front door asking again for a request it holds (counted once, when the client sent it)."""
    return waiting_logic.WAIT_LEFT_HEADER in (current_event().headers or {})


def tenant() -> str:
    return principal().tenant_id


# --- bodies and queries ---------------------------------------------------------------------------------
def json_body() -> dict[str, Any]:
    """The request body as a JSON object; 415 for another media type, 400 for anything not a JSON object
    (empty, malformed, or nested deeper than the parser's recursion limit)."""
    content_type = (current_event().headers or {}).get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError("send the request body as JSON with Content-Type: application/json")
    raw = current_event().decoded_body
    if not raw:
        raise InvalidRequestError("the request body is empty; send a JSON object")
    try:
        body = bodies.loads(raw)
    except RecursionError as exc:
        raise InvalidRequestError("the request body is nested too deeply") from exc
    except ValueError as exc:
        raise InvalidRequestError("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    return body


def optional_json_body() -> dict[str, Any]:
    """An optional JSON object body: none (or only whitespace) reads as `{}`."""
    raw = current_event().decoded_body
    return json_body() if raw and raw.strip() else {}


def parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from exc
    except RecursionError as exc:
        raise InvalidRequestError("the request body is nested too deeply") from exc


def validation_error(exc: ValidationError) -> AvatarsmithError:
    details = [
        {"loc": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    return bodies.refusal(details, current_routes())


def current_routes() -> set[tuple[str, str]]:
    """(METHOD, path) of this thread's request, as routed (`routeKey`) and as sent."""
    event = current_event()
    route_key = str(event.get("routeKey") or "") if hasattr(event, "get") else ""
    sent = {(str(event.http_method).upper(), str(event.path))} if hasattr(event, "http_method") else set()
    method, _, path = route_key.partition(" ")
    return sent | ({(method.upper(), path)} if path else set())


def query(name: str) -> str | None:
    value = current_event().get_query_string_value(name)
    return None if value is None else str(value)


def int_query(name: str, default: int, *, low: int, high: int) -> int:
    raw = query(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d{1,9}", raw.strip()) or not low <= int(raw) <= high:
        raise InvalidRequestError(f"{name} must be an integer from {low} to {high}", param=name)
    return int(raw)


def header(name: str) -> str | None:
    value = (current_event().headers or {}).get(name.lower())
    return None if value is None else str(value)


def requested_wait() -> tuple[float | None, str | None]:
    """Seconds to long-poll from `wait_for_completion`/`timeout_seconds` or `Prefer: wait=N`."""
    if (query("wait_for_completion") or "").lower() in ("true", "1", "yes"):
        return float(int_query("timeout_seconds", 30, low=0, high=job_logic.MAX_WAIT_SECONDS)), None
    if query("timeout_seconds") is not None:
        int_query("timeout_seconds", 30, low=0, high=job_logic.MAX_WAIT_SECONDS)
    match = _PREFER_WAIT.search(header("prefer") or "")
    if match:
        digits = match.group(1)  # any number of digits: more than a few means "as long as allowed"
        seconds = (
            job_logic.MAX_WAIT_SECONDS if len(digits) > 6 else min(int(digits), job_logic.MAX_WAIT_SECONDS)
        )
        return float(seconds), f"wait={seconds}"
    return None, None


def time_left() -> float:
    """Seconds this invocation may still spend before it must answer."""
    try:
        return lambda_context().get_remaining_time_in_millis() / 1000.0 - _RESPONSE_MARGIN_SECONDS
    except AttributeError:
        return float(job_logic.MAX_WAIT_SECONDS)


# --- pay-per-use: Idempotency-Key -----------------------------------------------------------------------
def idempotency_key() -> str | None:
    return billing_logic.check_idempotency_key(header("idempotency-key"))


def idempotency_wait() -> float:
    return max(0.0, min(float(get_api_settings().IDEMPOTENCY_WAIT_SECONDS), time_left()))


# --- the contract: typed parameters, declared responses, security (the OpenAPI document comes from these) --
BEARER_AUTH = "bearerAuth"
API_KEY_AUTH = "apiKeyAuth"
#: Every authenticated route: `Authorization: Bearer <key>` or `x-api-key: <key>`.
AUTH: list[dict[str, list[str]]] = [{BEARER_AUTH: []}, {API_KEY_AUTH: []}]

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (1-100)")]
Cursor = Annotated[
    str | None, Query(max_length=2048, description="Opaque cursor from a previous page's next_cursor")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Replays the first answer for the same key and body for 24 h (1-255 printable ASCII)",
    ),
]

_HEADER_DOCS: dict[str, tuple[str, str]] = {
    "Retry-After": ("integer", "Seconds to wait before retrying"),
    "RateLimit-Limit": ("integer", "Requests allowed per window"),
    "RateLimit-Remaining": ("integer", "Requests left in the window"),
    "RateLimit-Reset": ("integer", "Seconds until the window resets"),
    "Idempotent-Replayed": ("string", "true when this is the stored answer of an earlier request"),
    "X-Credits-Balance": ("integer", "The tenant's spendable credits after this request"),
    "Preference-Applied": ("string", "The honoured part of the Prefer header, e.g. wait=30"),
    "Location": ("string", "Path of the created or accepted resource"),
}
_STATUS_TEXT = {
    400: "Invalid request (malformed JSON, bad cursor or parameter, unsafe URL)",
    401: "Missing or unknown API key",
    402: "Not enough credits",
    404: "Not found (or another tenant's)",
    409: "Conflict (state, idempotency key reuse, request in progress)",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation error: `details` lists every failed check",
    429: "Rate or concurrency limit reached",
    500: "Internal error",
    503: "A dependency is unavailable; retry later",
}
_ERROR_HEADERS = {
    402: ("X-Credits-Balance",),
    429: ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"),
    503: ("Retry-After",),
}


def header_docs(*names: str, required: bool = False) -> dict[str, Any]:
    """OpenAPI `headers` for the named response headers (see `_HEADER_DOCS`)."""
    return {
        name: {
            "description": _HEADER_DOCS[name][1],
            "required": required,
            "schema": {"type": _HEADER_DOCS[name][0]},
        }
        for name in names
    }


def error_responses(*statuses: int) -> dict[int, Any]:
    """`responses=` entries for the error envelope at each status (500 is always added), with the headers
    that status carries (429: Retry-After and RateLimit-*; 402: X-Credits-Balance)."""
    from avatarsmith.models.responses import ErrorEnvelope

    out: dict[int, Any] = {}
    for status in sorted({*statuses, 500}):
        entry: dict[str, Any] = {
            "description": _STATUS_TEXT.get(status, "Error"),
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
        if status in _ERROR_HEADERS:
            entry["headers"] = header_docs(*_ERROR_HEADERS[status], required=status == 429)
        out[status] = entry
    return out


def ok_response(
    model: type[BaseModel], *, status: int = 200, description: str = "OK", headers: tuple[str, ...] = ()
) -> dict[int, Any]:
    """The success entry of `responses=`: the body model and the headers it may carry."""
    entry: dict[str, Any] = {"description": description, "content": {"application/json": {"model": model}}}
    if headers:
        entry["headers"] = header_docs(*headers)
    return {status: entry}


def responses(
    model: type[BaseModel],
    *errors: int,
    status: int = 200,
    description: str = "OK",
    headers: tuple[str, ...] = (),
    authenticated: bool = True,
) -> dict[int, Any]:
    """Everything a route can answer: its success body and the error envelope at each error status
    (authenticated routes add 401 and 429, routes with typed input 422)."""
    statuses = {*errors, *((401, 429) if authenticated else ())}
    return {**ok_response(model, status=status, description=description, headers=headers)} | error_responses(
        *statuses
    )


def require_json_media_type() -> None:
    """415 unless the request says its body is JSON (`application/json` or `*+json`)."""
    content_type = (current_event().headers or {}).get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError("send the request body as JSON with Content-Type: application/json")


def raw_json_body() -> Any:
    """The request body as parsed JSON (already validated by the route's typed body), for fingerprints."""
    raw = current_event().decoded_body
    return bodies.loads(raw) if raw and raw.strip() else None
