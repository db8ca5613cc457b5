"""OpenAI Images (gpt-image-1 and successors; the model name is the catalog route's `backend_model`).

Generations (`POST /v1/images/generations`), or edits (multipart `POST /v1/images/edits` with `image[]`)
when reference images are given. No seed and no negative prompt: the negative prompt is folded into the
prompt and the job's provenance says the result is not reproducible. Three sizes: the nearest one is
generated, then cropped/resized exactly. GPT image models always answer base64 (`b64_json`).
"""

from __future__ import annotations

import base64
from typing import Any

from avatarsmith.backends.base import VariationOutput
from avatarsmith.backends.http import HttpAdapter
from avatarsmith.backends.mapping import Plan, nearest_size, sized_plan
from avatarsmith.backends.sync import SyncGeneration
from avatarsmith.errors import GenerationRejectedError
from avatarsmith.models.domain import GenerationSpec

SIZES = [(1024, 1024), (1536, 1024), (1024, 1536)]
_QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "credit_balance_exhausted"}


def _error(body: Any) -> dict[str, Any]:
    return body.get("error") or {} if isinstance(body, dict) else {}


class OpenAIBackend(SyncGeneration, HttpAdapter):
    name = "openai"
    capabilities = frozenset({"reference_images", "styles", "attributes"})
    timeout_seconds = 240.0
    max_references = 16

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
        size = nearest_size(spec.output.width, spec.output.height, SIZES)
        return sized_plan(spec, size, negative_supported=False, seed_supported=False)

    def generate(
        self,
        spec: GenerationSpec,
        plan: Plan,
        references: list[bytes],
        timeout: float,
        skip: frozenset[int] = frozenset(),
    ) -> list[VariationOutput]:
        size = f"{plan.width}x{plan.height}"
        n = spec.num_variations
        model = spec.backend_model or "gpt-image-1"
        timeout = min(timeout, self.timeout_seconds)
        if references:
            files = [
                ("image[]", (f"reference-{i}.png", ref, "application/octet-stream"))
                for i, ref in enumerate(references[: self.max_references])
            ]
            data = {"model": model, "prompt": plan.prompt, "n": str(n), "size": size}
            body = self.get_json(
                "POST", f"{self.base_url}/v1/images/edits", data=data, files=files, timeout=timeout
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
                "POST", f"{self.base_url}/v1/images/generations", json=payload, timeout=timeout
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
