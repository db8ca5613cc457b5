"""Self-hosted Automatic1111 (`--api`): `POST /sdapi/v1/txt2img`, or `img2img` with `init_images` when a
reference image is given. Everything maps: seed, negative prompt, cfg scale, size (multiples of 8), and
`batch_size` = the number of variations; `info.all_seeds` gives each image's seed."""

from __future__ import annotations

import base64
import json
from typing import Any

from avatarsmith.backends.base import VariationOutput
from avatarsmith.backends.http import HttpAdapter, b64
from avatarsmith.backends.mapping import Plan, round_size, sized_plan
from avatarsmith.backends.sync import SyncGeneration
from avatarsmith.errors import GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

CFG_RANGE = (1.0, 30.0)  # contracts/automatic1111.json cfg_scale


class Automatic1111Backend(SyncGeneration, HttpAdapter):
    name = "automatic1111"
    capabilities = frozenset(
        {"seed", "negative_prompt", "guidance_scale", "reference_images", "styles", "attributes"}
    )
    timeout_seconds = 240.0

    def auth_headers(self) -> dict[str, str]:
        if not self.api_key:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(self.api_key.encode()).decode()}

    def plan(self, spec: GenerationSpec) -> Plan:
        size = round_size(spec.output.width, spec.output.height, multiple=8, low=64, high=2048)
        plan = sized_plan(spec, size, negative_supported=True)
        if spec.guidance_scale is not None:
            cfg = max(CFG_RANGE[0], min(CFG_RANGE[1], spec.guidance_scale))
            if cfg != spec.guidance_scale:
                plan.adjustments.append(f"guidance_scale {spec.guidance_scale:g} sent as cfg_scale {cfg:g}")
        if len(spec.reference_images) > 1:
            plan.adjustments.append("only the first reference image was used (img2img takes one init image)")
        if spec.reference_images:
            plan.adjustments.append(
                f"the reference was cropped to {plan.width}x{plan.height}'s shape and scaled for img2img"
            )
        return plan

    def generate(
        self,
        spec: GenerationSpec,
        plan: Plan,
        references: list[bytes],
        timeout: float,
        skip: frozenset[int] = frozenset(),
    ) -> list[VariationOutput]:
        payload: dict[str, Any] = {
            "prompt": plan.prompt,
            "negative_prompt": plan.negative or "",
            "seed": spec.seed,
            "steps": 25,
            "cfg_scale": max(
                CFG_RANGE[0], min(CFG_RANGE[1], 7.0 if spec.guidance_scale is None else spec.guidance_scale)
            ),
            "width": plan.width,
            "height": plan.height,
            "batch_size": spec.num_variations,
            "n_iter": 1,
            "override_settings": {"sd_model_checkpoint": spec.backend_model} if spec.backend_model else {},
        }
        route = "txt2img"
        if references:
            route = "img2img"
            from avatarsmith.backends.reference_fit import fit_reference

            init, _ = fit_reference(
                references[0],
                max_side=2048,
                max_bytes=10_000_000,
                formats=("jpeg", "png"),
                crop_ratio=plan.width / plan.height,  # img2img stretches the init image to width x height
            )
            payload.update(init_images=[b64(init)], denoising_strength=0.6)
        body = self.get_json(
            "POST",
            f"{self.base_url}/sdapi/v1/{route}",
            json=payload,
            timeout=min(timeout, self.timeout_seconds),
        )
        images = body.get("images") if isinstance(body, dict) else None
        if not images:
            raise GenerationRejectedError("automatic1111 answered without images")
        try:
            seeds = json.loads(body.get("info") or "{}").get("all_seeds") or []
        except ValueError:
            seeds = []
        outputs = []
        for i in range(spec.num_variations):
            seed = int(seeds[i]) if i < len(seeds) else None
            image = base64.b64decode(images[i].split(",", 1)[-1]) if i < len(images) else None
            outputs.append(VariationOutput(i, image, seed, None if image else "generation_failed"))
        return outputs
