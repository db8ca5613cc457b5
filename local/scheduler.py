"""Run the template's Schedule events locally: the function is invoked through the same registry the
pollers and the state machine use, with an EventBridge scheduled event, every period."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from .lambda_adapter import REGISTRY

log = logging.getLogger("avatarsmith.local.scheduler")


def scheduled_event(rule_name: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{rule_name}"],
        "detail": {},
        **extra,
    }


class Schedule:
    def __init__(self, function_name: str, period_seconds: float, *, first_run: dict[str, Any] | None = None):
        self.function_name = function_name
        self.period_seconds = period_seconds
        self.first_run = first_run  # extra event fields of an immediate first run (None: wait a period)
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"schedule-{function_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def invoke(self, **extra: Any) -> Any:
        self.runs += 1
        return REGISTRY.invoke(self.function_name, scheduled_event(self.function_name, **extra))

    def _run(self) -> None:
        if self.first_run is not None:
            self._tick(self.first_run)
        while not self._stop.wait(self.period_seconds):
            self._tick({})

    def _tick(self, extra: dict[str, Any]) -> None:
        try:
            self.invoke(**extra)
        except Exception:  # a failed run is retried on the next tick, as EventBridge would
            log.exception("scheduled run of %s failed", self.function_name)
