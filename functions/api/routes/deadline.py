"""`Cancel-After` (Replicate's header: `45s`, `5m`, `1h30m` or seconds) for the routes that create jobs
(on a batch it applies to every item).

It means exactly `deadline_seconds` in the body (the smaller wins when both are sent), so a request
rewriter folds it into the JSON body before routing: typed validation, the Idempotency-Key fingerprint
and the job all see one field. A malformed header is a 400 naming it.
"""

from __future__ import annotations

import json
from typing import Any

from avatarsmith.errors import InvalidRequestError
from avatarsmith.logic.job_end import parse_cancel_after

JOB_CREATING_ROUTES = frozenset({"POST /v1/avatars/generate", "POST /v1/batches"})
_MESSAGE = "Cancel-After must be a duration such as 45s, 5m or 1h30m, or seconds (1 to 86400)"


def _cancel_after(headers: dict[str, Any]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "cancel-after":
            return str(value)
    return None


def fold_cancel_after(event: dict[str, Any]) -> dict[str, Any]:
    """The API Gateway event with a valid Cancel-After folded into the body's `deadline_seconds`."""
    if event.get("routeKey") not in JOB_CREATING_ROUTES or event.get("isBase64Encoded"):
        return event
    raw = _cancel_after(event.get("headers") or {})
    if raw is None:
        return event
    try:
        seconds = parse_cancel_after(raw)
    except ValueError as exc:
        raise InvalidRequestError(_MESSAGE, param="Cancel-After") from exc
    try:
        body = json.loads(event.get("body") or "")
    except (ValueError, RecursionError):
        return event  # the route refuses a bad body
    if not isinstance(body, dict):
        return event
    if event["routeKey"] == "POST /v1/batches":  # every item of the batch gets the deadline
        items = body.get("items")
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                _set_deadline(item, seconds)
    else:
        _set_deadline(body, seconds)
    return {**event, "body": json.dumps(body)}


def _set_deadline(request: dict[str, Any], seconds: int) -> None:
    current = request.get("deadline_seconds")
    if not (isinstance(current, int) and not isinstance(current, bool) and current < seconds):
        request["deadline_seconds"] = seconds
