"""API key authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`.

Keys are looked up by their SHA-256 hash. A small per-container cache keeps warm requests at one AWS
call per operation; a revoked key stops working within API_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

import time

from avatarsmith.dal.tenants import hash_api_key
from avatarsmith.errors import UnauthorizedError
from avatarsmith.logic.services import Services

_cache: dict[str, tuple[str, float]] = {}


def extract_api_key(headers: dict[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization", "").strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = lowered.get("x-api-key", "").strip()
    return key or None


def authenticate(services: Services, headers: dict[str, str], *, cache_seconds: int) -> str:
    """Return the tenant id the request's API key belongs to, or raise UnauthorizedError."""
    api_key = extract_api_key(headers)
    if not api_key:
        raise UnauthorizedError("missing API key: send Authorization: Bearer <key> or x-api-key: <key>")
    digest = hash_api_key(api_key)
    cached = _cache.get(digest)
    now = time.monotonic()
    if cached and cached[1] > now:
        return cached[0]
    record = services.tenants.find_key(api_key)
    if not record or record.get("status") != "active":
        raise UnauthorizedError("invalid API key")
    tenant_id = str(record["tenant_id"])
    if cache_seconds > 0:
        _cache[digest] = (tenant_id, now + cache_seconds)
    return tenant_id


def clear_auth_cache() -> None:
    _cache.clear()
