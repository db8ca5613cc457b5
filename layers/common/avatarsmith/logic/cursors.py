"""Opaque pagination cursors. They carry only a sort position and the filters they were made for;
the partition (the tenant) always comes from the authenticated caller, so a cursor cannot cross tenants."""

from __future__ import annotations

import base64
import binascii
import json
import re

from avatarsmith.errors import InvalidRequestError

_ID = re.compile(r"^[a-z]{3}_[0-9a-z]{26}$")


def encode_cursor(kind: str, after_id: str, filters: dict[str, str | None]) -> str:
    raw = json.dumps({"k": kind, "a": after_id, "f": filters}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, filters: dict[str, str | None]) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after_id = data["a"]
        ok = data["k"] == kind and isinstance(after_id, str) and _ID.match(after_id)
    # RecursionError: a cursor that decodes to deeply nested JSON (json.loads recurses per level).
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        ok = False
    if not ok:
        raise InvalidRequestError("cursor is not valid for this list", param="cursor")
    if data.get("f") != filters:
        raise InvalidRequestError(
            "cursor was issued for different filters; send the same filters", param="cursor"
        )
    return str(after_id)
