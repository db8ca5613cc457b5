"""Black Forest Labs FLUX: POST /v1/{model} (header x-key) -> {id, polling_url}; GET the returned
`polling_url` (the global endpoint routes between clusters) until Ready; `result.sample` is a signed URL
that expires in 10 minutes, so StoreImages downloads it at once. One image per task; no cancellation."""

from __future__ import annotations

from typing import Any

from avatarsmith.backends.http import AsyncTaskAdapter, TaskFailed, b64
from avatarsmith.backends.mapping import Plan, nearest_ratio, round_size, sized_plan
from avatarsmith.errors import ContentModeratedError, GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

KONTEXT_RATIOS = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]
_PENDING = {"Pending", "Queued", "Reasoning", "Generating"}
_MODERATED = {"Request Moderated", "Content Moderated"}


class BflBackend(AsyncTaskAdapter):
    name = "bfl"
    capabilities = frozenset({"seed", "reference_images", "styles", "attributes"})
    max_references = 4

    def auth_headers(self) -> dict[str, str]:
        return {"x-key": self.api_key} if self.api_key else {}

    def plan(self, spec: GenerationSpec) -> Plan:
        w, h = spec.output.width, spec.output.height
        if "kontext" in (spec.backend_model or ""):
            return sized_plan(
                spec, aspect_ratio=nearest_ratio(w, h, KONTEXT_RATIOS), negative_supported=False
            )
        return sized_plan(spec, round_size(w, h, multiple=32, low=256, high=1440), negative_supported=False)

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        seed = spec.variation_seed(index)
        body: dict[str, Any] = {
            "prompt": plan.prompt,
            "seed": seed,
            "output_format": "png",
            "safety_tolerance": 2,
        }
        if "aspect_ratio" in plan.extra:
            body["aspect_ratio"] = plan.extra["aspect_ratio"]
        else:
            body.update(width=plan.width, height=plan.height)
        for i, ref in enumerate(references[: self.max_references]):
            body["input_image" if i == 0 else f"input_image_{i + 1}"] = b64(ref)
        answer = self.get_json("POST", f"{self.base_url}/v1/{spec.backend_model}", json=body)
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
