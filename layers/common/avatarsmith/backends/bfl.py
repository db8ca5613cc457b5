"""Black Forest Labs FLUX: POST /v1/{model} (header x-key) -> {id, polling_url}; GET the returned
`polling_url` (the global endpoint routes between clusters) until Ready; `result.sample` is a signed URL
that expires in 10 minutes, so StoreImages downloads it at once. One image per task; no cancellation.

What each model takes is read from contracts/bfl.json: FLUX1.1 [pro] takes width/height (multiples of 32
within 256-1440) and its one reference as `image_prompt`; Kontext takes an `aspect_ratio` between 21:9 and
9:21 and up to four references as `input_image`, `input_image_2`..`input_image_4`. References are
re-encoded within each model's limits before they are sent.
"""

from __future__ import annotations

import math
from typing import Any

from avatarsmith.backends.base import BackendJob
from avatarsmith.backends.contracts import enum, field, require_contract
from avatarsmith.backends.http import AsyncTaskAdapter, TaskFailed, b64
from avatarsmith.backends.mapping import Plan, round_size, sized_plan
from avatarsmith.errors import ContentModeratedError, GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

_PENDING = {"Pending", "Queued", "Reasoning", "Generating"}
_MODERATED = {"Request Moderated", "Content Moderated"}
RETRY_AFTER_WAIT = 30.0


def contract(backend_model: str | None) -> dict[str, Any]:
    return require_contract("bfl", backend_model)


def _ratio_value(ratio: str) -> float:
    a, b = (int(x) for x in ratio.split(":"))
    return a / b


def exact_ratio(w: int, h: int, low: str, high: str) -> str:
    """The output's own ratio as "W:H" in lowest terms, clamped into [low, high]."""
    if w / h > _ratio_value(high):
        return high
    if w / h < _ratio_value(low):
        return low
    g = math.gcd(w, h)
    a, b = w // g, h // g
    while max(a, b) > 64:  # keep it a ratio a person would write; the crop absorbs the difference
        a, b = round(a / 2) or 1, round(b / 2) or 1
    return f"{a}:{b}"


class BflBackend(AsyncTaskAdapter):
    name = "bfl"
    capabilities = frozenset({"seed", "reference_images", "styles", "attributes"})

    def auth_headers(self) -> dict[str, str]:
        return {"x-key": self.api_key} if self.api_key else {}

    def plan(self, spec: GenerationSpec) -> Plan:
        table = contract(spec.backend_model)
        w, h = spec.output.width, spec.output.height
        ratio_field = field(table, "aspect_ratio")
        if ratio_field:
            ratio = exact_ratio(w, h, ratio_field["min_ratio"], ratio_field["max_ratio"])
            megapixels = float(table.get("output_megapixels", {}).get("value", 1.0))
            rw = math.sqrt(megapixels * 1_000_000 * _ratio_value(ratio))
            size = (round(rw / 32) * 32, round(rw / _ratio_value(ratio) / 32) * 32)
            plan = sized_plan(spec, size, negative_supported=False)
            plan.extra["aspect_ratio"] = ratio
            return plan
        wf = field(table, "width") or {}
        size = round_size(
            w, h, multiple=int(wf.get("multiple_of", 32)), low=int(wf.get("min", 256)), high=int(wf["max"])
        )
        return sized_plan(spec, size, negative_supported=False)

    def reference_fields(self, table: dict[str, Any], references: list[bytes]) -> dict[str, str]:
        from avatarsmith.backends.reference_fit import fit_reference

        limits = table.get("references")
        if not limits or not references:
            return {}
        names = [limits["field"], *limits.get("extra_fields", [])][: int(limits["max_count"])]
        out = {}
        for name, ref in zip(names, references, strict=False):
            data, _ = fit_reference(
                ref,
                max_side=int(limits["max_side"]),
                max_pixels=limits.get("max_pixels"),
                max_bytes=int(limits["max_bytes"]) * 3 // 4,  # base64 in the JSON body
                formats=tuple(limits["formats"]),
            )
            out[name] = b64(data)
        return out

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        table = contract(spec.backend_model)
        refs = self.reference_fields(table, references)  # once, not once per variation
        self._fitted = refs
        job = super().submit(spec, references, deadline=deadline)
        if len(references) > len(refs):
            job.state["adjustments"].append(
                f"{spec.backend_model} takes {len(refs)} reference image(s): "
                f"{len(references) - len(refs)} of {len(references)} were not used"
            )
        return job

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        table = contract(spec.backend_model)
        seed = spec.variation_seed(index)
        body: dict[str, Any] = {"prompt": plan.prompt, "seed": seed, "safety_tolerance": 2}
        if "png" in enum(table, "output_format"):
            body["output_format"] = "png"
        if "aspect_ratio" in plan.extra:
            body["aspect_ratio"] = plan.extra["aspect_ratio"]
        else:
            body.update(width=plan.width, height=plan.height)
        refs = getattr(self, "_fitted", None)
        body.update(refs if refs is not None else self.reference_fields(table, references))
        answer = self.get_json(
            "POST", f"{self.base_url}/v1/{spec.backend_model}", json=body, wait_retry_after=RETRY_AFTER_WAIT
        )
        if not isinstance(answer, dict) or not answer.get("id") or not answer.get("polling_url"):
            raise GenerationRejectedError("bfl answered without an id and polling_url")
        self._check_provider_url(answer["polling_url"], same_site=True)
        return {"id": answer["id"], "polling_url": answer["polling_url"], "seed": seed}

    def check_task(self, spec: GenerationSpec, task: dict[str, Any]) -> dict[str, Any]:
        result = self.call_provider_url("GET", task["polling_url"]).json()
        status = str(result.get("status", ""))
        if status in _PENDING:
            return {"status": "pending"}
        if status == "Ready":
            sample = (result.get("result") or {}).get("sample")
            if not sample:
                raise TaskFailed(GenerationRejectedError("bfl reported Ready without a sample"))
            return {"status": "succeeded", "outputs": [sample]}
        if status in _MODERATED:
            raise TaskFailed(ContentModeratedError(f"bfl: {status}"))
        raise TaskFailed(GenerationRejectedError(f"bfl task ended with status {status or 'unknown'!r}"))
