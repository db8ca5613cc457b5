"""Saved avatars: save a job's image, list (cursor or Pi's limit/offset), read one."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.errors import InvalidRequestError
from avatarsmith.logic import avatars as avatar_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic.presenters import present_avatar, present_list
from avatarsmith.models.api import SaveAvatarRequest, UpdateAvatarRequest

from .common import (
    get_services,
    idempotency_key,
    idempotency_wait,
    int_query,
    json_body,
    json_response,
    parse,
    query,
    replayable,
    tenant,
)

router = APIGatewayHttpRouter()


@router.post("/v1/avatars/save")
def save_avatar() -> Response[str]:
    tenant_id = tenant()
    key = idempotency_key()
    body = json_body()
    request = parse(SaveAvatarRequest, body)
    services = get_services()

    def save() -> billing_logic.ApiResult:
        avatar = avatar_logic.save_avatar(services, tenant_id, request)
        payload = json.dumps(present_avatar(avatar, services), separators=(",", ":"))
        return billing_logic.ApiResult(201, payload, {"Location": f"/v1/avatars/{avatar.id}"})

    return replayable(
        billing_logic.run_idempotent(
            services,
            tenant_id,
            idempotency_key=key,
            fingerprint=billing_logic.request_fingerprint("POST /v1/avatars/save", body),
            action=save,
            wait_seconds=idempotency_wait(),
        )
    )


@router.get("/v1/avatars")
def list_avatars() -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    limit = int_query("limit", 20, low=1, high=100)
    cursor = query("cursor") or None
    if cursor:
        if query("offset"):
            raise InvalidRequestError("send either cursor or offset, not both", param="offset")
        page, next_cursor = avatar_logic.list_avatars_by_cursor(
            services, tenant_id, limit=limit, cursor=cursor
        )
        return json_response(
            200,
            present_list([present_avatar(a, services) for a in page], next_cursor=next_cursor, limit=limit),
        )
    offset = int_query("offset", 0, low=0, high=100_000)
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


@router.get("/v1/avatars/<avatar_id>")
def get_avatar(avatar_id: str) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    return json_response(
        200, present_avatar(avatar_logic.get_avatar(services, tenant_id, avatar_id), services)
    )


# --- lifecycle: rename, delete, publish to / unpublish from the community gallery -------------------
@router.patch("/v1/avatars/<avatar_id>")
def update_avatar(avatar_id: str) -> Response[str]:
    tenant_id = tenant()
    request = parse(UpdateAvatarRequest, json_body())
    services = get_services()
    avatar = avatar_logic.rename_avatar(services, tenant_id, avatar_id, request.label)
    return json_response(200, present_avatar(avatar, services))


@router.delete("/v1/avatars/<avatar_id>")
def delete_avatar(avatar_id: str) -> Response[str]:
    tenant_id = tenant()
    avatar_logic.delete_avatar(get_services(), tenant_id, avatar_id)
    return json_response(200, {"id": avatar_id, "object": "avatar", "deleted": True})


@router.post("/v1/avatars/<avatar_id>/publish")
def publish_avatar(avatar_id: str) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    avatar = avatar_logic.publish_avatar(services, tenant_id, avatar_id)
    return json_response(200, present_avatar(avatar, services))


@router.post("/v1/avatars/<avatar_id>/unpublish")
def unpublish_avatar(avatar_id: str) -> Response[str]:
    tenant_id = tenant()
    services = get_services()
    avatar = avatar_logic.unpublish_avatar(services, tenant_id, avatar_id)
    return json_response(200, present_avatar(avatar, services))
