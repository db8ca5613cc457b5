"""OpenAI Images (gpt-image-1 and successors; the model name is the catalog route's `backend_model`).

Generations (`POST /v1/images/generations`), or edits (multipart `POST /v1/images/edits` with `image[]`)
when reference images are given. What each accepts is read from contracts/openai.json (the vendor's
OpenAPI document): no seed and no negative prompt, so the negative prompt is folded into the prompt and the
job's provenance says the result is not reproducible; three sizes, so the nearest one is generated and then
cropped/resized exactly. GPT image models always answer base64 (`b64_json`).

Each reference goes out re-encoded within the model's limits (formats, bytes) as an `image[]` part whose
content type and filename extension say what it really is: the API refuses `application/octet-stream`.
"""

from __future__ import annotations

import base64
from typing import Any

from avatarsmith.backends.base import VariationOutput
from avatarsmith.backends.contracts import enum, model_contract
from avatarsmith.backends.http import HttpAdapter
from avatarsmith.backends.mapping import Plan, nearest_size, sized_plan
from avatarsmith.backends.sync import SyncGeneration
from avatarsmith.errors import GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

DEFAULT_MODEL = "gpt-image-1"
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "credit_balance_exhausted"}
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
# Our own bound, well inside the vendor's 50 MB: a 12 MP phone photo adds upload time and nothing the
# model uses (it works at 1024-1536 px).
REFERENCE_MAX_SIDE = 2048
RETRY_AFTER_WAIT = 30.0


def _error(body: Any) -> dict[str, Any]:
    return body.get("error") or {} if isinstance(body, dict) else {}


def contract(backend_model: str | None) -> dict[str, Any]:
    table = model_contract("openai", backend_model or DEFAULT_MODEL) or model_contract(
        "openai", DEFAULT_MODEL
    )
    assert table is not None, "contracts/openai.json describes gpt-image-1"
    return table


def sizes(table: dict[str, Any]) -> list[tuple[int, int]]:
    out = []
    for value in enum(table, "size"):
        if "x" in value:
            w, h = value.split("x")
            out.append((int(w), int(h)))
    return out


class OpenAIBackend(SyncGeneration, HttpAdapter):
    name = "openai"
    capabilities = frozenset({"reference_images", "styles", "attributes"})
    timeout_seconds = 240.0

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def is_moderation(self, status: int, body: Any) -> bool:
        err = _error(body)
        return status == 400 and (
            err.get("code") == "moderation_blocked" or "safety system" in str(err.get("message"))
        )

    def is_quota(self, status: int, body: Any) -> bool:
        err = _error(body)
        code, kind = str(err.get("code")), str(err.get("type"))
        return (
            status == 402
            or code in _QUOTA_CODES
            or kind in _QUOTA_CODES
            or code.endswith("_spend_limit_exceeded")
        )

    def plan(self, spec: GenerationSpec) -> Plan:
        size = nearest_size(spec.output.width, spec.output.height, sizes(contract(spec.backend_model)))
        return sized_plan(spec, size, negative_supported=False, seed_supported=False)

    def reference_parts(self, table: dict[str, Any], references: list[bytes]) -> list[tuple[str, Any]]:
        """`image[]` parts within the model's limits, each named and typed as what it is."""
        from avatarsmith.backends.reference_fit import fit_reference

        limits = table["references"]
        formats = tuple(f for f in ("jpeg", "webp", "png") if f in limits["formats"])
        parts: list[tuple[str, Any]] = []
        for i, ref in enumerate(references[: int(limits["max_count"])]):
            data, mime = fit_reference(
                ref, max_side=REFERENCE_MAX_SIDE, max_bytes=int(limits["max_bytes"]), formats=formats
            )
            parts.append((limits["field"], (f"reference-{i}.{_EXTENSIONS[mime]}", data, mime)))
        return parts

    def generate(
        self,
        spec: GenerationSpec,
        plan: Plan,
        references: list[bytes],
        timeout: float,
        skip: frozenset[int] = frozenset(),
    ) -> list[VariationOutput]:
        table = contract(spec.backend_model)
        size = f"{plan.width}x{plan.height}"
        n = spec.num_variations
        model = spec.backend_model or DEFAULT_MODEL
        timeout = min(timeout, self.timeout_seconds)
        endpoints = table["endpoints"]
        if references:
            data = {"model": model, "prompt": plan.prompt, "n": str(n), "size": size, "output_format": "png"}
            if "input_fidelity" in table["fields"]:
                data["input_fidelity"] = "high"  # keep the person's features
            body = self.get_json(
                "POST",
                f"{self.base_url}{endpoints['edit']['path']}",
                data=data,
                files=self.reference_parts(table, references),
                timeout=timeout,
                wait_retry_after=min(RETRY_AFTER_WAIT, timeout / 4),
            )
        else:
            payload = {
                "model": model,
                "prompt": plan.prompt,
                "n": n,
                "size": size,
                "output_format": "png",
                "moderation": "auto",
            }
            body = self.get_json(
                "POST",
                f"{self.base_url}{endpoints['generate']['path']}",
                json=payload,
                timeout=timeout,
                wait_retry_after=min(RETRY_AFTER_WAIT, timeout / 4),
            )
        items = body.get("data") if isinstance(body, dict) else None
        if not items:
            raise GenerationRejectedError("openai answered without images")
        outputs = [
            VariationOutput(i, base64.b64decode(item["b64_json"]), None)
            for i, item in enumerate(items[:n])
            if item.get("b64_json")
        ]
        outputs += [VariationOutput(i, None, None, "generation_failed") for i in range(len(outputs), n)]
        return outputs
