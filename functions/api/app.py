"""API function: HTTP API (payload v2) routes. Thin: authenticate, parse, call one logic function, shape.

Every error leaves through the exception handlers below as the error envelope
`{"error": {"code", "message", "param"?, "details"?, "request_id"}}`.
"""

from __future__ import annotations

import json
import re
import threading
from functools import lru_cache
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from avatarsmith import __version__, catalog
from avatarsmith.config import get_api_settings
from avatarsmith.errors import (
    AvatarsmithError,
    InvalidRequestError,
    RequestValidationError,
    UnsupportedMediaTypeError,
)
from avatarsmith.logic import avatars as avatar_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic import webhooks as webhook_logic
from avatarsmith.logic.auth import Principal, authenticate_principal
from avatarsmith.logic.presenters import present_avatar, present_job, present_list
from avatarsmith.logic.services import Services
from avatarsmith.models.api import GenerateAvatarRequest, SaveAvatarRequest
from avatarsmith.models.domain import JobStatus
from avatarsmith.models.webhooks import CreateWebhookEndpointRequest, RotateSecretRequest
from avatarsmith.observability import logger


class _PerRequestResolver(APIGatewayHttpResolver):
    """Powertools keeps the current event on the router class. A Lambda container serves one request at a
    time, but the local stack and the concurrency tests run this handler on many threads at once (like
    many containers), so the per-request state lives in a thread-local here."""

    _state = threading.local()

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

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        self._state.event = self._to_proxy_event(event)
        self._state.lambda_context = context
        return super().resolve(event, context)


app = _PerRequestResolver()
M = TypeVar("M", bound=BaseModel)

_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+)", re.IGNORECASE)
_RESPONSE_MARGIN_SECONDS = 1.5


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


# --- helpers ----------------------------------------------------------------------------------------
def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=headers or {},
    )


def _request_id() -> str:
    try:
        return str(app.current_event.request_context.request_id)
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def _tenant() -> str:
    return _principal().tenant_id


def _principal() -> Principal:
    """The caller, counted against its per-container request rate (429 rate_limited when over)."""
    from avatarsmith.logic.ratelimit import count_request

    principal = authenticate_principal(
        get_services(),
        dict(app.current_event.headers or {}),
        cache_seconds=get_api_settings().API_KEY_CACHE_SECONDS,
    )
    count_request(principal.tenant_id, principal.requests_per_minute)
    return principal


def _json_body() -> Any:
    content_type = (app.current_event.headers or {}).get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError("send the request body as JSON with Content-Type: application/json")
    raw = app.current_event.decoded_body
    if not raw:
        raise InvalidRequestError("the request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InvalidRequestError("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("the request body must be a JSON object")
    return body


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc) from exc


