"""Pi compatibility (`/api/v1/...`): generate, poll a job (long-poll, `expand=avatar`), save, list, get.

Thin: the request is mapped by `avatarsmith.compat.pi` onto the native generate request, and the same
logic runs (credits, Idempotency-Key, long-poll, saved avatars); only the answers take Pi's shapes.
"""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.compat import pi
from avatarsmith.logic import avatars as avatar_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.models.api import GenerateAvatarRequest, SaveAvatarRequest

from . import waiting as waiting_routes
from .common import (
    AUTH,
    get_services,
    idempotency_key,
    idempotency_wait,
    json_body,
    json_response,
    parse,
    principal,
    replayable,
    responses,
    run_replayable,
    tenant,
)

router = APIGatewayHttpRouter()
TAGS = ["Pi compatibility"]


@router.post(
    "/api/v1/avatars/generate",
    summary="Queue an avatar generation job (Pi)",
    tags=TAGS,
    security=AUTH,
    responses=responses(
        pi.PiJobAccepted,
        400,
        402,
        409,
        413,
        415,
        422,
        503,
        status=202,
        description="Queued",
        headers=("Idempotent-Replayed",),
    ),
)
def pi_generate(request: Annotated[pi.PiGenerateRequest, Body()]) -> Response[str]:
    caller = principal()
    key = idempotency_key()
    services = get_services()
    result = billing_logic.submit_generation(
        services,
        caller,
        parse(GenerateAvatarRequest, pi.native_body(request)),
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /api/v1/avatars/generate", json_body()),
        present=pi.present_accepted,
        wait_seconds=idempotency_wait(),
    )
    return replayable(result)


@router.get(
    "/api/v1/jobs/<job_id>",
    summary="Read a job (Pi); long-poll with wait_for_completion",
    tags=TAGS,
    security=AUTH,
    responses=responses(pi.PiJob, 400, 404, 422, description="The job"),
)
def pi_get_job(
    job_id: str,
    wait_for_completion: Annotated[str | None, Query(description="true to wait until the job ends")] = None,
    timeout_seconds: Annotated[int | None, Query(ge=0, le=job_logic.MAX_WAIT_SECONDS)] = None,
    expand: Annotated[str | None, Query(description="avatar: include data.avatar.image_url")] = None,
) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    job, headers = waiting_routes.long_poll(services, tenant_id, pi.native_job_id(job_id))
    headers.pop("Preference-Applied", None)
    expanded = {part.strip() for part in (expand or "").split(",") if part.strip()}
    return json_response(200, pi.present_pi_job(job, services, expand=expanded), headers)


@router.post(
    "/api/v1/avatars/save",
    summary="Save a completed avatar (Pi)",
    tags=TAGS,
    security=AUTH,
    responses=responses(
        pi.PiAvatar,
        400,
        404,
        409,
        415,
        422,
        status=201,
        description="Saved",
        headers=("Idempotent-Replayed",),
    ),
)
def pi_save_avatar(request: Annotated[pi.PiSaveRequest, Body()]) -> Response[str]:
    tenant_id = tenant()
    key = idempotency_key()
    services = get_services()
    native = SaveAvatarRequest(job_id=pi.native_job_id(request.job_id), label=request.label)

    def save() -> billing_logic.ApiResult:
        avatar = avatar_logic.save_avatar(services, tenant_id, native)
        payload = json.dumps(pi.present_pi_avatar(avatar, services), separators=(",", ":"))
        return billing_logic.ApiResult(201, payload, {"Location": f"/api/v1/avatars/{avatar.id}"})

    return run_replayable(
        services, tenant_id, key, route="POST /api/v1/avatars/save", body=json_body(), action=save
    )


@router.get(
    "/api/v1/avatars",
    summary="List saved avatars (Pi: limit and offset)",
    tags=TAGS,
    security=AUTH,
    responses=responses(pi.PiAvatarList, 400, 422, description="A page"),
)
def pi_list_avatars(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    page, has_more, total, _ = avatar_logic.list_avatars_by_offset(
        services, tenant_id, limit=limit, offset=offset
    )
    body = pi.PiAvatarList(
        data=[pi.PiAvatar.model_validate(pi.present_pi_avatar(a, services)) for a in page],
        has_more=has_more,
        total=total,
        limit=limit,
        offset=offset,
    )
    return json_response(200, body.model_dump(mode="json"))


@router.get(
    "/api/v1/avatars/<avatar_id>",
    summary="Get a saved avatar (Pi)",
    tags=TAGS,
    security=AUTH,
    responses=responses(pi.PiAvatar, 404, 422, description="The avatar"),
)
def pi_get_avatar(avatar_id: str) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    return json_response(
        200, pi.present_pi_avatar(avatar_logic.get_avatar(services, tenant_id, avatar_id), services)
    )
