"""Replicate predictions: one prediction per variation, polled through its `urls.get`, cancellable.

What each model takes is read from contracts/replicate.json (the model's published input schema):
- official models (`black-forest-labs/flux-dev`, `google/imagen-3`):
  POST /v1/models/{owner}/{name}/predictions;
- community models (`stability-ai/sdxl`): POST /v1/predictions with the pinned `version` (a catalog route may
  pin another one as `owner/name:version`);
- the size goes as the model's `aspect_ratio` enum (the nearest one; StoreImages crops exactly and the
  provenance says so) or as `width`/`height` rounded to what the model takes;
- seed, negative prompt, guidance (under the model's own field name and range) and the reference image only
  where the model's schema has them and the catalog route claims them.
"""

from __future__ import annotations

from typing import Any

from avatarsmith.backends.base import BackendJob
from avatarsmith.backends.contracts import (
    clamp,
    data_uri_budget,
    enum,
    field,
    require_contract,
)
from avatarsmith.backends.http import AsyncTaskAdapter, TaskFailed
from avatarsmith.backends.mapping import Plan, nearest_ratio, round_size, route_capabilities, sized_plan
from avatarsmith.errors import ContentModeratedError, GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

_MODERATION_WORDS = ("nsfw", "safety", "sensitive", "moderat", "flagged")
_GUIDANCE_FIELDS = ("guidance", "guidance_scale")
RETRY_AFTER_WAIT = 30.0


def contract(backend_model: str | None) -> dict[str, Any]:
    return require_contract("replicate", backend_model)


def _split(backend_model: str) -> tuple[str, str | None]:
    name, _, version = backend_model.partition(":")
    return name, version or None


class ReplicateBackend(AsyncTaskAdapter):
    name = "replicate"
    capabilities = frozenset(
        {"seed", "negative_prompt", "guidance_scale", "reference_images", "styles", "attributes"}
    )

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

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
            sizes = (table.get("aspect_ratio_sizes") or {}).get("value", {})
            if ratio in sizes:  # the model's own output size for the ratio (not always exact)
                plan = sized_plan(spec, tuple(sizes[ratio]), negative_supported=negative, seed_supported=seed)
                plan.extra["aspect_ratio"] = ratio
            else:
                plan = sized_plan(spec, aspect_ratio=ratio, negative_supported=negative, seed_supported=seed)
            asked = spec.output.aspect_ratio
            if asked and asked != ratio:
                plan.adjustments.insert(
                    0, f"aspect ratio {asked} is not offered by {spec.backend_model}: generated at {ratio}"
                )
        else:
            wf = field(table, "width") or {}
            size = round_size(
                w,
                h,
                multiple=int(wf.get("multiple_of", 8)),
                low=int(wf.get("min", 256)),
                high=min(int(wf.get("max", 1536)), 1536),
            )
            plan = sized_plan(spec, size, negative_supported=negative, seed_supported=seed)
        guidance_field = next((f for f in _GUIDANCE_FIELDS if f in fields), None)
        if spec.guidance_scale is not None and "guidance_scale" in caps and guidance_field:
            value, note = clamp(table, guidance_field, spec.guidance_scale)
            plan.extra["guidance"] = (guidance_field, value)
            if note:
                plan.adjustments.append(note.replace(guidance_field, "guidance_scale", 1))
        return plan

    def reference_input(self, table: dict[str, Any], references: list[bytes]) -> str:
        from avatarsmith.backends.http import b64
        from avatarsmith.backends.reference_fit import fit_reference

        limits = table["references"]
        data, mime = fit_reference(
            references[0],
            max_side=int(limits["max_side"]),
            max_bytes=data_uri_budget(int(limits["max_bytes"])),
            formats=tuple(limits["formats"]),
        )
        return f"data:{mime};base64,{b64(data)}"

    def submit(self, spec: GenerationSpec, references: list[bytes], *, deadline: float) -> BackendJob:
        table = contract(spec.backend_model)
        caps = route_capabilities(spec, self.name)
        self._reference: str | None = None  # fitted once, sent with every variation's prediction
        if references and "reference_images" in caps and table.get("references"):
            self._reference = self.reference_input(table, references)
        job = super().submit(spec, references, deadline=deadline)
        if len(references) > 1 and table.get("references"):
            job.state["adjustments"].append(
                f"{spec.backend_model} takes one reference image: the first of {len(references)} was used"
            )
        return job

    def start_task(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> dict[str, Any]:
        table = contract(spec.backend_model)
        caps = route_capabilities(spec, self.name)
        inputs: dict[str, Any] = {"prompt": plan.prompt, **self.options(spec).get("input", {})}
        if "aspect_ratio" in plan.extra:
            inputs["aspect_ratio"] = plan.extra["aspect_ratio"]
        else:
            inputs.update(width=plan.width, height=plan.height)
        seed = spec.variation_seed(index) if "seed" in caps and "seed" in table["fields"] else None
        if seed is not None:
            inputs["seed"] = seed
        if plan.negative:
            inputs["negative_prompt"] = plan.negative
        if "guidance" in plan.extra:
            name, value = plan.extra["guidance"]
            inputs[name] = value
        if references and "reference_images" in caps and table.get("references"):
            reference = getattr(self, "_reference", None) or self.reference_input(table, references)
            inputs[table["references"]["field"]] = reference
        if "output_format" in table["fields"] and "png" in enum(table, "output_format"):
            inputs["output_format"] = "png"
        name, version = _split(spec.backend_model or "")
        version = version or (table.get("version") or {}).get("value")
        if table.get("route") == "version" or (version and table.get("route") != "official"):
            url, body = f"{self.base_url}/v1/predictions", {"version": version, "input": inputs}
        else:
            url, body = f"{self.base_url}/v1/models/{name}/predictions", {"input": inputs}
        prediction = self.get_json("POST", url, json=body, wait_retry_after=RETRY_AFTER_WAIT)
        if not isinstance(prediction, dict) or not prediction.get("id"):
            raise GenerationRejectedError("replicate answered without a prediction id")
        urls = prediction.get("urls") or {}
        if not urls.get("get"):
            raise GenerationRejectedError("replicate answered without the prediction's urls.get")
        return {"id": prediction["id"], "get": urls["get"], "cancel": urls.get("cancel"), "seed": seed}

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
        if task.get("cancel"):
            self.call_provider_url("POST", task["cancel"])
