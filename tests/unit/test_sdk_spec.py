"""The SDK's response models agree with the API's OpenAPI document (docs/openapi.json, generated from the
code): every property the spec documents is modelled, the SDK invents no field, and a field the SDK
requires is required by the spec (so a valid response can never fail to parse)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from avatarsmith_client.models import SPEC_SCHEMAS, Upload
from pydantic import BaseModel

SPEC = Path(__file__).resolve().parent.parent.parent / "docs" / "openapi.json"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for key in ("allOf",):
        if key in schema:
            merged: dict[str, Any] = {"properties": {}, "required": []}
            for part in schema[key]:
                part = _resolve(part, components)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            return merged
    return schema


def disagreements(model: type[BaseModel], schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    schema = _resolve(schema, components)
    spec_fields = set(schema.get("properties", {}))
    spec_required = set(schema.get("required", []))
    sdk_fields = {f.alias or name for name, f in model.model_fields.items()}
    sdk_required = {f.alias or name for name, f in model.model_fields.items() if f.is_required()}
    problems = [
        f"{model.__name__}: the spec has {name!r}, the SDK does not" for name in spec_fields - sdk_fields
    ]
    problems += [
        f"{model.__name__}: the SDK has {name!r}, the spec does not" for name in sdk_fields - spec_fields
    ]
    problems += [
        f"{model.__name__}: the SDK requires {name!r}, the spec does not"
        for name in sdk_required - spec_required
    ]
    return sorted(problems)


def test_the_comparison_finds_each_kind_of_disagreement() -> None:
    class Thing(BaseModel):
        id: str
        extra_in_sdk: int = 0

    components = {"Thing": {"properties": {"id": {}, "only_in_spec": {}}, "required": []}}
    assert disagreements(Thing, {"$ref": "#/components/schemas/Thing"}, components) == [
        "Thing: the SDK has 'extra_in_sdk', the spec does not",
        "Thing: the SDK requires 'id', the spec does not",
        "Thing: the spec has 'only_in_spec', the SDK does not",
    ]
    agreeing = {"Thing": {"properties": {"id": {}, "extra_in_sdk": {}}, "required": ["id"]}}
    assert disagreements(Thing, agreeing["Thing"], agreeing) == []


def test_sdk_models_agree_with_the_openapi_document() -> None:
    if not SPEC.is_file():
        pytest.skip("docs/openapi.json is not in this checkout yet: nothing to compare the SDK models with")
    spec = json.loads(SPEC.read_text())
    components = spec.get("components", {}).get("schemas", {})
    problems: list[str] = []
    for model, names in SPEC_SCHEMAS.items():
        if model is Upload and "/v1/uploads" not in spec.get("paths", {}):
            continue  # a server without uploads: the SDK falls back to inline images
        name = next((n for n in names if n in components), None)
        if name is None:
            problems.append(f"{model.__name__}: none of {names} in the spec's component schemas")
            continue
        problems += disagreements(model, components[name], components)
    assert problems == [], "\n".join(problems)
