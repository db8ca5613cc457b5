"""The style presets and the model catalog."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from avatarsmith import catalog
from avatarsmith.config import get_api_settings
from avatarsmith.logic.presenters import present_list
from avatarsmith.models.responses import ModelList, StyleList

from .common import AUTH, json_response, responses, tenant

router = APIGatewayHttpRouter()


@router.get(
    "/v1/styles", summary="The style presets", tags=["catalog"], security=AUTH, responses=responses(StyleList)
)
def list_styles() -> Response[str]:
    tenant()
    data = [
        {"id": s.id, "object": "style", "name": s.name, "title": s.title, "description": s.description}
        for s in catalog.STYLES
    ]
    return json_response(200, present_list(data, next_cursor=None))


@router.get(
    "/v1/models",
    summary="The models this deployment can run",
    tags=["catalog"],
    security=AUTH,
    responses=responses(ModelList),
)
def list_models() -> Response[str]:
    tenant()
    models = catalog.available_models(include_test=get_api_settings().AVATARSMITH_ENABLE_TEST_BACKENDS)
    data = [
        {
            "id": m.id,
            "object": "model",
            "description": m.description,
            "backend": m.backend,
            "credits_per_variation": m.credits_per_variation,
            "capabilities": sorted(m.capabilities),
            "max_prompt_chars": m.max_prompt_chars,
            "default": m.id == catalog.DEFAULT_MODEL,
            "fallback": m.fallback,
            "served_by": m.backend,
            **({"fallback_note": _fallback_note(m)} if m.fallback else {}),
        }
        for m in models
    ]
    version = models[0].catalog_version if models else None
    return json_response(200, present_list(data, next_cursor=None, catalog_version=version))


def _fallback_note(model: catalog.ModelEntry) -> str:
    return (
        f"none of {model.id}'s own backends is configured in this deployment: the {model.backend} "
        f"renderer draws it, at {model.credits_per_variation} credit(s) per variation "
        f"(the {catalog.DEFAULT_MODEL} price)"
    )
