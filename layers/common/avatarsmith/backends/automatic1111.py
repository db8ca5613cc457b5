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
        return sized_plan(spec, size, negative_supported=True)

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
            "cfg_scale": spec.guidance_scale if spec.guidance_scale is not None else 7.0,
            "width": plan.width,
            "height": plan.height,
            "batch_size": spec.num_variations,
            "n_iter": 1,
            "override_settings": {"sd_model_checkpoint": spec.backend_model} if spec.backend_model else {},
        }
        route = "txt2img"
        if references:
            route = "img2img"
            payload.update(init_images=[b64(references[0])], denoising_strength=0.6)
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
