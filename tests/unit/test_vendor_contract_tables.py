"""The hosted vendors' contract tables (backends/contracts/*.json) are sourced and cover the catalog: every
fact names where it was read, every catalog route on these vendors has its model's table, and every
capability a route claims maps to a field the vendor's table lists (a claim no field can honour is a lie)."""

from __future__ import annotations

from typing import Any

import pytest

from avatarsmith import catalog
from avatarsmith.backends.contracts import load_contract, model_contract

VENDORS = ["openai", "replicate", "fal", "bfl"]
# capability -> the vendor fields any one of which honours it
CLAIMS = {
    "seed": ("seed",),
    "negative_prompt": ("negative_prompt",),
    "guidance_scale": ("guidance", "guidance_scale"),
}


def facts(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every dict in the table that states a fact (has a type, value, policy, status or field)."""
    out = []
    if isinstance(node, dict):
        markers = ("type", "value", "policy", "status", "field", "header", "method")
        if any(k in node and not isinstance(node[k], dict) for k in markers):
            out.append((path, node))
        for key, child in node.items():
            if key not in ("value", "size_object", "body") and isinstance(child, dict):
                out += facts(child, f"{path}.{key}")
    return out


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_fact_names_its_source(vendor: str) -> None:
    table = load_contract(vendor)
    stated = facts(table)
    assert len(stated) > 20
    missing = [path for path, fact in stated if not str(fact.get("source", "")).strip()]
    assert missing == [], f"{vendor}: facts without a source: {missing}"


def test_every_hosted_route_has_a_table_and_claims_only_what_its_fields_honour() -> None:
    routes = [
        (model["id"], route)
        for model in catalog.load_catalog().models
        for route in model["routes"]
        if route["backend"] in VENDORS
    ]
    assert len(routes) >= 8
    for model_id, route in routes:
        table = model_contract(route["backend"], route["backend_model"])
        assert table is not None, f"{model_id} on {route['backend']}: no contract table"
        for claim in route["capabilities"]:
            if claim in CLAIMS:
                assert any(f in table["fields"] for f in CLAIMS[claim]), (
                    f"{model_id}/{route['backend']}: {claim}"
                )
            if claim == "reference_images":
                assert table.get("references"), f"{model_id}/{route['backend']} claims reference images"
