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
