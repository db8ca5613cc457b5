"""Optional prompt optimisation (302.AI's `model` field): a Bedrock text model rewrites the composed
prompt through the Converse API when `AVATARSMITH_PROMPT_OPTIMIZER_MODEL` names one (template parameter
`PromptOptimizerModelId`). Without it, or when the rewrite fails, the deterministic composer's prompt is
used. The result is capped at the image model's prompt limit; provenance records the final prompt and
who wrote it.
"""

from __future__ import annotations

import os
from typing import Any

from avatarsmith.logic.prompting import compose_within
from avatarsmith.models.domain import GenerationSpec
from avatarsmith.observability import logger

MODEL_ENV = "AVATARSMITH_PROMPT_OPTIMIZER_MODEL"
INSTRUCTIONS = (
    "You rewrite avatar requests into one prompt for an image generation model. Keep every fact the user "
    "gave (subject, attributes, style, pose, clothing, background). Add concrete visual detail about "
    "lighting, framing and rendering that fits the style. Answer with the prompt only, one paragraph, "
    "no quotes, no preamble."
)

_CLIENT: dict[str, Any] = {}


def make_client() -> Any:
    """One bedrock-runtime client per container (tests replace this to add a Stubber)."""
    if "client" not in _CLIENT:
        import boto3
        from botocore.config import Config

        _CLIENT["client"] = boto3.client(
            "bedrock-runtime", config=Config(read_timeout=30, retries={"max_attempts": 2})
        )
    return _CLIENT["client"]


def choose_prompt(spec: GenerationSpec, *, max_chars: int) -> tuple[str, list[str]]:
    """(final prompt, provenance notes)."""
    composed, composer_notes = compose_within(spec, max_chars)
    model_id = os.environ.get(MODEL_ENV, "").strip()
    if not model_id or not spec.prompt:
        return composed, composer_notes
    try:
        answer = make_client().converse(
            modelId=model_id,
            system=[{"text": INSTRUCTIONS}],
            messages=[{"role": "user", "content": [{"text": composed}]}],
            inferenceConfig={"maxTokens": 400, "temperature": 0.2},
        )
        parts = answer["output"]["message"]["content"]
        text = " ".join(p.get("text", "") for p in parts).strip()
    except Exception as exc:  # optimisation is optional: fall back to the composer, never fail the job
        logger.warning(
            "prompt optimisation failed; using the composed prompt", extra={"error": type(exc).__name__}
        )
        note = f"prompt optimiser {model_id} failed ({type(exc).__name__}); composed prompt used"
        return composed, [*composer_notes, note]
    if not text:
        note = f"prompt optimiser {model_id} answered nothing; composed prompt used"
        return composed, [*composer_notes, note]
    notes = [
        f"prompt rewritten by {model_id}" + (f" (requested {spec.prompt_model})" if spec.prompt_model else "")
    ]
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
        notes.append(f"rewritten prompt cut to the model's {max_chars} characters")
    return text, notes
