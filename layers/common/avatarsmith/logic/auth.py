"""API key authentication: `Authorization: Bearer <key>` or `x-api-key: <key>`.

Keys are looked up by their SHA-256 hash with one conditional UpdateItem that also records the key's
last use. A small per-container cache keeps warm requests at zero extra AWS calls; a revoked key stops
working within API_KEY_CACHE_SECONDS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from avatarsmith.dal.tenants import hash_api_key
from avatarsmith.errors import UnauthorizedError
from avatarsmith.logic.clock import now_iso
from avatarsmith.logic.services import Services
from avatarsmith.models.billing import TenantLimits


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    key_id: str | None
    submits_per_minute: int
    requests_per_minute: int


_cache: dict[str, tuple[Principal, float]] = {}


def extract_api_key(headers: dict[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    authorization = lowered.get("authorization", "").strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    key = lowered.get("x-api-key", "").strip()
    return key or None


def authenticate_principal(services: Services, headers: dict[str, str], *, cache_seconds: int) -> Principal:
    """The tenant (and its request limits) the request's API key belongs to, or raise UnauthorizedError."""
    api_key = extract_api_key(headers)
    if not api_key:
        raise UnauthorizedError("missing API key: send Authorization: Bearer <key> or x-api-key: <key>")
    digest = hash_api_key(api_key)
    cached = _cache.get(digest)
    now = time.monotonic()
    if cached and cached[1] > now:
        return cached[0]
    record = services.tenants.use_key(api_key, now=now_iso())
    if not record or record.get("status") != "active":
        raise UnauthorizedError("invalid API key")
    defaults = TenantLimits()
    limits = record.get("limits") or {}
    principal = Principal(
        tenant_id=str(record["tenant_id"]),
        key_id=record.get("key_id"),
        submits_per_minute=int(limits.get("submits_per_minute", defaults.submits_per_minute)),
        requests_per_minute=int(limits.get("requests_per_minute", defaults.requests_per_minute)),
    )
    if cache_seconds > 0:
        _cache[digest] = (principal, now + cache_seconds)
    return principal


def authenticate(services: Services, headers: dict[str, str], *, cache_seconds: int) -> str:
    """Return the tenant id the request's API key belongs to, or raise UnauthorizedError."""
    return authenticate_principal(services, headers, cache_seconds=cache_seconds).tenant_id


def clear_auth_cache() -> None:
    _cache.clear()
    from avatarsmith.logic.ratelimit import clear_request_windows

    clear_request_windows()
