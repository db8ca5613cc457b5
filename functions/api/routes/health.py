"""Liveness: no auth."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith import __version__
from avatarsmith.models.responses import Health

from .common import json_response, responses

router = APIGatewayHttpRouter()


@router.get(
    "/v1/health",
    summary="Liveness and version",
    tags=["health"],
    responses=responses(Health, authenticated=False),
)
def health() -> Response[str]:
    return json_response(200, {"status": "ok", "version": __version__})