def _validation_error(exc: ValidationError) -> RequestValidationError:
    details = [
        {"loc": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    first = details[0]
    return RequestValidationError(f"{first['loc']}: {first['message']}", param=first["loc"], details=details)


def _int_query(name: str, default: int, *, low: int, high: int) -> int:
    raw = app.current_event.get_query_string_value(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d{1,9}", raw.strip()) or not low <= int(raw) <= high:
        raise InvalidRequestError(f"{name} must be an integer from {low} to {high}", param=name)
    return int(raw)


def _requested_wait() -> tuple[float | None, str | None]:
    """Seconds to long-poll from `wait_for_completion`/`timeout_seconds` or `Prefer: wait=N`."""
    query = app.current_event.get_query_string_value
    if (query("wait_for_completion") or "").lower() in ("true", "1", "yes"):
        return float(_int_query("timeout_seconds", 30, low=0, high=job_logic.MAX_WAIT_SECONDS)), None
    if query("timeout_seconds") is not None:
        _int_query("timeout_seconds", 30, low=0, high=job_logic.MAX_WAIT_SECONDS)
    prefer = (app.current_event.headers or {}).get("prefer", "")
    match = _PREFER_WAIT.search(prefer)
    if match:
        seconds = min(int(match.group(1)), job_logic.MAX_WAIT_SECONDS)
        return float(seconds), f"wait={seconds}"
    return None, None


def _time_left() -> float:
    try:
        return app.lambda_context.get_remaining_time_in_millis() / 1000.0 - _RESPONSE_MARGIN_SECONDS
    except AttributeError:
        return float(job_logic.MAX_WAIT_SECONDS)


# --- routes -------------------------------------------------------------------------------------------
@app.get("/v1/health")
def health() -> Response[str]:
    return _json(200, {"status": "ok", "version": __version__})


@app.post("/v1/avatars/generate")
def generate_avatar() -> Response[str]:
    principal = _principal()
    key = _idempotency_key()
    body = _json_body()
    request = _parse(GenerateAvatarRequest, body)
    services = get_services()
    result = billing_logic.submit_generation(
        services,
        principal,
        request,
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /v1/avatars/generate", body),
        present=lambda job: present_job(job, services),
        wait_seconds=_idempotency_wait(),
    )
    return _replayable(result)


@app.get("/v1/jobs/<job_id>")
def get_job(job_id: str) -> Response[str]:
    tenant_id = _tenant()
    wait, applied = _requested_wait()
    services = get_services()
    headers = {"Preference-Applied": applied} if applied else {}
    if wait:  # long-poll until terminal or timeout; the final read below also brings the balance
        job_logic.wait_for_job(services, tenant_id, job_id, timeout_seconds=min(wait, _time_left()))
    job, balance = billing_logic.get_job_with_balance(services, tenant_id, job_id)  # one BatchGetItem
    if balance is not None:
        headers[billing_logic.BALANCE_HEADER] = str(balance)
    return _json(200, present_job(job, services), headers)


@app.get("/v1/jobs")
def list_jobs() -> Response[str]:
    tenant_id = _tenant()
    query = app.current_event.get_query_string_value
    status_value = query("status")
    try:
        status = JobStatus(status_value) if status_value else None
    except ValueError as exc:
        raise InvalidRequestError(
            f"status must be one of {', '.join(s.value for s in JobStatus)}", param="status"
        ) from exc
    client_reference_id = query("client_reference_id") or None
    if client_reference_id and len(client_reference_id) > 200:
        raise InvalidRequestError(
            "client_reference_id is at most 200 characters", param="client_reference_id"
        )
    services = get_services()
    jobs, next_cursor = job_logic.list_jobs(
        services,
        tenant_id,
        limit=_int_query("limit", 20, low=1, high=100),
        cursor=query("cursor") or None,
        status=status,
        client_reference_id=client_reference_id,
    )
    return _json(200, present_list([present_job(j, services) for j in jobs], next_cursor=next_cursor))


@app.post("/v1/avatars/save")
def save_avatar() -> Response[str]:
    tenant_id = _tenant()
    key = _idempotency_key()
    body = _json_body()
    request = _parse(SaveAvatarRequest, body)
    services = get_services()

    def save() -> billing_logic.ApiResult:
        avatar = avatar_logic.save_avatar(services, tenant_id, request)
        payload = json.dumps(present_avatar(avatar, services), separators=(",", ":"))
        return billing_logic.ApiResult(201, payload, {"Location": f"/v1/avatars/{avatar.id}"})

    return _replayable(
        billing_logic.run_idempotent(
            services,
            tenant_id,
            idempotency_key=key,
            fingerprint=billing_logic.request_fingerprint("POST /v1/avatars/save", body),
            action=save,
            wait_seconds=_idempotency_wait(),
        )
    )


@app.get("/v1/avatars")
def list_avatars() -> Response[str]:
    tenant_id = _tenant()
    services = get_services()
    limit = _int_query("limit", 20, low=1, high=100)
    cursor = app.current_event.get_query_string_value("cursor") or None
    if cursor:
        if app.current_event.get_query_string_value("offset"):
            raise InvalidRequestError("send either cursor or offset, not both", param="offset")
        page, next_cursor = avatar_logic.list_avatars_by_cursor(
            services, tenant_id, limit=limit, cursor=cursor
        )
        return _json(
            200,
            present_list([present_avatar(a, services) for a in page], next_cursor=next_cursor, limit=limit),
        )
    offset = _int_query("offset", 0, low=0, high=100_000)
    page, has_more, total, next_cursor = avatar_logic.list_avatars_by_offset(
        services, tenant_id, limit=limit, offset=offset
    )
    return _json(
        200,
        present_list(
            [present_avatar(a, services) for a in page],
            next_cursor=next_cursor,
            has_more=has_more,
            total=total,
            limit=limit,
            offset=offset,
        ),
    )


@app.get("/v1/avatars/<avatar_id>")
def get_avatar(avatar_id: str) -> Response[str]:
    tenant_id = _tenant()
    services = get_services()
    return _json(200, present_avatar(avatar_logic.get_avatar(services, tenant_id, avatar_id), services))


@app.get("/v1/styles")
def list_styles() -> Response[str]:
    _tenant()
    data = [
        {"id": s.id, "object": "style", "name": s.name, "title": s.title, "description": s.description}
        for s in catalog.STYLES
    ]
    return _json(200, present_list(data, next_cursor=None))


@app.get("/v1/models")
def list_models() -> Response[str]:
    _tenant()
    models = catalog.available_models(include_test=get_api_settings().AVATARSMITH_ENABLE_TEST_BACKENDS)
    data = [
        {
            "id": m.id,
            "object": "model",
            "description": m.description,
            "backend": m.backend,
            "credits_per_variation": m.credits_per_variation,
            "capabilities": sorted(m.capabilities),
            "max_prompt_chars": m.max_prompt_chars,
            "default": m.id == catalog.DEFAULT_MODEL,
        }
        for m in models
    ]
    version = models[0].catalog_version if models else None
    return _json(200, present_list(data, next_cursor=None, catalog_version=version))


# --- webhooks: endpoints, the callback secret, the delivery log and replay ------------------------------
@app.post("/v1/webhook-endpoints")
def create_webhook_endpoint() -> Response[str]:
    tenant_id = _tenant()
    request = _parse(CreateWebhookEndpointRequest, _json_body())
    endpoint, secret = webhook_logic.create_endpoint(get_services(), tenant_id, request)
    return _json(
        201,
        webhook_logic.present_endpoint(endpoint, secret=secret),
        {"Location": f"/v1/webhook-endpoints/{endpoint.id}"},
    )


@app.get("/v1/webhook-endpoints")
def list_webhook_endpoints() -> Response[str]:
    tenant_id = _tenant()
    endpoints = webhook_logic.list_endpoints(get_services(), tenant_id)
    return _json(200, present_list([webhook_logic.present_endpoint(e) for e in endpoints], next_cursor=None))


@app.get("/v1/webhook-endpoints/<endpoint_id>")
def get_webhook_endpoint(endpoint_id: str) -> Response[str]:
    tenant_id = _tenant()
    endpoint = webhook_logic.get_endpoint(get_services(), tenant_id, endpoint_id)
    return _json(200, webhook_logic.present_endpoint(endpoint))


@app.delete("/v1/webhook-endpoints/<endpoint_id>")
def delete_webhook_endpoint(endpoint_id: str) -> Response[str]:
    tenant_id = _tenant()
    webhook_logic.delete_endpoint(get_services(), tenant_id, endpoint_id)
    return _json(200, {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True})


def _rotate_request() -> RotateSecretRequest:
    raw = app.current_event.decoded_body
    return _parse(RotateSecretRequest, _json_body() if raw and raw.strip() else {})


@app.post("/v1/webhook-endpoints/<endpoint_id>/rotate-secret")
def rotate_webhook_endpoint_secret(endpoint_id: str) -> Response[str]:
    tenant_id = _tenant()
    endpoint, secret = webhook_logic.rotate_endpoint_secret(
        get_services(), tenant_id, endpoint_id, _rotate_request()
    )
    return _json(200, webhook_logic.present_endpoint(endpoint, secret=secret))


@app.post("/v1/webhook-endpoints/<endpoint_id>/test")
def test_webhook_endpoint(endpoint_id: str) -> Response[str]:
    tenant_id = _tenant()
    delivery = webhook_logic.send_test(get_services(), tenant_id, endpoint_id)
    return _json(
        202, webhook_logic.present_delivery(delivery), {"Location": f"/v1/webhook-deliveries/{delivery.id}"}
    )


@app.post("/v1/webhook-callback-secret")
def rotate_webhook_callback_secret() -> Response[str]:
    tenant_id = _tenant()
    secret, previous_expires = webhook_logic.rotate_callback_secret(
        get_services(), tenant_id, _rotate_request()
    )
    body = {"object": "webhook_callback_secret", "secret": secret, "previous_secret_expires_at": None}
    if previous_expires:
        body["previous_secret_expires_at"] = webhook_logic.epoch_iso(previous_expires)
    return _json(200, body)


@app.get("/v1/webhook-deliveries")
def list_webhook_deliveries() -> Response[str]:
    tenant_id = _tenant()
    query = app.current_event.get_query_string_value
    deliveries, next_cursor = webhook_logic.list_deliveries(
        get_services(),
        tenant_id,
        limit=_int_query("limit", 20, low=1, high=100),
        cursor=query("cursor") or None,
        job_id=query("job_id") or None,
        status=query("status") or None,
    )
    return _json(
        200, present_list([webhook_logic.present_delivery(d) for d in deliveries], next_cursor=next_cursor)
    )


@app.get("/v1/webhook-deliveries/<delivery_id>")
def get_webhook_delivery(delivery_id: str) -> Response[str]:
    tenant_id = _tenant()
    delivery = webhook_logic.get_delivery(get_services(), tenant_id, delivery_id)
    return _json(200, webhook_logic.present_delivery(delivery))


@app.post("/v1/webhook-deliveries/<delivery_id>/replay")
def replay_webhook_delivery(delivery_id: str) -> Response[str]:
    tenant_id = _tenant()
    delivery = webhook_logic.replay_delivery(get_services(), tenant_id, delivery_id)
    return _json(202, webhook_logic.present_delivery(delivery))


# --- pay-per-use: account, cancel, Idempotency-Key ------------------------------------------------------
def _idempotency_key() -> str | None:
    return billing_logic.check_idempotency_key((app.current_event.headers or {}).get("idempotency-key"))


def _idempotency_wait() -> float:
    return max(0.0, min(float(get_api_settings().IDEMPOTENCY_WAIT_SECONDS), _time_left()))


def _replayable(result: billing_logic.ApiResult) -> Response[str]:
    headers = dict(result.headers)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        status_code=result.status_code, content_type="application/json", body=result.body, headers=headers
    )


@app.get("/v1/account")
def get_account() -> Response[str]:
    tenant_id = _tenant()
    limit = _int_query("limit", 20, low=1, high=100)
    account = billing_logic.account_view(get_services(), tenant_id, ledger_limit=limit)
    return _json(200, account, {billing_logic.BALANCE_HEADER: str(account["balance"])})


@app.post("/v1/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Response[str]:
    tenant_id = _tenant()
    key = _idempotency_key()
    services = get_services()

    def cancel() -> billing_logic.ApiResult:
        job = billing_logic.cancel_job(services, tenant_id, job_id)
        return billing_logic.ApiResult(200, json.dumps(present_job(job, services), separators=(",", ":")))

    return _replayable(
        billing_logic.run_idempotent(
            services,
            tenant_id,
            idempotency_key=key,
            fingerprint=billing_logic.request_fingerprint(f"POST /v1/jobs/{job_id}/cancel", None),
            action=cancel,
            wait_seconds=_idempotency_wait(),
        )
    )


# --- the error envelope ------------------------------------------------------------------------------
def _envelope(
    status: int,
    code: str,
    message: str,
    *,
    param: str | None = None,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": _request_id()}
    if param:
        error["param"] = param
    if details:
        error["details"] = details
    return _json(status, {"error": error}, headers)


@app.exception_handler(AvatarsmithError)
def handle_avatarsmith_error(exc: AvatarsmithError) -> Response[str]:
    if exc.status_code >= 500:
        logger.exception("request failed", extra={"code": exc.code})
    return _envelope(
        exc.status_code, exc.code, exc.message, param=exc.param, details=exc.details, headers=exc.headers
    )


@app.not_found
def handle_not_found(exc: RouteNotFoundError) -> Response[str]:
    return _envelope(
        404, "not_found", f"no route for {app.current_event.http_method} {app.current_event.path}"
    )


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return _envelope(500, "internal_error", "an internal error occurred; it has been logged")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
