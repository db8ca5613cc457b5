"""Time in one place (ISO 8601 UTC with milliseconds), so tests can reason about it."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_of(iso: str) -> float:
    """Seconds since the epoch of an ISO 8601 time written by `now_iso`."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def iso_at(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
