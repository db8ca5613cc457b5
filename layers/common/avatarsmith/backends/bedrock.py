"""Amazon Bedrock through boto3 `bedrock-runtime.invoke_model` (synchronous; called in StoreImages).

- Nova Canvas / Titan Image v2: TEXT_IMAGE, or IMAGE_VARIATION with the reference images; negativeText,
  seed, cfgScale and numberOfImages (all variations in one call, one seed: variation i is image i of
  that call). A 200 with `error` "Some of the generated images have been blocked" is a partial result:
  the missing images become `content_moderated` variations.
- Stability (sd3.5 large, stable-image ultra/core): one image per call, so one call per variation with
  seed + i; an aspect ratio from its set (no 4:3/3:4: 5:4/4:5 then an exact crop); a finish reason
  "Filter reason: ..." marks that variation `content_moderated`.
The client retries nothing itself (max_attempts 1): the state machine's Retry does, with jitter.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

from avatarsmith.backends.base import VariationOutput
from avatarsmith.backends.http import check_deadline
from avatarsmith.backends.mapping import Plan, nearest_ratio, nearest_size, round_size, sized_plan
from avatarsmith.backends.sync import SyncGeneration
from avatarsmith.errors import (
    BackendAuthError,
    BackendModelNotFoundError,
    BackendQuotaExhaustedError,
    BackendThrottledError,
    BackendUnavailableError,
    ContentModeratedError,
    GenerationRejectedError,
    WorkflowError,
)
from avatarsmith.models.domain import GenerationSpec

STABILITY_RATIOS = ["16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"]
TITAN_SIZES = [
    (1024, 1024),
    (768, 768),
    (512, 512),
    (768, 1152),
    (1152, 768),
    (768, 1280),
    (1280, 768),
    (896, 1152),
    (1152, 896),
    (768, 1408),
    (1408, 768),
    (640, 1408),
    (1408, 640),
]
NOVA_MAX_SEED = 858_993_459
TITAN_MAX_SEED = 2_147_483_646
STABILITY_MAX_SEED = 4_294_967_294
_RETRYABLE = {
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelTimeoutException",
    "ModelNotReadyException",
    "ModelErrorException",
}

_CLIENTS: dict[str | None, Any] = {}


def make_client(region: str | None) -> Any:
    """One bedrock-runtime client per region and container (tests replace this to add a Stubber)."""
    if region not in _CLIENTS:
        import boto3
        from botocore.config import Config

        config = Config(read_timeout=300, connect_timeout=10, retries={"max_attempts": 1, "mode": "standard"})
        _CLIENTS[region] = boto3.client(
            "bedrock-runtime", region_name=region or os.environ.get("AWS_REGION"), config=config
        )
    return _CLIENTS[region]


def classify_client_error(exc: Exception) -> WorkflowError:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):  # ReadTimeout, EndpointConnectionError, ...
        return BackendUnavailableError(f"bedrock could not be reached ({type(exc).__name__})")
    code = exc.response.get("Error", {}).get("Code", "")
    message = str(exc.response.get("Error", {}).get("Message", ""))[:200]
    if code == "ThrottlingException":
        return BackendThrottledError("bedrock throttled the request")
    if code in _RETRYABLE:
        return BackendUnavailableError(f"bedrock {code}")
    if code == "AccessDeniedException":
        return BackendAuthError("bedrock refused access: check the model access and the function's IAM role")
    if code == "ServiceQuotaExceededException":
        return BackendQuotaExhaustedError("the Bedrock service quota is exhausted")
    if code == "ResourceNotFoundException":
        return BackendModelNotFoundError("bedrock does not know the configured model")
    if code == "ValidationException" and "content filter" in message.lower():
        return ContentModeratedError("the request was blocked by Bedrock's content filters")
    return GenerationRejectedError(f"bedrock refused the request ({code}): {message}")


class BedrockBackend(SyncGeneration):
    name = "bedrock"
    version = "bedrock-1"
    capabilities = frozenset(
        {"seed", "negative_prompt", "guidance_scale", "reference_images", "styles", "attributes"}
    )

    def __init__(self, region: str | None = None):
        self.region = region

    @staticmethod
    def _family(spec: GenerationSpec) -> str:
        model = spec.backend_model or ""
        if model.startswith("amazon.nova-canvas"):
            return "nova"
        if model.startswith("amazon.titan-image"):
            return "titan"
        if model.startswith("stability."):
            return "stability"
        raise BackendModelNotFoundError(f"no Bedrock request format for model {model!r}")

    def plan(self, spec: GenerationSpec) -> Plan:
        family = self._family(spec)
        w, h = spec.output.width, spec.output.height
        if family == "nova":
            size = round_size(w, h, multiple=16, low=320, high=4096, max_pixels=4_194_304)
            return sized_plan(spec, size, negative_supported=True)
        if family == "titan":
            return sized_plan(spec, nearest_size(w, h, TITAN_SIZES), negative_supported=True)
        return sized_plan(spec, aspect_ratio=nearest_ratio(w, h, STABILITY_RATIOS), negative_supported=True)

    def _invoke(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        client = make_client(self.region)
        try:
            response = client.invoke_model(
                modelId=model,
                body=json.dumps(body),
                contentType="application/json",
                accept="application/json",
            )
        except Exception as exc:
            raise classify_client_error(exc) from exc
        return json.loads(response["body"].read())

    def generate(
        self,
        spec: GenerationSpec,
        plan: Plan,
        references: list[bytes],
        timeout: float,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[VariationOutput]:
        if self._family(spec) == "stability":  # one image per call: a call per variation not yet stored
            deadline = time.time() + timeout
            for i in range(spec.num_variations):
                if i in skip:
                    continue
                check_deadline(deadline, self.name)
                yield self._stability(spec, plan, references, i)
            return
        yield from self._amazon(spec, plan, references)

    def _amazon(self, spec: GenerationSpec, plan: Plan, references: list[bytes]) -> list[VariationOutput]:
        family = self._family(spec)
        seed = spec.seed % ((NOVA_MAX_SEED if family == "nova" else TITAN_MAX_SEED) + 1)
        text: dict[str, Any] = {"text": plan.prompt}
        if plan.negative:
            text["negativeText"] = plan.negative
        config: dict[str, Any] = {
            "width": plan.width,
            "height": plan.height,
            "seed": seed,
            "numberOfImages": spec.num_variations,
            "quality": "standard",
        }
        if spec.guidance_scale is not None:
            config["cfgScale"] = max(1.1, min(10.0, spec.guidance_scale))
        if references:
            body = {
                "taskType": "IMAGE_VARIATION",
                "imageVariationParams": {
                    **text,
                    "images": [base64.b64encode(r).decode() for r in references[:5]],
                    "similarityStrength": 0.7,
                },
                "imageGenerationConfig": config,
            }
        else:
            body = {"taskType": "TEXT_IMAGE", "textToImageParams": text, "imageGenerationConfig": config}
        answer = self._invoke(spec.backend_model or "", body)
        images = answer.get("images") or []
        error = str(answer.get("error") or "")
        if not images:
            if "blocked" in error.lower():
                raise ContentModeratedError("every generated image was blocked by Bedrock's content filters")
            raise GenerationRejectedError(f"bedrock returned no image: {error[:200]}")
        moderated = "blocked" in error.lower()
        return [
            VariationOutput(i, base64.b64decode(images[i]), seed)
            if i < len(images)
            else VariationOutput(i, None, seed, "content_moderated" if moderated else "generation_failed")
            for i in range(spec.num_variations)
        ]

    def _stability(
        self, spec: GenerationSpec, plan: Plan, references: list[bytes], index: int
    ) -> VariationOutput:
        seed = spec.variation_seed(index) % (STABILITY_MAX_SEED + 1)
        body: dict[str, Any] = {"prompt": plan.prompt, "seed": seed, "output_format": "png"}
        if plan.negative:
            body["negative_prompt"] = plan.negative
        if references:
            body.update(mode="image-to-image", image=base64.b64encode(references[0]).decode(), strength=0.6)
        else:
            body.update(mode="text-to-image", aspect_ratio=plan.extra["aspect_ratio"])
        answer = self._invoke(spec.backend_model or "", body)
        reasons = answer.get("finish_reasons") or [None]
        images = answer.get("images") or []
        if reasons[0] and str(reasons[0]).startswith("Filter reason"):
            return VariationOutput(index, None, seed, "content_moderated")
        if reasons[0] or not images:
            return VariationOutput(index, None, seed, "generation_failed")
        return VariationOutput(index, base64.b64decode(images[0]), seed)
