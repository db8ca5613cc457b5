"""The published contract: the OpenAPI 3.1 document generated from the routes, and Swagger UI (no auth).

The document covers every route of the resolver that serves the request, so routers added to app.py
appear in it without further wiring. Swagger UI's assets ship in the Powertools wheel and are inlined
into the page (no external request); they are read only when /docs is asked for, never at cold start.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict

from avatarsmith import __version__

from .ai302 import document_multipart
from .common import API_KEY_AUTH, BEARER_AUTH, current_resolver, error_responses, responses

router = APIGatewayHttpRouter()

TITLE = "Avatarsmith API"
DESCRIPTION = (
    "Self-hostable AI avatar generation. Authenticate with `Authorization: Bearer <key>` or "
    "`x-api-key: <key>`. Every error is the envelope "
    '`{"error": {"code", "message", "param"?, "details"?, "request_id"}}`.'
)
#: Powertools' own validation-error schemas: our handlers answer with the envelope instead.
_UNUSED_DEFAULTS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_ENVELOPE = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}
_cache: dict[int, str] = {}


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")
    openapi: str


def openapi_document(resolver: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `resolver` holds, with our security schemes."""
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

    raw = resolver.get_openapi_json_schema(
        title=TITLE,
        version=__version__,
        description=DESCRIPTION,
        security_schemes={
            BEARER_AUTH: HTTPBearer(description="Authorization: Bearer <API key>"),
            API_KEY_AUTH: APIKey(name="x-api-key", in_=APIKeyIn.header, description="The API key"),
        },
    )
    spec: dict[str, Any] = json.loads(raw)
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.get("responses", {})
            for status, answer in list(answers.items()):
                text = json.dumps(answer)
                if "HTTPValidationError" in text:  # added by Powertools to routes without typed input
                    del answers[status]
                elif "ResponseValidationError" in text:  # the envelope handler answers these too
                    answers[status] = {"description": "Internal error", "content": _ENVELOPE}
    schemas = spec.get("components", {}).get("schemas", {})
    text = json.dumps(spec.get("paths", {}))
    for name in _UNUSED_DEFAULTS:
        if name in schemas and f"#/components/schemas/{name}" not in text:
            del schemas[name]
    return document_multipart(spec)  # the 302.AI form-data variant of generate (not expressible per route)


def openapi_json(resolver: Any) -> str:
    """`openapi_document` serialised as committed in docs/openapi.json (computed once per container)."""
    key = id(resolver)
    if key not in _cache:
        _cache[key] = json.dumps(openapi_document(resolver), indent=2, ensure_ascii=False) + "\n"
    return _cache[key]


@router.get(
    "/v1/openapi.json",
    summary="This OpenAPI 3.1 document",
    tags=["docs"],
    compress=True,
    responses=responses(OpenApiDocument, authenticated=False),
)
def get_openapi() -> Response[str]:
    return Response(200, content_type="application/json", body=openapi_json(current_resolver()))


@router.get(
    "/docs",
    summary="Swagger UI for this API (works offline)",
    tags=["docs"],
    compress=True,
    responses={
        200: {"description": "The Swagger UI page", "content": {"text/html": {"schema": {"type": "string"}}}}
    }
    | error_responses(),
)
def swagger_ui() -> Response[str]:
    from importlib import resources

    from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

    assets = resources.files("aws_lambda_powertools.event_handler.openapi") / "swagger_ui"
    spec = openapi_json(current_resolver()).replace("</", "<\\/")
    body = generate_swagger_html(
        spec,
        (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        "",
        None,
    )
    return Response(200, content_type="text/html", body=body)
