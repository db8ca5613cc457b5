"""Identifiers: time-ordered (so DynamoDB sort keys list newest first) and unguessable."""

from __future__ import annotations

import secrets
import time
import uuid

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def time_ordered_id(prefix: str, *, now_ms: int | None = None) -> str:
    """`prefix_` + 10 chars of millisecond time + 16 chars (80 bits) of randomness, ULID-style."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}_{_encode(ms, 10)}{_encode(secrets.randbits(80), 16)}"


def new_job_id() -> str:
    return time_ordered_id("job")


def new_avatar_id() -> str:
    return time_ordered_id("ava")


def new_tenant_id() -> str:
    return time_ordered_id("ten")


def new_api_key() -> str:
    """A secret API key; only its hash is ever stored."""
    return f"ask_{secrets.token_urlsafe(30)}"


def new_ledger_entry_id() -> str:
    return time_ordered_id("led")


def new_api_key_id() -> str:
    return time_ordered_id("key")


def new_upload_id() -> str:
    return time_ordered_id("upl")


def new_community_id() -> str:
    return time_ordered_id("pub")


def new_batch_id() -> str:
    return time_ordered_id("bat")


# --- the same id as a UUID (Pi documents its job ids as UUIDs) ----------------------------------------
_TIME_CHARS, _RANDOM_CHARS = 10, 16
_DECODE = {c: i for i, c in enumerate(_CROCKFORD)}


def _decode(text: str) -> int | None:
    value = 0
    for char in text:
        digit = _DECODE.get(char)
        if digit is None:
            return None
        value = value * 32 + digit
    return value


def id_as_uuid(prefixed_id: str) -> str | None:
    """The 128 bits of a time-ordered id (48 of milliseconds, 80 random) written as a UUID, or None for a
    string that is not such an id. `id_from_uuid` reverses it exactly."""
    _, _, body = prefixed_id.partition("_")
    if len(body) != _TIME_CHARS + _RANDOM_CHARS:
        return None
    ms, rand = _decode(body[:_TIME_CHARS]), _decode(body[_TIME_CHARS:])
    if ms is None or rand is None or ms >= 1 << 48:
        return None
    return str(uuid.UUID(int=(ms << 80) | rand))


def id_from_uuid(prefix: str, value: str) -> str | None:
    """`prefix_…` for a UUID made by `id_as_uuid` (any spelling `uuid.UUID` reads), or None."""
    try:
        number = uuid.UUID(value.strip()).int
    except ValueError:
        return None
    return f"{prefix}_{_encode(number >> 80, _TIME_CHARS)}{_encode(number & ((1 << 80) - 1), _RANDOM_CHARS)}"


def job_id_as_uuid(job_id: str) -> str:
    """A job id as Pi shows it: the UUID of the same 128 bits (the id itself if it has no such form)."""
    return id_as_uuid(job_id) or job_id


def job_id_from_pi(value: str) -> str:
    """A job id as Pi takes it: its UUID or our `job_…` id."""
    if value.startswith("job_"):
        return value
    return id_from_uuid("job", value) or value
