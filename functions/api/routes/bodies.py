"""How request bodies are read and refused: the one JSON decoder every route's body goes through
(typed validation, fingerprints, batches), and the status failed checks are answered with.

Beyond JSON syntax it refuses, as a 400 `invalid_request` in the envelope, what no field accepts and
what would fail later where the caller cannot see it: integers of more than 20 digits (Python refuses to
convert very long ones at all), decimals longer than 40 characters or outside 1e-100..1e100 in
magnitude (what the table can store), `NaN`/`Infinity` (not JSON), and NUL characters or lone
surrogate escapes (not UTF-8 text) in any string.
Ranges a field documents are checked by its model (422 `validation_error` naming the field; 400
`invalid_prompt` for a blank prompt; 400 `invalid_request` on a route whose vendor documents 400).
"""

from __future__ import annotations

import json
import math
from typing import Any

from avatarsmith.errors import (
    AvatarsmithError,
    InvalidPromptError,
    InvalidRequestError,
    RequestValidationError,
)
from avatarsmith.models.api import INVALID_PROMPT

MAX_INTEGER_DIGITS = 20
MAX_DECIMAL_CHARS = 40
_SMALLEST, _LARGEST = 1e-100, 1e100


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise InvalidRequestError(
            f"a number in the request body has more than {MAX_INTEGER_DIGITS} digits; no field accepts it"
        )
    return int(text)


def _decimal(text: str) -> float:
    if len(text) > MAX_DECIMAL_CHARS:
        raise InvalidRequestError(
            f"a number in the request body is longer than {MAX_DECIMAL_CHARS} characters; no field accepts it"
        )
    value = float(text)
    if not math.isfinite(value) or (value != 0 and not _SMALLEST <= abs(value) <= _LARGEST):
        raise InvalidRequestError("a number in the request body is out of range; no field accepts it")
    return value


def _constant(name: str) -> Any:
    raise InvalidRequestError(f"{name} is not a JSON number; send a finite number")


def _refuse_bad_strings(document: Any) -> None:
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise InvalidRequestError("the request body holds a NUL character (\\u0000)")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidRequestError(
                    "the request body holds a lone surrogate escape (\\ud800-\\udfff); send UTF-8 text"
                ) from exc
        elif isinstance(value, dict):
            for key, item in value.items():
                pending.append(key)
                pending.append(item)
        elif isinstance(value, list):
            pending.extend(value)


def loads(text: str | bytes) -> Any:
    """Parse a request body as JSON with the refusals above (json.JSONDecodeError for bad syntax)."""
    document = json.loads(text, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    _refuse_bad_strings(document)
    return document


# --- failed checks -------------------------------------------------------------------------------------
#: (METHOD, path as declared) of the routes whose vendor documents answer invalid values with 400.
VALIDATION_400_ROUTES: set[tuple[str, str]] = set()


def answer_invalid_values_with_400(method: str, path: str) -> None:
    """Let one route answer failed validation 400 `invalid_request` (details as usual) instead of 422."""
    VALIDATION_400_ROUTES.add((method.upper(), path))


def refusal(details: list[dict[str, Any]], routes: set[tuple[str, str]]) -> AvatarsmithError:
    """The error for failed checks (`details`: loc, message, type) on the request's `routes` (as routed
    and as sent): a blank prompt is 400 `invalid_prompt` everywhere; on a route registered with
    `answer_invalid_values_with_400` anything else is 400 `invalid_request`; else 422 `validation_error`."""
    prompt = next((d for d in details if d.get("type") == INVALID_PROMPT), None)
    if prompt is not None:
        return InvalidPromptError(str(prompt["message"]), param=str(prompt["loc"]), details=details)
    first = details[0] if details else {"loc": "body", "message": "invalid request"}
    message, param = f"{first['loc']}: {first['message']}", str(first["loc"])
    if VALIDATION_400_ROUTES & routes:
        return InvalidRequestError(message, param=param, details=details)
    return RequestValidationError(message, param=param, details=details)
