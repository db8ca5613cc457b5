"""Identifiers: time-ordered (so DynamoDB sort keys list newest first) and unguessable."""

from __future__ import annotations

import secrets
import time

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
