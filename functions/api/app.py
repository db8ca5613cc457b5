"""API function: HTTP API (payload v2). Only wiring: the resolver, the routers, the error handlers.

Routes live in `routes/` (one Powertools Router per resource). Every error leaves through the exception
handlers below as the error envelope `{"error": {"code", "message", "param"?, "details"?, "request_id"}}`.
The function's folder is its import root on Lambda (and in the built artifact), hence `routes.…` imports.
"""

from __future__ import annotations

import binascii
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError as SchemaValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from routes import (
    account,
    ai302,
    avatars,
    batches,
    catalog,
    community,
    docs,
    health,
    jobs,
    konpro,
    pi,
    playground,
    thumbnails,
    uploads,
    webhooks,
)
from routes.bodies import loads as decode_json_body
from routes.bodies import refusal
from routes.common import PerRequestResolver, current_event, current_routes, error_response, get_services
from routes.deadline import fold_cancel_after

from avatarsmith.errors import AvatarsmithError
from avatarsmith.observability import logger

__all__ = ["app", "get_services", "lambda_handler"]

app = PerRequestResolver(
    enable_validation=True, response_validation_error_http_code=500, json_body_deserializer=decode_json_body
)
for _module in (health, docs, jobs, avatars, catalog, account, webhooks, uploads, community, batches):
    app.include_router(_module.router)
app.include_router(thumbnails.router)
app.include_router(pi.router)
app.include_router(konpro.router)
app.rewrite_requests([ai302.multipart_generate_as_json, fold_cancel_after])
app.include_router(playground.router)


# --- the error envelope ------------------------------------------------------------------------------
@app.exception_handler(AvatarsmithError)
def handle_avatarsmith_error(exc: AvatarsmithError) -> Response[str]:
    if exc.status_code >= 500:
        logger.exception("request failed", extra={"code": exc.code})
    return error_response(
        exc.status_code, exc.code, exc.message, param=exc.param, details=exc.details, headers=exc.headers
    )


@app.exception_handler(SchemaValidationError)
def handle_schema_validation_error(exc: SchemaValidationError) -> Response[str]:
    """Typed route parameters that fail validation: 400 for a body that is not a JSON object or a blank
    prompt, else 422 (400 on the routes whose vendor documents say so: `common.refusal`)."""
    errors = list(exc.errors())
    if any(err.get("type") == "json_invalid" for err in errors):
        return error_response(400, "invalid_request", "the request body is not valid JSON")
    for err in errors:
        if tuple(err.get("loc", ())) == ("body",) and err.get("type") == "missing":
            return error_response(400, "invalid_request", "the request body is empty; send a JSON object")
        if tuple(err.get("loc", ())) == ("body",) and err.get("type") in (
            "model_attributes_type",
            "dict_type",
        ):
            return error_response(400, "invalid_request", "the request body must be a JSON object")
    details = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc else "body"
        name = ".".join(loc[1:]) or where
        details.append(
            {
                "loc": name,
                "in": where,
                "message": str(err.get("msg", "invalid value")),
                "type": err.get("type", "value_error"),
            }
        )
    return handle_avatarsmith_error(refusal(details, current_routes()))


@app.exception_handler(RequestUnsupportedContentType)
def handle_unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
    return error_response(
        415, "unsupported_media_type", "send the request body as JSON with Content-Type: application/json"
    )


@app.exception_handler(ValueError)
def handle_value_error(exc: ValueError) -> Response[str]:
    """Powertools raises a bare ValueError for a multipart/form-data body without a boundary."""
    content_type = str((current_event().headers or {}).get("content-type", "")).lower()
    if content_type.startswith("multipart/form-data") and "boundary" in str(exc).lower():
        return error_response(400, "invalid_request", "multipart/form-data needs a boundary parameter")
    return handle_unexpected(exc)


@app.exception_handler(RecursionError)
def handle_too_deep(exc: RecursionError) -> Response[str]:
    """Input nested deeper than the parsers can follow (a JSON body, a cursor) is the caller's error."""
    return error_response(400, "invalid_request", "the request is nested too deeply")


@app.exception_handler(UnicodeDecodeError)
@app.exception_handler(binascii.Error)
def handle_undecodable_body(exc: ValueError) -> Response[str]:
    """A body whose base64 or UTF-8 cannot be decoded, met while the resolver reads it for validation."""
    return error_response(400, "invalid_request", "the request body could not be decoded as UTF-8 text")


@app.not_found
def handle_not_found(exc: RouteNotFoundError) -> Response[str]:
    event = current_event()
    return error_response(404, "not_found", f"no route for {event.http_method} {event.path}")


@app.exception_handler(Exception)
def handle_unexpected(exc: Exception) -> Response[str]:
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "an internal error occurred; it has been logged")


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
