"""Batches: submit up to 100 generate requests at once, read them, list them, cancel them."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import batches as batch_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic.presenters import present_list
from avatarsmith.models.api import CreateBatchRequest

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
    tenant,
)

router = APIGatewayHttpRouter()


@router.post("/v1/batches")
def create_batch() -> Response[str]:
    caller = principal()
    key = idempotency_key()
    body = json_body()
    request = parse(CreateBatchRequest, body)
    result = batch_logic.create_batch(
        get_services(),
        caller,
        request,
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /v1/batches", body),
        wait_seconds=idempotency_wait(),
    )
    return replayable(result)


@router.get("/v1/batches/<batch_id>")
def get_batch(batch_id: str) -> Response[str]:
    tenant_id = tenant()
    batch, jobs = batch_logic.get_batch(get_services(), tenant_id, batch_id)
    return json_response(200, batch_logic.present_batch(batch, jobs))


@router.get("/v1/batches")
def list_batches() -> Response[str]:
    tenant_id = tenant()
    limit = int_query("limit", 20, low=1, high=100)
    page, next_cursor = batch_logic.list_batches(
        get_services(), tenant_id, limit=limit, cursor=query("cursor") or None
    )
    return json_response(
        200, present_list([batch_logic.present_batch(b, jobs) for b, jobs in page], next_cursor=next_cursor)
    )


@router.post("/v1/batches/<batch_id>/cancel")
def cancel_batch(batch_id: str) -> Response[str]:
    tenant_id = tenant()
    batch, jobs = batch_logic.cancel_batch(get_services(), tenant_id, batch_id)
    return json_response(200, batch_logic.present_batch(batch, jobs))
