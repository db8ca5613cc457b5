"""Vendor contract tables: what each hosted vendor's published API accepts and answers, one JSON file per
vendor, every fact with the `source` it was read from (repository + path, or documentation page).

The adapters read them to map a request onto what the vendor accepts (enums, ranges, field names,
reference-image limits); the strict test fakes read the same tables to refuse what the vendor refuses.
docs/backends-contracts.md is the human-readable form.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parent


@lru_cache(maxsize=16)
def load_contract(vendor: str) -> dict[str, Any]:
    """The whole table for one vendor (`openai`, `replicate`, `fal`, `bfl`, ...)."""
    return json.loads((_DIR / f"{vendor}.json").read_text(encoding="utf-8"))


def model_contract(vendor: str, backend_model: str) -> dict[str, Any] | None:
    """One model's table (fields, endpoint, references), or None when the vendor table has no such model."""
    models: dict[str, Any] = load_contract(vendor)["models"]
    return models.get(backend_model.split(":", 1)[0])


def require_contract(vendor: str, backend_model: str | None) -> dict[str, Any]:
    """`model_contract`, or GenerationRejectedError when the vendor's table has no such model: a route must
    never send a request whose shape no table describes."""
    from avatarsmith.errors import GenerationRejectedError

    table = model_contract(vendor, backend_model or "")
    if table is None:
        raise GenerationRejectedError(
            f"{vendor} model {backend_model!r} has no contract table (backends/contracts/{vendor}.json)"
        )
    return table


def field(model: dict[str, Any], name: str) -> dict[str, Any] | None:
    fields: dict[str, Any] = model.get("fields", {})
    return fields.get(name)


def enum(model: dict[str, Any], name: str) -> list[str]:
    spec = field(model, name)
    return list(spec["enum"]) if spec and "enum" in spec else []


def clamp(model: dict[str, Any], name: str, value: float) -> tuple[float, str | None]:
    """`value` within the field's documented range, and a provenance note when it had to move."""
    spec = field(model, name) or {}
    low, high = spec.get("min"), spec.get("max")
    moved = value
    if low is not None and moved < low:
        moved = low
    if high is not None and moved > high:
        moved = high
    if moved == value:
        return value, None
    return moved, f"{name} {value:g} is outside the backend's range; sent {moved:g}"


def data_uri_budget(max_uri_bytes: int) -> int:
    """The most image bytes whose base64 data URI (with its short header) stays under `max_uri_bytes`."""
    return (max_uri_bytes - 64) * 3 // 4
