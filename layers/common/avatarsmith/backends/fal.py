"""fal.ai queue: POST {queue}/{model_id} per variation, then only the URLs the submit answered: poll its
`status_url`, read its `response_url`, cancel with a PUT to its `cancel_url` (they live under the app's
owner/alias, not under the full model id, so they cannot be rebuilt from it). fal's own retries of queued
jobs stay on (it retries 503/504/429 itself).

What each model takes is read from contracts/fal.json: FLUX models take an `image_size` preset (the nearest
one is generated, then cropped exactly), Imagen 3 an `aspect_ratio`; seed, negative prompt, guidance and
the safety/format switches only where the model's schema has them.
"""

from __future__ import annotations

from typing import Any

from avatarsmith.backends.contracts import clamp, enum, require_contract
from avatarsmith.backends.http import AsyncTaskAdapter, TaskFailed
from avatarsmith.backends.mapping import Plan, nearest_ratio, nearest_size, route_capabilities, sized_plan
from avatarsmith.errors import ContentModeratedError, GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

RETRY_AFTER_WAIT = 30.0


def contract(backend_model: str | None) -> dict[str, Any]:
    return require_contract("fal", backend_model)


class FalBackend(AsyncTaskAdapter):
    name = "fal"
    capabilities = frozenset({"seed", "negative_prompt", "guidance_scale", "styles", "attributes"})

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self.api_key}"} if self.api_key else {}

    def is_moderation(self, status: int, body: Any) -> bool:
        detail = body.get("detail") if isinstance(body, dict) else None
        text = str(detail).lower()
        return status in (400, 422) and ("content_policy" in text or "nsfw" in text)

    def plan(self, spec: GenerationSpec) -> Plan:
        table = contract(spec.backend_model)
        caps = route_capabilities(spec, self.name)
        fields = table["fields"]
        w, h = spec.output.width, spec.output.height
        negative = "negative_prompt" in caps and "negative_prompt" in fields
        seed = "seed" in caps and "seed" in fields
        ratios = enum(table, "aspect_ratio")
        if ratios:
            ratio = nearest_ratio(w, h, ratios)
            plan = sized_plan(
                spec,
                tuple(table["aspect_ratio_sizes"]["value"][ratio]),
                negative_supported=negative,
                seed_supported=seed,
            )
            plan.extra["aspect_ratio"] = ratio
        else:
            presets = {k: tuple(v) for k, v in table["image_size_presets"]["value"].items()}
            size = nearest_size(w, h, list(presets.values()))
            plan = sized_plan(spec, size, negative_supported=negative, seed_supported=seed)
            plan.extra["image_size"] = next(k for k, v in presets.items() if v == size)
        if spec.guidance_scale is not None and "guidance_scale" in caps and "guidance_scale" in fields:
            value, note = clamp(table, "guidance_scale", spec.guidance_scale)
            plan.extra["guidance_scale"] = value
            if note:
                plan.adjustments.append(note)
        return plan

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        table = contract(spec.backend_model)
        fields = table["fields"]
        caps = route_capabilities(spec, self.name)
        body: dict[str, Any] = {"prompt": plan.prompt, "num_images": 1}
        for name in ("aspect_ratio", "image_size", "guidance_scale"):
            if name in plan.extra:
                body[name] = plan.extra[name]
        if "enable_safety_checker" in fields:
            body["enable_safety_checker"] = True
        if "png" in enum(table, "output_format"):
            body["output_format"] = "png"
        body.update(self.options(spec).get("input", {}))
        seed = spec.variation_seed(index) if "seed" in caps and "seed" in fields else None
        if seed is not None:
            body["seed"] = seed
        if plan.negative:
            body["negative_prompt"] = plan.negative
        queued = self.get_json(
            "POST", f"{self.base_url}/{spec.backend_model}", json=body, wait_retry_after=RETRY_AFTER_WAIT
        )
        if not isinstance(queued, dict) or not queued.get("request_id"):
            raise GenerationRejectedError("fal answered without a request_id")
        missing = [k for k in ("status_url", "response_url", "cancel_url") if not queued.get(k)]
        if missing:
            raise GenerationRejectedError(f"fal's queue answer has no {', '.join(missing)}")
        for key in ("status_url", "response_url", "cancel_url"):
            self._check_provider_url(queued[key], same_site=True)
        return {
            "id": queued["request_id"],
            "status_url": queued["status_url"],
            "response_url": queued["response_url"],
            "cancel_url": queued["cancel_url"],
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
        self.call_provider_url("PUT", task["cancel_url"], ok=(200, 202, 400))  # 400: ALREADY_COMPLETED
