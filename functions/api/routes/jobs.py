"""Generation jobs: submit, read (with long-poll), list, cancel."""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic.presenters import present_job, present_list
from avatarsmith.models.api import GenerateAvatarRequest
from avatarsmith.models.domain import JobStatus
from avatarsmith.models.responses import Job, JobList

from .common import (
    AUTH,
    Cursor,
    IdempotencyKey,
    Limit,
    get_services,
    idempotency_wait,
    json_response,
    principal,
    raw_json_body,
    replayable,
    requested_wait,
    require_json_media_type,
    responses,
    run_replayable,
    tenant,
    time_left,
)

router = APIGatewayHttpRouter()

JobId = Annotated[str, Path(description="The job's id (job_…)")]


@router.post(
    "/v1/avatars/generate",
    summary="Submit a generation job",
    description="Reserves the credits and queues the job; answers 202 with the job and its Location.",
    tags=["jobs"],
    security=AUTH,
    responses=responses(
        Job,
        400,
        402,
        409,
        413,
        415,
        422,
        503,
        status=202,
        description="Accepted: the queued job",
        headers=("Location", "Idempotent-Replayed"),
    ),
)
def generate_avatar(
    request: Annotated[GenerateAvatarRequest, Body()],
    idempotency_key: IdempotencyKey = None,
) -> Response[str]:
    caller = principal()
    require_json_media_type()
    key = billing_logic.check_idempotency_key(idempotency_key)
    services = get_services()
    result = billing_logic.submit_generation(
        services,
        caller,
        request,
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /v1/avatars/generate", raw_json_body()),
        present=lambda job: present_job(job, services),
        wait_seconds=idempotency_wait(),
    )
    return replayable(result)


@router.get(
    "/v1/jobs/<job_id>",
    summary="Read a job (optionally waiting for it to finish)",
    tags=["jobs"],
    security=AUTH,
    responses=responses(Job, 400, 404, 422, 503, headers=("X-Credits-Balance", "Preference-Applied")),
)
def get_job(
    job_id: JobId,
    wait_for_completion: Annotated[
        bool | None, Query(description="Hold the request until the job is terminal or timeout_seconds pass")
    ] = None,
    timeout_seconds: Annotated[
        int | None, Query(ge=0, le=job_logic.MAX_WAIT_SECONDS, description="Long-poll limit (0-30 s)")
    ] = None,
    prefer: Annotated[str | None, Header(alias="Prefer", description="`wait=N`: long-poll up to N s")] = None,
) -> Response[str]:
    tenant_id = tenant()
    wait, applied = requested_wait()
    services = get_services()
    headers = {"Preference-Applied": applied} if applied else {}
    if wait:  # long-poll until terminal or timeout; the final read below also brings the balance
        job_logic.wait_for_job(services, tenant_id, job_id, timeout_seconds=min(wait, time_left()))
    job, balance = billing_logic.get_job_with_balance(services, tenant_id, job_id)  # one BatchGetItem
    if balance is not None:
        headers[billing_logic.BALANCE_HEADER] = str(balance)
    return json_response(200, present_job(job, services), headers)


@router.get(
    "/v1/jobs",
    summary="List jobs, newest first",
    tags=["jobs"],
    security=AUTH,
    responses=responses(JobList, 400, 422),
)
def list_jobs(
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status")] = None,
    client_reference_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    jobs, next_cursor = job_logic.list_jobs(
        services,
        tenant_id,
        limit=limit,
        cursor=cursor or None,
        status=status,
        client_reference_id=client_reference_id or None,
    )
    return json_response(200, present_list([present_job(j, services) for j in jobs], next_cursor=next_cursor))


@router.post(
    "/v1/jobs/<job_id>/cancel",
    summary="Cancel a queued or running job (its reserved credits are refunded)",
    tags=["jobs"],
    security=AUTH,
    responses=responses(Job, 400, 404, 409, 422, headers=("Idempotent-Replayed",)),
)
def cancel_job(job_id: JobId, idempotency_key: IdempotencyKey = None) -> Response[str]:
    tenant_id = tenant()
    key = billing_logic.check_idempotency_key(idempotency_key)
    services = get_services()

    def cancel() -> billing_logic.ApiResult:
        job = billing_logic.cancel_job(services, tenant_id, job_id)
        return billing_logic.ApiResult(200, json.dumps(present_job(job, services), separators=(",", ":")))

    return run_replayable(
        services, tenant_id, key, route=f"POST /v1/jobs/{job_id}/cancel", body=None, action=cancel
    )


@router.delete(
    "/v1/jobs/<job_id>",
    summary="Erase a finished job's images, thumbnails and reference photos (the record stays)",
    tags=["jobs"],
    security=AUTH,
    responses=responses(Job, 404, 409),
)
def delete_job(job_id: JobId) -> Response[str]:
    """Erase a finished job's images, thumbnails and reference photos (saved avatars keep their copies)."""
    from avatarsmith.logic.job_end import erase_job

    tenant_id = tenant()
    services = get_services()
    return json_response(200, present_job(erase_job(services, tenant_id, job_id), services))
