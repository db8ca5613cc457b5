"""Dispatcher: SQS batch -> one Step Functions execution per job (named after the job id).

Jobs on synchronous backends run on the EXPRESS workflow, the others on the STANDARD one. The `queued` event
is published for jobs on asynchronous backends, and for every job with PROGRESS_EVENTS=all.

Reports partial batch failures: only the messages that failed come back; poison messages reach the DLQ.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from avatarsmith.catalog import SYNCHRONOUS_BACKENDS
from avatarsmith.config import get_dispatcher_settings
from avatarsmith.dal.events import EventPublisher
from avatarsmith.dal.executions import ExecutionStarter
from avatarsmith.logic.events import EVENT_SOURCE, detail_type_for, queued_event_detail
from avatarsmith.models.tasks import GenerationMessage
from avatarsmith.observability import logger

processor = BatchProcessor(event_type=EventType.SQS)


def start_job(record: SQSRecord) -> None:
    message = GenerationMessage.model_validate(json.loads(record.body))
    settings = get_dispatcher_settings()
    # `queued` goes on the bus before the execution starts, so it precedes `processing`. A retried
    # message publishes it again; subscribers dedupe on job id + status (the notifier does).
    detail = queued_event_detail(
        job_id=message.job_id,
        tenant_id=message.tenant_id,
        model=message.model,
        credits_reserved=message.credits_reserved,
        created_at=message.created_at,
        metadata=message.metadata,
    )
    express = message.backend in SYNCHRONOUS_BACKENDS
    if not express or settings.PROGRESS_EVENTS == "all":
        EventPublisher(settings.EVENT_BUS_NAME, EVENT_SOURCE).put(detail_type_for("queued"), detail)
    starter = ExecutionStarter(settings.EXPRESS_STATE_MACHINE_ARN if express else settings.STATE_MACHINE_ARN)
    started = starter.start(job_id=message.job_id, tenant_id=message.tenant_id)
    logger.info(
        "execution started" if started else "execution already existed", extra={"job_id": message.job_id}
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=start_job, processor=processor, context=context
    )
