"""The community gallery: any valid key may browse what tenants published, newest first."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import community as community_logic
from avatarsmith.logic.presenters import present_list
from avatarsmith.models.responses import CommunityAvatarList

from .common import AUTH, Cursor, Limit, get_services, json_response, responses, tenant

router = APIGatewayHttpRouter()


@router.get(
    "/v1/community",
    summary="The community gallery, newest first (any valid key)",
    tags=["community"],
    security=AUTH,
    responses=responses(CommunityAvatarList, 400, 422),
)
def list_community(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    tenant()  # any valid key (and its rate limit); the gallery is the same for every tenant
    services = get_services()
    entries, next_cursor = community_logic.list_community(services, limit=limit, cursor=cursor or None)
    return json_response(
        200,
        present_list([community_logic.present_entry(e, services) for e in entries], next_cursor=next_cursor),
    )
