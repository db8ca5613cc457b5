"""Generation jobs: submit, read (with long-poll), list, cancel."""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic import waiting as waiting_logic
from avatarsmith.logic.presenters import present_job, present_list
from avatarsmith.models.api import GenerateAvatarRequest
from avatarsmith.models.domain import JobStatus
from avatarsmith.models.responses import Job, JobList

from . import waiting as waiting_routes
from .common import (
    AUTH,
    Cursor,
    IdempotencyKey,
    Limit,
    get_services,
    idempotency_wait,
    json_response,
    ok_response,
    principal,
    raw_json_body,
    require_json_media_type,
    responses,
    run_replayable,
    tenant,
)

router = APIGatewayHttpRouter()

JobId = Annotated[str, Path(description="The job's id (job_…)")]


@router.post(
    "/v1/avatars/generate",
    summary="Submit a generation job",
    description="Reserves the credits and queues the job; answers 202 with the job and its Location. "
    "With `Prefer: wait=N` (N up to 60 s) the answer waits for the job: 200 with the finished job when it "
    "ends within N s, else the usual 202; `Preference-Applied: wait=N` says how long it waited at most.",
    tags=["jobs"],
    security=AUTH,
    responses=ok_response(
        Job,
        description="The finished job (completed, failed or canceled), when `Prefer: wait=N` was sent and "
        "it ended within N s",
        headers=("Location", "Preference-Applied", "Idempotent-Replayed"),
    )
    | responses(
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
        headers=("Location", "Preference-Applied", "Idempotent-Replayed"),
    ),
)
def generate_avatar(
    request: Annotated[GenerateAvatarRequest, Body()],
    idempotency_key: IdempotencyKey = None,
    prefer: Annotated[
        str | None,
        Header(alias="Prefer", description="`wait=N` (0-60): 200 with the finished job if it ends in N s"),
    ] = None,
) -> Response[str]:
    caller = principal()
    require_json_media_type()
    key = billing_logic.check_idempotency_key(idempotency_key)
    services = get_services()
    asked_wait = waiting_routes.submit_wait()
    result = billing_logic.submit_generation(
        services,
        caller,
        request,
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /v1/avatars/generate", raw_json_body()),
        present=lambda job: present_job(job, services),
        wait_seconds=idempotency_wait(),
    )
    return waiting_routes.answer_submit(services, caller.tenant_id, result, asked_wait)


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
    services = get_services()
    # long-poll until terminal or timeout (held by the front door or this function: routes/waiting.py)
    waited, headers = waiting_routes.long_poll(services, tenant_id, job_id)
    if waiting_logic.DEFER_HEADER in headers:
        return json_response(200, present_job(waited, services), headers)
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
