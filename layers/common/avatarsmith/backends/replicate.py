"""Replicate predictions: one prediction per variation, polled through its `urls.get`, cancellable.

`backend_model` is `owner/name` (official models: POST /v1/models/{owner}/{name}/predictions) or
`owner/name:version` (POST /v1/predictions with the version). Input names follow the common schema
(`prompt`, `seed`, `negative_prompt`, `aspect_ratio` or `width`/`height`, `image`); a catalog route may
add `options.input` (fixed extra inputs) and `options.size` ("aspect_ratio" | "dimensions").
"""

from __future__ import annotations

from typing import Any

from avatarsmith.backends.http import AsyncTaskAdapter, TaskFailed, data_uri
from avatarsmith.backends.mapping import Plan, nearest_ratio, round_size, route_capabilities, sized_plan
from avatarsmith.errors import ContentModeratedError, GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

RATIOS = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"]
_MODERATION_WORDS = ("nsfw", "safety", "sensitive", "moderat", "flagged")


class ReplicateBackend(AsyncTaskAdapter):
    name = "replicate"
    capabilities = frozenset(
        {"seed", "negative_prompt", "guidance_scale", "reference_images", "styles", "attributes"}
    )

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def plan(self, spec: GenerationSpec) -> Plan:
        caps = route_capabilities(spec, self.name)
        w, h = spec.output.width, spec.output.height
        negative, seed = "negative_prompt" in caps, "seed" in caps
        if self.options(spec).get("size", "aspect_ratio") == "aspect_ratio":
            ratio = nearest_ratio(w, h, RATIOS)
            return sized_plan(spec, aspect_ratio=ratio, negative_supported=negative, seed_supported=seed)
        size = round_size(w, h, multiple=8, low=256, high=1536)
        return sized_plan(spec, size, negative_supported=negative, seed_supported=seed)

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        caps = route_capabilities(spec, self.name)
        inputs: dict[str, Any] = {"prompt": plan.prompt, **self.options(spec).get("input", {})}
        if "aspect_ratio" in plan.extra:
            inputs["aspect_ratio"] = plan.extra["aspect_ratio"]
        else:
            inputs.update(width=plan.width, height=plan.height)
        seed = spec.variation_seed(index) if "seed" in caps else None
        if seed is not None:
            inputs["seed"] = seed
        if plan.negative:
            inputs["negative_prompt"] = plan.negative
        if spec.guidance_scale is not None and "guidance_scale" in caps:
            inputs[self.options(spec).get("guidance_field", "guidance_scale")] = spec.guidance_scale
        if references:
            inputs["image"] = data_uri(references[0])
        model = spec.backend_model or ""
        if ":" in model:
            url, body = (
                f"{self.base_url}/v1/predictions",
                {"version": model.split(":", 1)[1], "input": inputs},
            )
        else:
            url, body = f"{self.base_url}/v1/models/{model}/predictions", {"input": inputs}
        prediction = self.get_json("POST", url, json=body)
        if not isinstance(prediction, dict) or not prediction.get("id"):
            raise GenerationRejectedError("replicate answered without a prediction id")
        urls = prediction.get("urls") or {}
        return {
            "id": prediction["id"],
            "get": urls.get("get") or f"{self.base_url}/v1/predictions/{prediction['id']}",
            "cancel": urls.get("cancel") or f"{self.base_url}/v1/predictions/{prediction['id']}/cancel",
            "seed": seed,
        }

    def check_task(self, spec: GenerationSpec, task: dict[str, Any]) -> dict[str, Any]:
        prediction = self.call_provider_url("GET", task["get"]).json()
        status = prediction.get("status")
        if status in ("starting", "processing"):
            return {"status": "pending"}
        if status == "succeeded":
            output = prediction.get("output")
            urls = [output] if isinstance(output, str) else [u for u in (output or []) if isinstance(u, str)]
            if not urls:
                raise TaskFailed(GenerationRejectedError("replicate reported success with no output"))
            return {"status": "succeeded", "outputs": urls[:1]}
        error = str(prediction.get("error") or status or "unknown status")
        if any(word in error.lower() for word in _MODERATION_WORDS):
            raise TaskFailed(ContentModeratedError("replicate's safety checker blocked the output"))
        raise TaskFailed(GenerationRejectedError(f"replicate prediction {status}: {error[:200]}"))

    def cancel_task(self, task: dict[str, Any]) -> None:
        self.call_provider_url("POST", task["cancel"])
