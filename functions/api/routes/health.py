"""Liveness: no auth."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith import __version__

from .common import json_response

router = APIGatewayHttpRouter()


@router.get("/v1/health")
def health() -> Response[str]:
    return json_response(200, {"status": "ok", "version": __version__})
