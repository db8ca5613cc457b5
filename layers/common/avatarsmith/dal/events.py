"""EventBridge: put one job event on the product's bus."""

from __future__ import annotations

import json
from typing import Any

from avatarsmith.errors import StorageError

from .clients import client

# The `source` of every job event the product puts on its bus.
EVENT_SOURCE = "avatarsmith"


class EventPublisher:
    def __init__(self, bus_name: str, source: str = EVENT_SOURCE):
        self.bus_name = bus_name
        self.source = source

    def put(self, detail_type: str, detail: dict[str, Any]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        entry = {
            "EventBusName": self.bus_name,
            "Source": self.source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail, separators=(",", ":")),
        }
        try:
            response = client("events").put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            raise StorageError("could not publish the job event") from exc
        if response.get("FailedEntryCount"):
            code = response["Entries"][0].get("ErrorCode", "unknown")
            raise StorageError(f"the event bus refused the job event ({code})")
