"""Batches: submit up to 100 generate requests at once, read them, list them, cancel them."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import batches as batch_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic.presenters import present_list
from avatarsmith.models.api import CreateBatchRequest
from avatarsmith.models.responses import Batch, BatchList

from .common import (
    AUTH,
    Cursor,
    IdempotencyKey,
    Limit,
    get_services,
    idempotency_wait,
    json_response,
    principal,
    raw_json_body,
    replayable,
    require_json_media_type,
    responses,
    tenant,
)

router = APIGatewayHttpRouter()

BatchId = Annotated[str, Path(description="The batch's id")]


@router.post(
    "/v1/batches",
    summary="Submit 1-100 generate requests as one batch, paid for atomically",
    tags=["batches"],
    security=AUTH,
    responses=responses(
        Batch,
        400,
        402,
        409,
        415,
        422,
        503,
        status=202,
        description="Accepted",
        headers=("Location", "Idempotent-Replayed"),
    ),
)
def create_batch(
    request: Annotated[CreateBatchRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    caller = principal()
    require_json_media_type()
    key = billing_logic.check_idempotency_key(idempotency_key)
    result = batch_logic.create_batch(
        get_services(),
        caller,
        request,
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /v1/batches", raw_json_body()),
        wait_seconds=idempotency_wait(),
    )
    return replayable(result)


@router.get(
    "/v1/batches/<batch_id>",
    summary="Read a batch with its job counts",
    tags=["batches"],
    security=AUTH,
    responses=responses(Batch, 404),
)
def get_batch(batch_id: BatchId) -> Response[str]:
    tenant_id = tenant()
    batch, jobs = batch_logic.get_batch(get_services(), tenant_id, batch_id)
    return json_response(200, batch_logic.present_batch(batch, jobs))


@router.get(
    "/v1/batches",
    summary="List batches, newest first",
    tags=["batches"],
    security=AUTH,
    responses=responses(BatchList, 400, 422),
)
def list_batches(limit: Limit = 20, cursor: Cursor = None) -> Response[str]:
    tenant_id = tenant()
    page, next_cursor = batch_logic.list_batches(
        get_services(), tenant_id, limit=limit, cursor=cursor or None
    )
    return json_response(
        200, present_list([batch_logic.present_batch(b, jobs) for b, jobs in page], next_cursor=next_cursor)
    )


@router.post(
    "/v1/batches/<batch_id>/cancel",
    summary="Cancel every unfinished job of a batch (their credits are refunded)",
    tags=["batches"],
    security=AUTH,
    responses=responses(Batch, 404, 409),
)
def cancel_batch(batch_id: BatchId) -> Response[str]:
    tenant_id = tenant()
    batch, jobs = batch_logic.cancel_batch(get_services(), tenant_id, batch_id)
    return json_response(200, batch_logic.present_batch(batch, jobs))
