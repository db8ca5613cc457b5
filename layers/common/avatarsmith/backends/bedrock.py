"""Amazon Bedrock through boto3 `bedrock-runtime.invoke_model` (synchronous; called in StoreImages).

Every request is shaped from the model's contract table (backends/contracts/bedrock.json), so nothing
Bedrock's schema validation refuses is sent: sizes, seeds, guidance, prompt lengths and reference images
are mapped to what the model accepts, and provenance.adjustments says what moved.

- Nova Canvas / Titan Image v2: TEXT_IMAGE, or IMAGE_VARIATION with up to 5 reference images (fitted to
  the model's input limits); all variations in one call (numberOfImages), variation i is image i. A 200
  with `error` "Some of the generated images have been blocked" is a partial result: the missing images
  become `content_moderated` variations. Titan generates only at its fixed list of sizes.
- Stable Diffusion 3.5 Large: one image per call (a call per variation, seed + i); an aspect ratio from its
  set (no 4:3/3:4: 5:4/4:5, then an exact crop); with a reference, image-to-image on the reference cropped
  to the requested shape (the output follows the input's). A finish reason "Filter reason: ..." marks that
  variation `content_moderated`.
- Region: the catalog route's `options.region` (model availability differs by region), else the backend
  setting (`AVATARSMITH_BACKENDS` `bedrock=<region>`), else the function's own region.
- A refused key (UnrecognizedClientException) or missing model access (AccessDeniedException) is a
  BackendAuthError, logged as an operator error; the client retries nothing itself (max_attempts 1): the
  state machine's Retry does, with jitter.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

from avatarsmith.backends.base import VariationOutput
from avatarsmith.backends.bedrock_shapes import (
    BODY_LIMIT,
    amazon_body,
    fit_references,
    model_table,
    plan_for,
    region_for,
    stability_body,
)
from avatarsmith.backends.http import check_deadline
from avatarsmith.backends.mapping import Plan
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
from avatarsmith.observability import logger

ENDPOINT_ENV = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"  # boto3's own: a Bedrock-compatible endpoint
_RETRYABLE = {
    "ServiceUnavailableException",
    "InternalServerException",
    "ModelTimeoutException",
    "ModelNotReadyException",
    "ModelErrorException",
}
_AUTH = {"UnrecognizedClientException", "AccessDeniedException", "InvalidSignatureException"}
_AUTH |= {"ExpiredTokenException", "IncompleteSignatureException", "MissingAuthenticationTokenException"}

_CLIENTS: dict[tuple[str | None, str], Any] = {}


def make_client(region: str | None) -> Any:
    """One bedrock-runtime client per region (and endpoint setting) and container.

    Made with `boto3.client`: locally, AVATARSMITH_BEDROCK_PROFILE gives this client alone a profile's
    credentials (local/bedrock_profile.py)."""
    key = (region, os.environ.get(ENDPOINT_ENV, ""))
    if key not in _CLIENTS:
        import boto3
        from botocore.config import Config

        # total_max_attempts 1: no retry inside the call (botocore's `max_attempts` counts retries)
        retries: Any = {"total_max_attempts": 1, "mode": "standard"}
        config = Config(read_timeout=300, connect_timeout=10, retries=retries)
        _CLIENTS[key] = boto3.client(
            "bedrock-runtime", region_name=region or os.environ.get("AWS_REGION"), config=config
        )
    return _CLIENTS[key]


def classify_client_error(exc: Exception, *, region: str | None = None) -> WorkflowError:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):  # ReadTimeout, EndpointConnectionError, ...
        return BackendUnavailableError(f"bedrock could not be reached ({type(exc).__name__})")
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = str(exc.response.get("Error", {}).get("Message", ""))[:200]
    if code == "ThrottlingException":
        return BackendThrottledError("bedrock throttled the request")
    if code in _RETRYABLE or status >= 500:
        return BackendUnavailableError(f"bedrock {code or status}")
    if code in _AUTH or status in (401, 403):
        # an operator error (a wrong key, no model access, a role without bedrock:InvokeModel)
        logger.error(
            "backend refused the deployment's credentials",
            extra={
                "backend": "bedrock",
                "error": code,
                "region": region,
                "operator_action": "check the AWS credentials, the model access and bedrock:InvokeModel",
            },
        )
        return BackendAuthError(f"bedrock refused the deployment's credentials ({code or status})")
    if code == "ServiceQuotaExceededException":
        return BackendQuotaExhaustedError("the Bedrock service quota is exhausted")
    if code == "ResourceNotFoundException" or "model identifier is invalid" in message.lower():
        return BackendModelNotFoundError(
            f"bedrock does not offer the configured model in {region or 'its region'}"
        )
    if code == "ValidationException" and "content filter" in message.lower():
        return ContentModeratedError("the request was blocked by Bedrock's content filters")
    return GenerationRejectedError(f"bedrock refused the request ({code}): {message}")


class BedrockBackend(SyncGeneration):
    name = "bedrock"
    version = "bedrock-2"
    capabilities = frozenset(
        {"seed", "negative_prompt", "guidance_scale", "reference_images", "styles", "attributes"}
    )

    def __init__(self, region: str | None = None):
        self.region = region  # the deployment's default (AVATARSMITH_BACKENDS bedrock=<region>)

    def plan(self, spec: GenerationSpec) -> Plan:
        return plan_for(spec)

    def _invoke(self, spec: GenerationSpec, body: dict[str, Any]) -> dict[str, Any]:
        region = region_for(spec, self.region)
        payload = json.dumps(body)
        if len(payload) > BODY_LIMIT:  # the fitting keeps far below this; a last guard, not a mapping
            raise GenerationRejectedError("the Bedrock request body would exceed 25,000,000 bytes")
        client = make_client(region)
        try:
            response = client.invoke_model(
                modelId=model_table(spec)["model_id"],
                body=payload,
                contentType="application/json",
                accept="application/json",
            )
        except Exception as exc:
            raise classify_client_error(exc, region=region) from exc
        try:
            answer = json.loads(response["body"].read())
        except ValueError as exc:
            raise BackendUnavailableError("bedrock answered with a body that is not JSON") from exc
        if not isinstance(answer, dict):
            raise BackendUnavailableError("bedrock answered with an unexpected body")
        return answer

    def generate(
        self,
        spec: GenerationSpec,
        plan: Plan,
        references: list[bytes],
        timeout: float,
        skip: frozenset[int] = frozenset(),
    ) -> Iterator[VariationOutput]:
        fitted = fit_references(spec, plan, references)
        if model_table(spec)["family"] == "stability":  # one image per call: a call per variation left
            deadline = time.time() + timeout
            for i in range(spec.num_variations):
                if i in skip:
                    continue
                check_deadline(deadline, self.name)
                yield self._stability(spec, plan, fitted, i)
            return
        yield from self._amazon(spec, plan, fitted)

    def _amazon(self, spec: GenerationSpec, plan: Plan, references: list[str]) -> list[VariationOutput]:
        body, seed = amazon_body(spec, plan, references)
        answer = self._invoke(spec, body)
        images = answer.get("images") or []
        error = str(answer.get("error") or "")
        blocked = "blocked" in error.lower()
        if not images:
            if blocked:
                raise ContentModeratedError("every generated image was blocked by Bedrock's content filters")
            raise GenerationRejectedError(f"bedrock returned no image: {error[:200]}")
        outputs = []
        for i in range(spec.num_variations):
            if i < len(images):
                outputs.append(VariationOutput(i, base64.b64decode(images[i]), seed))
            else:
                outputs.append(
                    VariationOutput(i, None, seed, "content_moderated" if blocked else "generation_failed")
                )
        return outputs

    def _stability(
        self, spec: GenerationSpec, plan: Plan, references: list[str], index: int
    ) -> VariationOutput:
        body, seed = stability_body(spec, plan, references, index)
        answer = self._invoke(spec, body)
        reasons = answer.get("finish_reasons") or [None]
        images = answer.get("images") or []
        if reasons[0] and str(reasons[0]).startswith("Filter reason"):
            return VariationOutput(index, None, seed, "content_moderated")
        if reasons[0] or not images:
            return VariationOutput(index, None, seed, "generation_failed")
        return VariationOutput(index, base64.b64decode(images[0]), seed)
