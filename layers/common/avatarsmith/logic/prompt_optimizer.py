"""Prompt optimisation by a language model (302.AI's `model` field names one, e.g. `gpt-4o-mini`).

Who writes the prompt, in order:
1. the language model the request named, when a configured language-model backend can serve it:
   - a Bedrock model id (`anthropic.…`, `amazon.nova-…`, `meta.…`, an inference profile `us.…`) through
     the Converse API, when the `bedrock` backend is configured (AVATARSMITH_BACKENDS);
   - any other name through an OpenAI-compatible `POST {base}/v1/chat/completions`: the endpoint named
     by AVATARSMITH_PROMPT_CHAT_URL (template parameter `PromptChatUrl`; key `prompt_chat` in the
     backend secret, optional), else the configured `openai` backend (key `openai`);
2. otherwise, for a request with a description, the operator's default Bedrock model
   (AVATARSMITH_PROMPT_OPTIMIZER_MODEL), noting the named model it stands in for;
3. otherwise, or when the model fails or answers nothing, the deterministic composer.
The result is capped at the image model's prompt budget; `provenance.adjustments` says who wrote the
prompt, or why the composer did although a model was named.
"""

from __future__ import annotations

import os
import re
from typing import Any

from avatarsmith.logic.prompting import compose_within
from avatarsmith.models.domain import GenerationSpec
from avatarsmith.observability import logger

MODEL_ENV = "AVATARSMITH_PROMPT_OPTIMIZER_MODEL"
CHAT_URL_ENV = "AVATARSMITH_PROMPT_CHAT_URL"
CHAT_TIMEOUT_SECONDS = 30.0
INSTRUCTIONS = (
    "You rewrite avatar requests into one prompt for an image generation model. Keep every fact the user "
    "gave (subject, attributes, style, pose, clothing, background). Add concrete visual detail about "
    "lighting, framing and rendering that fits the style. Answer with the prompt only, one paragraph, "
    "no quotes, no preamble."
)
_BEDROCK_ID = re.compile(
    r"^(?:(?:us|eu|apac|global)\.)?(?:amazon|anthropic|meta|mistral|cohere|ai21|deepseek|writer|qwen)\.\S+$"
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


def _bedrock_configured() -> bool:
    from avatarsmith.backends.settings import is_configured

    return is_configured("bedrock")


def _chat_endpoint() -> tuple[str, str] | None:
    """(chat completions URL, name of its key in the backend secret), or None when there is none."""
    from avatarsmith.backends.settings import backend_config, is_configured

    url = os.environ.get(CHAT_URL_ENV, "").strip()
    if url:
        return f"{url.rstrip('/')}/v1/chat/completions", "prompt_chat"
    if is_configured("openai"):
        base = backend_config("openai").value or "https://api.openai.com"
        return f"{base.rstrip('/')}/v1/chat/completions", "openai"
    return None


def _converse(model_id: str, text: str) -> str:
    answer = make_client().converse(
        modelId=model_id,
        system=[{"text": INSTRUCTIONS}],
        messages=[{"role": "user", "content": [{"text": text}]}],
        inferenceConfig={"maxTokens": 400, "temperature": 0.2},
    )
    parts = answer["output"]["message"]["content"]
    return " ".join(p.get("text", "") for p in parts).strip()


def _chat(model: str, text: str) -> str:
    import requests

    from avatarsmith.backends.settings import credential

    endpoint = _chat_endpoint()
    assert endpoint is not None, "only called when an endpoint is configured"
    url, key_name = endpoint
    key = credential(key_name)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    reply = requests.post(
        url,
        json={
            "model": model,
            "messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": text}],
            "max_tokens": 400,
            "temperature": 0.2,
        },
        headers=headers,
        timeout=CHAT_TIMEOUT_SECONDS,
        allow_redirects=False,
    )
    reply.raise_for_status()
    return str(reply.json()["choices"][0]["message"]["content"] or "").strip()


def _writer(spec: GenerationSpec) -> tuple[str | None, str, str]:
    """(model that rewrites the prompt or None for the composer, how it is reached, a note on why)."""
    named = (spec.prompt_model or "").strip()
    if named:
        bedrock_id = bool(_BEDROCK_ID.match(named.lower()))
        if bedrock_id and _bedrock_configured():
            return named, "bedrock", ""
        if not bedrock_id and _chat_endpoint() is not None:
            return named, "chat", ""
    default = os.environ.get(MODEL_ENV, "").strip() if spec.prompt else ""
    unserved = f"{named} is not served by a configured language-model backend" if named else ""
    if default:
        return default, "bedrock", unserved
    return None, "", f"prompt model {unserved}; the deterministic composer wrote the prompt" if named else ""


def choose_prompt(spec: GenerationSpec, *, max_chars: int) -> tuple[str, list[str]]:
    """(final prompt, provenance notes)."""
    composed, notes = compose_within(spec, max_chars)
    model_id, via, why = _writer(spec)
    if model_id is None:
        return composed, [*notes, why] if why else notes
    try:
        text = _converse(model_id, composed) if via == "bedrock" else _chat(model_id, composed)
    except Exception as exc:  # optimisation is optional: fall back to the composer, never fail the job
        logger.warning(
            "prompt optimisation failed; using the composed prompt", extra={"error": type(exc).__name__}
        )
        return composed, [
            *notes,
            f"prompt optimiser {model_id} failed ({type(exc).__name__}); composed prompt used",
        ]
    if not text:
        return composed, [*notes, f"prompt optimiser {model_id} answered nothing; composed prompt used"]
    where = "Bedrock Converse" if via == "bedrock" else "an OpenAI-compatible chat endpoint"
    rewritten = [f"prompt rewritten by {model_id} ({where}{'; ' + why if why else ''})"]
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0]
        rewritten.append(f"rewritten prompt cut to the model's {max_chars} characters")
    return text, rewritten
