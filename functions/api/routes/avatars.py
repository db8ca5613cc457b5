"""Saved avatars: save a job's image, list (cursor or Pi's limit/offset), read one."""

from __future__ import annotations

import json
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.errors import InvalidRequestError
from avatarsmith.logic import avatars as avatar_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic import jobs as job_logic
from avatarsmith.logic.presenters import present_avatar, present_job, present_list
from avatarsmith.models.api import SaveAvatarRequest, UpdateAvatarRequest
from avatarsmith.models.responses import Avatar, AvatarList, DeletedAvatar

from .common import (
    AUTH,
    Cursor,
    IdempotencyKey,
    Limit,
    get_services,
    json_response,
    raw_json_body,
    require_json_media_type,
    responses,
    run_replayable,
    tenant,
)

router = APIGatewayHttpRouter()


@router.post(
    "/v1/avatars/save",
    summary="Save one image of a completed job as an avatar",
    tags=["avatars"],
    security=AUTH,
    responses=responses(
        Avatar,
        400,
        404,
        409,
        415,
        422,
        status=201,
        description="Created",
        headers=("Location", "Idempotent-Replayed"),
    ),
)
def save_avatar(
    request: Annotated[SaveAvatarRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    tenant_id = tenant()
    require_json_media_type()
    key = billing_logic.check_idempotency_key(idempotency_key)
    services = get_services()

    def save() -> billing_logic.ApiResult:
        avatar = avatar_logic.save_avatar(services, tenant_id, request)
        payload = json.dumps(present_avatar(avatar, services), separators=(",", ":"))
        return billing_logic.ApiResult(201, payload, {"Location": f"/v1/avatars/{avatar.id}"})

    return run_replayable(
        services, tenant_id, key, route="POST /v1/avatars/save", body=raw_json_body(), action=save
    )


@router.get(
    "/v1/avatars",
    summary="List saved avatars, newest first (cursor, or limit/offset)",
    tags=["avatars"],
    security=AUTH,
    responses=responses(AvatarList, 400, 422),
)
def list_avatars(
    limit: Limit = 20,
    cursor: Cursor = None,
    offset: Annotated[
        int | None, Query(ge=0, le=100_000, description="Skip this many (not with cursor)")
    ] = None,
) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    if cursor:
        if offset:
            raise InvalidRequestError("send either cursor or offset, not both", param="offset")
        page, next_cursor = avatar_logic.list_avatars_by_cursor(
            services, tenant_id, limit=limit, cursor=cursor
        )
        return json_response(
            200,
            present_list([present_avatar(a, services) for a in page], next_cursor=next_cursor, limit=limit),
        )
    offset = offset or 0
    page, has_more, total, next_cursor = avatar_logic.list_avatars_by_offset(
        services, tenant_id, limit=limit, offset=offset
    )
    return json_response(
        200,
        present_list(
            [present_avatar(a, services) for a in page],
            next_cursor=next_cursor,
            has_more=has_more,
            total=total,
            limit=limit,
            offset=offset,
        ),
    )


@router.get(
    "/v1/avatars/<avatar_id>",
    summary="Read a saved avatar (or, given the id a generate call returned, that generation)",
    description="Percify's Get Avatar takes the generation's id: `job_...` answers the job itself (its "
    "status, image_url, thumbnail_url, credits_used...), as GET /v1/jobs/{job_id} does.",
    tags=["avatars"],
    security=AUTH,
    responses=responses(Avatar, 404),
)
def get_avatar(
    avatar_id: Annotated[str, Path(description="The avatar's id, or a generation's (job) id")],
) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    if avatar_id.startswith(avatar_logic.GENERATION_PREFIX):
        return json_response(200, present_job(job_logic.get_job(services, tenant_id, avatar_id), services))
    return json_response(
        200, present_avatar(avatar_logic.get_avatar(services, tenant_id, avatar_id), services)
    )


# --- lifecycle: rename, delete, publish to / unpublish from the community gallery -------------------
AvatarId = Annotated[str, Path(description="The avatar's id")]
PublishableId = Annotated[
    str, Path(description="The avatar's id, or a generation's (job) id: its first image, saved on first use")
]


@router.patch(
    "/v1/avatars/<avatar_id>",
    summary="Rename a saved avatar (label null removes it)",
    tags=["avatars"],
    security=AUTH,
    responses=responses(Avatar, 400, 404, 415, 422),
)
def update_avatar(avatar_id: AvatarId, request: Annotated[UpdateAvatarRequest, Body()]) -> Response[str]:
    tenant_id = tenant()
    require_json_media_type()
    services = get_services()
    avatar = avatar_logic.rename_avatar(services, tenant_id, avatar_id, request.label)
    return json_response(200, present_avatar(avatar, services))


@router.delete(
    "/v1/avatars/<avatar_id>",
    summary="Delete a saved avatar with its kept image copy (and its community entry)",
    tags=["avatars"],
    security=AUTH,
    responses=responses(DeletedAvatar, 404),
)
def delete_avatar(avatar_id: AvatarId) -> Response[str]:
    tenant_id = tenant()
    avatar_logic.delete_avatar(get_services(), tenant_id, avatar_id)
    return json_response(200, {"id": avatar_id, "object": "avatar", "deleted": True})


@router.post(
    "/v1/avatars/<avatar_id>/publish",
    summary="Share a saved avatar in the community gallery",
    tags=["avatars"],
    security=AUTH,
    responses=responses(Avatar, 404, 409),
)
def publish_avatar(avatar_id: PublishableId) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    avatar = avatar_logic.publish_avatar(services, tenant_id, avatar_id)
    return json_response(200, present_avatar(avatar, services))


@router.post(
    "/v1/avatars/<avatar_id>/unpublish",
    summary="Remove a saved avatar from the community gallery",
    tags=["avatars"],
    security=AUTH,
    responses=responses(Avatar, 404, 409),
)
def unpublish_avatar(avatar_id: PublishableId) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    avatar = avatar_logic.unpublish_avatar(services, tenant_id, avatar_id)
    return json_response(200, present_avatar(avatar, services))
