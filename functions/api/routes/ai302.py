"""302.AI compatibility: the multipart/form-data variant of POST /v1/avatars/generate.

The form is read into the JSON body it stands for (`avatarsmith.compat.ai302`) before routing and
validation, so the native route serves both variants with one set of rules. It runs before Powertools'
request validation (which precedes every `app.use` middleware), as a request rewriter of the resolver.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from avatarsmith.compat import ai302

GENERATE_ROUTE = ("POST", "/v1/avatars/generate")


def multipart_generate_as_json(event: dict[str, Any]) -> dict[str, Any]:
    """A multipart/form-data POST /v1/avatars/generate becomes its JSON equivalent; other events pass.
    Raises InvalidRequestError for a form that cannot be read."""
    http = (event.get("requestContext") or {}).get("http") or {}
    if (str(http.get("method", "")).upper(), event.get("rawPath")) != GENERATE_ROUTE:
        return event
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    if not ai302.is_multipart(content_type):
        return event
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(raw)
    else:
        body = str(raw).encode("utf-8", "surrogateescape")
    headers["content-type"] = "application/json"
    headers.pop("content-length", None)
    return {
        **event,
        "headers": headers,
        "body": json.dumps(ai302.form_to_body(body, content_type), separators=(",", ":")),
        "isBase64Encoded": False,
    }


# --- the OpenAPI document -------------------------------------------------------------------------------
MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "302.AI's form-data variant: the JSON body's fields as form fields. Empty fields are "
    "left out; num, width and height are read as integers (out of range: 1 and 1024).",
    "properties": {
        "image": {
            "description": "Reference photo: a file part (JPEG, PNG, WebP), a URL or a data:image/... string",
            "oneOf": [{"type": "string", "format": "binary"}, {"type": "string"}],
        },
        "style": {"type": "string", "description": "Preset id or name (GET /v1/styles)", "examples": ["1"]},
        "person_type": {"type": "string", "enum": ["female", "male", "kid"]},
        "custom_prompt": {"type": "string", "maxLength": 5000, "description": "When set, style is ignored"},
        "num": {"type": "integer", "description": "Outside 1-4 is treated as 1"},
        "width": {"type": "integer", "description": "Outside 256-2048 is treated as 1024"},
        "height": {"type": "integer", "description": "Outside 256-2048 is treated as 1024"},
        "model": {"type": "string", "description": "Language model that optimises the prompt"},
    },
    "additionalProperties": {"type": "string"},
}


def document_multipart(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the form-data variant to POST /v1/avatars/generate in a dumped OpenAPI document (Powertools
    generates the JSON body only; route decorators accept `x-` extensions, not request bodies)."""
    operation = openapi.get("paths", {}).get(GENERATE_ROUTE[1], {}).get("post")
    if operation is not None:
        body = operation.setdefault("requestBody", {"required": True, "content": {}})
        body.setdefault("content", {})["multipart/form-data"] = {"schema": MULTIPART_SCHEMA}
    return openapi
