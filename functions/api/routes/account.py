"""The caller's account: balance, limits and the recent ledger."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import billing as billing_logic
from avatarsmith.models.responses import Account

from .common import AUTH, Limit, get_services, json_response, responses, tenant

router = APIGatewayHttpRouter()


@router.get(
    "/v1/account",
    summary="Balance, limits and the most recent ledger entries",
    tags=["account"],
    security=AUTH,
    responses=responses(Account, 422, headers=("X-Credits-Balance",)),
)
def get_account(limit: Limit = 20) -> Response[str]:
    tenant_id = tenant()
    account = billing_logic.account_view(get_services(), tenant_id, ledger_limit=limit)
    return json_response(200, account, {billing_logic.BALANCE_HEADER: str(account["balance"])})
