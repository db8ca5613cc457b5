"""KonPro compatibility: POST /v1/photo_avatar/photo/generate (x-api-key or Bearer).

Thin: `avatarsmith.compat.konpro` maps KonPro's body (same field names, `appearance` at most 1000
characters) onto the native generate request; the native logic runs (credits, Idempotency-Key when sent,
callbacks with `callback_id`); the answer is KonPro's `{"job_id", "status", "message"}`.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith.compat import konpro
from avatarsmith.logic import billing as billing_logic
from avatarsmith.models.api import GenerateAvatarRequest

from .bodies import answer_invalid_values_with_400
from .common import (
    AUTH,
    get_services,
    idempotency_key,
    idempotency_wait,
    json_body,
    parse,
    principal,
    replayable,
    responses,
)

router = APIGatewayHttpRouter()
ROUTE = "/v1/photo_avatar/photo/generate"
answer_invalid_values_with_400("POST", ROUTE)  # KonPro documents 400 Bad Request for invalid parameters


@router.post(
    ROUTE,
    summary="Generate photo avatar images (KonPro)",
    tags=["KonPro compatibility"],
    security=AUTH,
    responses=responses(konpro.KonProStarted, 400, 402, 409, 413, 415, 503, description="Started"),
)
def konpro_generate(request: Annotated[konpro.KonProGenerateRequest, Body()]) -> Response[str]:
    caller = principal()
    key = idempotency_key()
    services = get_services()
    result = billing_logic.submit_generation(
        services,
        caller,
        parse(GenerateAvatarRequest, konpro.native_body(request)),
        idempotency_key=key,
        fingerprint=billing_logic.request_fingerprint(f"POST {ROUTE}", json_body()),
        present=konpro.present_started,
        wait_seconds=idempotency_wait(),
        status_code=200,
    )
    return replayable(result)
