"""fal.ai queue: POST {queue}/{model_id} per variation, poll its `status_url`, read its `response_url`,
cancel with its `cancel_url`. fal's own retries of queued jobs stay on (it retries 503/504/429 itself)."""

from __future__ import annotations

from typing import Any

from avatarsmith.backends.http import AsyncTaskAdapter, TaskFailed, data_uri
from avatarsmith.backends.mapping import Plan, round_size, route_capabilities, sized_plan
from avatarsmith.errors import ContentModeratedError, GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec


class FalBackend(AsyncTaskAdapter):
    name = "fal"
    capabilities = frozenset(
        {"seed", "negative_prompt", "guidance_scale", "reference_images", "styles", "attributes"}
    )

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.api_key}"} if self.api_key else {}

    def is_moderation(self, status: int, body: Any) -> bool:
        detail = body.get("detail") if isinstance(body, dict) else None
        text = str(detail).lower()
        return status in (400, 422) and ("content_policy" in text or "nsfw" in text)

    def plan(self, spec: GenerationSpec) -> Plan:
        caps = route_capabilities(spec, self.name)
        size = round_size(spec.output.width, spec.output.height, multiple=8, low=256, high=2048)
        return sized_plan(
            spec, size, negative_supported="negative_prompt" in caps, seed_supported="seed" in caps
        )

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        caps = route_capabilities(spec, self.name)
        body: dict[str, Any] = {
            "prompt": plan.prompt,
            "image_size": {"width": plan.width, "height": plan.height},
            "num_images": 1,
            "enable_safety_checker": True,
            "output_format": "png",
            **self.options(spec).get("input", {}),
        }
        seed = spec.variation_seed(index) if "seed" in caps else None
        if seed is not None:
            body["seed"] = seed
        if plan.negative:
            body["negative_prompt"] = plan.negative
        if spec.guidance_scale is not None and "guidance_scale" in caps:
            body["guidance_scale"] = spec.guidance_scale
        if references:
            body["image_url"] = data_uri(references[0])
        queued = self.get_json("POST", f"{self.base_url}/{spec.backend_model}", json=body)
        if not isinstance(queued, dict) or not queued.get("request_id"):
            raise GenerationRejectedError("fal answered without a request_id")
        rid = queued["request_id"]
        base = f"{self.base_url}/{spec.backend_model}/requests/{rid}"
        return {
            "id": rid,
            "status_url": queued.get("status_url") or f"{base}/status",
            "response_url": queued.get("response_url") or base,
            "cancel_url": queued.get("cancel_url") or f"{base}/cancel",
            "seed": seed,
        }

    def check_task(self, spec: GenerationSpec, task: dict[str, Any]) -> dict[str, Any]:
        status = self.call_provider_url("GET", task["status_url"]).json()
        if status.get("status") in ("IN_QUEUE", "IN_PROGRESS"):
            return {"status": "pending"}
        if status.get("status") != "COMPLETED":
            raise TaskFailed(GenerationRejectedError(f"fal reported status {status.get('status')!r}"))
        try:
            result = self.call_provider_url("GET", task["response_url"]).json()
        except ContentModeratedError as exc:
            raise TaskFailed(exc) from exc
        except GenerationRejectedError as exc:  # terminal for this request (validation, model error)
            raise TaskFailed(exc) from exc
        images = result.get("images") or []
        flags = result.get("has_nsfw_concepts") or []
        if flags and flags[0]:
            raise TaskFailed(ContentModeratedError("fal's safety checker blocked the output"))
        if not images or not images[0].get("url"):
            raise TaskFailed(GenerationRejectedError("fal completed without an image"))
        seed = result.get("seed", task.get("seed"))
        return {"status": "succeeded", "outputs": [images[0]["url"]], "seed": seed}

    def cancel_task(self, task: dict[str, Any]) -> None:
        self.call_provider_url("PUT", task["cancel_url"])
