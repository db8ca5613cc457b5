"""Batches: submit up to 100 generate requests at once, read them, list them, cancel them."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.logic import batches as batch_logic
from avatarsmith.logic import billing as billing_logic
from avatarsmith.logic.presenters import present_list
from avatarsmith.models.api import CreateBatchRequest
from avatarsmith.models.responses import Batch, BatchList

from . import waiting as waiting_routes
from .common import (
    AUTH,
    Cursor,
    IdempotencyKey,
    Limit,
    get_services,
    idempotency_wait,
    json_response,
    ok_response,
    principal,
    raw_json_body,
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
    description="With `Prefer: wait=N` (N up to 60 s) the answer waits for the batch: 200 with it when "
    "every job of it ends within N s, else the usual 202.",
    responses=ok_response(
        Batch,
        description="The finished batch, when `Prefer: wait=N` was sent and every job ended within N s",
        headers=("Location", "Preference-Applied", "Idempotent-Replayed"),
    )
    | responses(
        Batch,
        400,
        402,
        409,
        415,
        422,
        503,
        status=202,
        description="Accepted",
        headers=("Location", "Preference-Applied", "Idempotent-Replayed"),
    ),
)
def create_batch(
    request: Annotated[CreateBatchRequest, Body()],
    idempotency_key: IdempotencyKey = None,
    prefer: Annotated[
        str | None,
        Header(alias="Prefer", description="`wait=N` (0-60): 200 with the batch if its jobs end in N s"),
    ] = None,
) -> Response[str]:
    caller = principal()
    require_json_media_type()
    key = billing_logic.check_idempotency_key(idempotency_key)
    services = get_services()
    asked_wait = waiting_routes.submit_wait()
    result = batch_logic.create_batch(
        services,
        caller,
        request,
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint("POST /v1/batches", raw_json_body()),
        wait_seconds=idempotency_wait(),
    )
    return waiting_routes.answer_batch_submit(services, caller.tenant_id, result, asked_wait)


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
