"""Processor: the state machine's tasks (submit, poll, store, mark_completed, mark_failed, and generate:
the first three in one invocation, for the EXPRESS workflow). With `settle`, a poll that finds the images
ready, or a store, also completes the job in the same invocation (the STANDARD workflow).

A raised exception becomes a Lambda error whose type the ASL Retry/Catch match by class name.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from avatarsmith.config import get_processor_settings
from avatarsmith.logic import workflow
from avatarsmith.logic.services import Services
from avatarsmith.models.tasks import (
    GenerateTask,
    MarkCompletedTask,
    MarkFailedTask,
    PollTask,
    ProcessorTask,
    StoreTask,
    SubmitTask,
)
from avatarsmith.observability import logger


@lru_cache(maxsize=1)
def get_services() -> Services:
    settings = get_processor_settings()
    return Services.build(
        table_name=settings.TABLE_NAME,
        bucket_name=settings.IMAGES_BUCKET_NAME,
        allow_loopback_urls=settings.AVATARSMITH_ALLOW_LOOPBACK_URLS,
        event_bus_name=settings.EVENT_BUS_NAME,
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = ProcessorTask.model_validate({"task": event}).task
    logger.append_keys(job_id=task.job_id, action=task.action)
    services = get_services()
    common = {"tenant_id": task.tenant_id, "job_id": task.job_id}
    # EXPRESS runs pass their execution id; the job item keeps a digest of it
    run_id = (
        workflow.run_key(task.run_id)
        if isinstance(task, SubmitTask | MarkCompletedTask | MarkFailedTask)
        else None
    )
    match task:
        case SubmitTask():
            deadline = get_processor_settings().GENERATION_DEADLINE_SECONDS
            return workflow.submit_generation(services, deadline_seconds=deadline, run_id=run_id, **common)
        case GenerateTask():
            deadline = get_processor_settings().GENERATION_DEADLINE_SECONDS
            run = workflow.run_key(task.run_id)
            progress = get_processor_settings().PROGRESS_EVENTS == "all"
            return workflow.generate(
                services, deadline_seconds=deadline, run_id=run, progress_event=progress, **common
            )
        case PollTask():
            return workflow.poll_generation(
                services, generation=task.generation, settle=task.settle, **common
            )
        case StoreTask():
            return workflow.store_images(services, generation=task.generation, settle=task.settle, **common)
        case MarkCompletedTask():
            return workflow.mark_completed(
                services, generation=task.generation, variations=task.variations, run_id=run_id, **common
            )
        case MarkFailedTask():
            return workflow.mark_failed(services, error=task.error, run_id=run_id, **common)
    raise AssertionError("unreachable: the task model is a closed union")
