"""The community gallery: any valid key may browse what tenants published, newest first."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import community as community_logic
from avatarsmith.logic.presenters import present_list

from .common import get_services, int_query, json_response, query, tenant

router = APIGatewayHttpRouter()


@router.get("/v1/community")
def list_community() -> Response[str]:
    tenant()  # any valid key (and its rate limit); the gallery is the same for every tenant
    services = get_services()
    limit = int_query("limit", 20, low=1, high=100)
    entries, next_cursor = community_logic.list_community(
        services, limit=limit, cursor=query("cursor") or None
    )
    return json_response(
        200,
        present_list([community_logic.present_entry(e, services) for e in entries], next_cursor=next_cursor),
    )
