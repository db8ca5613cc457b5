"""The caller's account: balance, limits and the recent ledger."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import billing as billing_logic

from .common import get_services, int_query, json_response, tenant

router = APIGatewayHttpRouter()


@router.get("/v1/account")
def get_account() -> Response[str]:
    tenant_id = tenant()
    limit = int_query("limit", 20, low=1, high=100)
    account = billing_logic.account_view(get_services(), tenant_id, ledger_limit=limit)
    return json_response(200, account, {billing_logic.BALANCE_HEADER: str(account["balance"])})
