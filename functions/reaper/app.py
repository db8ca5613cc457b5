"""Reaper: on a schedule, re-drive or fail (`stalled`, refunded) jobs that stopped moving.

The event may carry `queued_grace_seconds` (the local stack sends 0 once at start: after a crash no
message is in any queue and no execution exists, so every queued job is re-driven at once).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from avatarsmith.config import get_reaper_settings
from avatarsmith.dal.billing import BillingRepository
from avatarsmith.dal.events import EventPublisher
from avatarsmith.dal.executions import ExecutionInspector
from avatarsmith.dal.queue import GenerationQueue
from avatarsmith.dal.table import Table
from avatarsmith.logic.events import EVENT_SOURCE
from avatarsmith.logic.reaper import Reaper, ReaperPolicy
from avatarsmith.observability import logger


@lru_cache(maxsize=1)
def get_services() -> Reaper:
    settings = get_reaper_settings()
    table = Table(settings.TABLE_NAME)
    return Reaper(
        table=table,
        billing=BillingRepository(table),
        queue=GenerationQueue(settings.GENERATION_QUEUE_URL),
        events=EventPublisher(settings.EVENT_BUS_NAME, EVENT_SOURCE),
        executions=ExecutionInspector(),
        state_machine_arn=settings.STATE_MACHINE_ARN,
        policy=ReaperPolicy(
            deadline_seconds=settings.GENERATION_DEADLINE_SECONDS,
            margin_seconds=settings.REAPER_MARGIN_SECONDS,
            queued_grace_seconds=settings.REAPER_QUEUED_GRACE_SECONDS,
            max_redrives=settings.REAPER_MAX_REDRIVES,
        ),
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    grace = event.get("queued_grace_seconds") if isinstance(event, dict) else None
    report = get_services().sweep(queued_grace_seconds=int(grace) if grace is not None else None)
    logger.info(
        "reaper sweep",
        extra={
            "checked": report["checked"],
            "redriven": len(report["redriven"]),
            "failed": len(report["failed"]),
            "errors": report["errors"],
        },
    )
    return report
