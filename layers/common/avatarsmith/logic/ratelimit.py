"""Per-tenant request rate, counted per container.

Every authenticated request counts against the tenant's `requests_per_minute` in a fixed one-minute window
held in this container's memory: zero AWS calls, exact within one container, and up to N x the limit across
N warm containers (API Gateway's throttling in the template is the outer guard). Generation submits are
limited exactly across containers by a DynamoDB counter inside the submit transaction (logic/billing.py).
"""

from __future__ import annotations

import threading
import time

from avatarsmith.errors import RateLimitedError

WINDOW_SECONDS = 60

_lock = threading.Lock()
_windows: dict[str, tuple[int, int]] = {}  # tenant id -> (window, count)


def current_window(now: float | None = None) -> tuple[int, int]:
    """(the minute since the epoch, seconds until it ends)."""
    t = time.time() if now is None else now
    window = int(t // WINDOW_SECONDS)
    return window, max(1, int((window + 1) * WINDOW_SECONDS - t + 0.999))


def count_request(tenant_id: str, limit: int, *, now: float | None = None) -> dict[str, str]:
    """Count one request; raise RateLimitedError over the limit. Returns the `RateLimit-*` headers."""
    window, reset = current_window(now)
    with _lock:
        seen_window, count = _windows.get(tenant_id, (window, 0))
        if seen_window != window:
            count = 0
        if count >= limit:
            raise RateLimitedError(
                f"too many requests: the limit is {limit} per minute; retry in {reset} s",
                limit=limit,
                reset_seconds=reset,
            )
        _windows[tenant_id] = (window, count + 1)
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(max(0, limit - count - 1)),
        "RateLimit-Reset": str(reset),
    }


def clear_request_windows() -> None:
    with _lock:
        _windows.clear()
