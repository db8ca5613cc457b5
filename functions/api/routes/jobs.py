"""Generation jobs: submit, read (with long-poll), list, cancel."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.errors import InvalidRequestError
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic.presenters import present_job, present_list
from avatarsmith.models.api import GenerateAvatarRequest
from avatarsmith.models.domain import JobStatus

from .common import (
    get_services,
    idempotency_key,
    idempotency_wait,
    int_query,
    json_body,
    json_response,
    parse,
    principal,
    query,
    replayable,
    requested_wait,
    tenant,
    time_left,
)

router = APIGatewayHttpRouter()


@router.post("/v1/avatars/generate")
def generate_avatar() -> Response[str]:
    caller = principal()
    key = idempotency_key()
    body = json_body()
    request = parse(GenerateAvatarRequest, body)
    services = get_services()
    result = billing_logic.submit_generation(
        services,
        caller,
        request,
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /v1/avatars/generate", body),
        present=lambda job: present_job(job, services),
        wait_seconds=idempotency_wait(),
    )
    return replayable(result)


@router.get("/v1/jobs/<job_id>")
def get_job(job_id: str) -> Response[str]:
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


@router.get("/v1/jobs")
def list_jobs() -> Response[str]:
    tenant_id = tenant()
    status_value = query("status")
    try:
        status = JobStatus(status_value) if status_value else None
    except ValueError as exc:
        raise InvalidRequestError(
            f"status must be one of {', '.join(s.value for s in JobStatus)}", param="status"
        ) from exc
    client_reference_id = query("client_reference_id") or None
    if client_reference_id and len(client_reference_id) > 200:
        raise InvalidRequestError(
            "client_reference_id is at most 200 characters", param="client_reference_id"
        )
    services = get_services()
    jobs, next_cursor = job_logic.list_jobs(
        services,
        tenant_id,
        limit=int_query("limit", 20, low=1, high=100),
        cursor=query("cursor") or None,
        status=status,
        client_reference_id=client_reference_id,
    )
    return json_response(200, present_list([present_job(j, services) for j in jobs], next_cursor=next_cursor))


@router.post("/v1/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Response[str]:
    tenant_id = tenant()
    key = idempotency_key()
    services = get_services()

    def cancel() -> billing_logic.ApiResult:
        job = billing_logic.cancel_job(services, tenant_id, job_id)
        return billing_logic.ApiResult(200, json.dumps(present_job(job, services), separators=(",", ":")))

    return replayable(
        billing_logic.run_idempotent(
            services,
            tenant_id,
            idempotency_key=key,
            fingerprint=billing_logic.request_fingerprint(f"POST /v1/jobs/{job_id}/cancel", None),
            action=cancel,
            wait_seconds=idempotency_wait(),
        )
    )


@router.delete("/v1/jobs/<job_id>")
def delete_job(job_id: str) -> Response[str]:
    """Erase a finished job's images, thumbnails and reference photos (saved avatars keep their copies)."""
    from avatarsmith.logic.job_end import erase_job

    tenant_id = tenant()
    services = get_services()
    return json_response(200, present_job(erase_job(services, tenant_id, job_id), services))
