"""The Bedrock, ComfyUI and AUTOMATIC1111 contract tables are sourced and cover the catalog: every fact
names where it was read, every catalog route on these backends has its model's table (and a Bedrock route
a region that offers the model), and every capability a route claims maps to a field of the table."""

from __future__ import annotations

import pytest

from avatarsmith import catalog
from avatarsmith.backends.contracts import load_contract, model_contract
from tests.unit.test_vendor_contract_tables import facts

VENDORS = ["bedrock", "comfyui", "automatic1111"]
CLAIMS = {
    "seed": ("seed",),
    "negative_prompt": ("negativeText", "negative_prompt"),
    "guidance_scale": ("cfgScale", "cfg_scale", "cfg"),
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_fact_names_its_source(vendor: str) -> None:
    stated = facts(load_contract(vendor))
    assert len(stated) > 12
    missing = [path for path, fact in stated if not str(fact.get("source", "")).strip()]
    assert missing == [], f"{vendor}: facts without a source: {missing}"


def test_every_route_has_a_table_its_region_and_fields_for_its_claims() -> None:
    routes = [
        (model["id"], route)
        for model in catalog.load_catalog().models
        for route in model["routes"]
        if route["backend"] in VENDORS
    ]
    assert len(routes) >= 6
    for model_id, route in routes:
        table = model_contract(route["backend"], route["backend_model"])
        assert table is not None, f"{model_id} on {route['backend']}: no contract table"
        if route["backend"] == "bedrock":
            assert table["model_id"] == route["backend_model"]
            assert route["options"]["region"] in table["regions"]["value"], model_id
        for claim in route["capabilities"]:
            if claim in CLAIMS:
                assert any(f in table["fields"] for f in CLAIMS[claim]), (
                    f"{model_id}/{route['backend']}: {claim}"
                )
        if "reference_images" in route["capabilities"]:
            assert table.get("references", {}).get("field"), f"{model_id}: claims references, no field"
