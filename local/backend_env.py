"""Real generation backends from `make run`: the variables an operator sets, handed to the functions as the
template's parameters hand them on AWS.

| variable                              | on AWS                                    |
|---------------------------------------|-------------------------------------------|
| AVATARSMITH_BACKENDS                  | parameter GenerationBackends              |
| AVATARSMITH_BACKEND_KEYS (JSON)       | the secret BackendSecretName names        |
| AVATARSMITH_PROMPT_CHAT_URL           | parameter PromptChatUrl                   |
| AVATARSMITH_PROMPT_OPTIMIZER_MODEL    | parameter PromptOptimizerModelId          |
| AVATARSMITH_POLL_SECONDS              | parameter BackendPollSeconds              |
| AVATARSMITH_OFFLINE_FALLBACK          | parameter OfflineFallback                 |
| AWS_ENDPOINT_URL_BEDROCK_RUNTIME      | (Bedrock's own endpoint)                  |
| AVATARSMITH_BEDROCK_PROFILE           | (the function's IAM role, for Bedrock)    |

The keys go into the emulated Secrets Manager under LOCAL_SECRET_NAME, which the functions get as
AVATARSMITH_BACKEND_SECRET: they are never printed, logged, or written to any file of the stack's own (the
emulator keeps its Secrets Manager in memory only). Bedrock's two variables go only to the functions that
call backends (those whose template environment names the backend secret): every other AWS call stays on
the emulator. A wrong value fails `make run` at start, naming the variable and never echoing a key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PARAMETERS = {
    "AVATARSMITH_BACKENDS": "GenerationBackends",
    "AVATARSMITH_PROMPT_CHAT_URL": "PromptChatUrl",
    "AVATARSMITH_PROMPT_OPTIMIZER_MODEL": "PromptOptimizerModelId",
    "AVATARSMITH_POLL_SECONDS": "BackendPollSeconds",
    "AVATARSMITH_OFFLINE_FALLBACK": "OfflineFallback",
}
KEYS_ENV = "AVATARSMITH_BACKEND_KEYS"
BEDROCK_ENDPOINT_ENV = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"
BEDROCK_PROFILE_ENV = "AVATARSMITH_BEDROCK_PROFILE"
LOCAL_SECRET_NAME = "avatarsmith-local/backends"  # noqa: S105 - a name, not a secret
SECRET_ENV = "AVATARSMITH_BACKEND_SECRET"  # noqa: S105 - the variable naming the secret


class BackendSettingsError(ValueError):
    """A backend variable `make run` cannot use (the message names it and never quotes a key)."""


@dataclass
class LocalBackends:
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter -> value
    keys: dict[str, str] | None = field(default=None, repr=False)  # the backend secret's JSON object
    bedrock_env: dict[str, str] = field(default_factory=dict)  # for the functions that call backends

    def describe(self) -> str:
        """One line for the console: what is configured, never a key's value."""
        backends = self.parameters.get("GenerationBackends") or "none (offline renderer only)"
        names = ", ".join(sorted(self.keys)) if self.keys else "none"
        return f"{backends}; keys for: {names}"


def from_environment(environ: Mapping[str, str]) -> LocalBackends:
    from avatarsmith.backends.settings import parse_backends

    out = LocalBackends()
    for variable, parameter in PARAMETERS.items():
        value = environ.get(variable, "").strip()
        if value:
            out.parameters[parameter] = value
    try:
        configured = parse_backends(out.parameters.get("GenerationBackends", ""))
    except ValueError as exc:
        raise BackendSettingsError(str(exc)) from None
    _check_poll_seconds(out.parameters.get("BackendPollSeconds", ""))
    fallback = out.parameters.get("OfflineFallback")
    if fallback is not None and fallback not in ("allow", "refuse"):
        raise BackendSettingsError("AVATARSMITH_OFFLINE_FALLBACK: allow or refuse")
    raw_keys = environ.get(KEYS_ENV, "").strip()
    if raw_keys:
        out.keys = parse_keys(raw_keys)
        out.parameters["BackendSecretName"] = LOCAL_SECRET_NAME
    out.bedrock_env = _bedrock_env(environ, uses_bedrock="bedrock" in configured)
    return out


def parse_keys(raw: str) -> dict[str, str]:
    """The backend secret's shape: a JSON object of strings. Errors say where, never what."""
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BackendSettingsError(
            f"{KEYS_ENV} is not valid JSON ({exc.msg} at character {exc.pos}); "
            'expected an object such as {"openai": "sk-..."}'
        ) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise BackendSettingsError(
            f'{KEYS_ENV} must be a JSON object of non-empty strings, such as {{"openai": "sk-..."}}'
        )
    return value


def _check_poll_seconds(raw: str) -> None:
    for item in filter(None, (i.strip() for i in raw.split(","))):
        name, sep, seconds = item.partition("=")
        if not sep or not name.strip() or not seconds.strip().isdigit() or int(seconds) > 300:
            raise BackendSettingsError(
                f"AVATARSMITH_POLL_SECONDS: {item!r} is not backend=seconds (0-300), "
                "e.g. fal=1,replicate=2 or *=1"
            )


def _bedrock_env(environ: Mapping[str, str], *, uses_bedrock: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    endpoint = environ.get(BEDROCK_ENDPOINT_ENV, "").strip()
    profile = environ.get(BEDROCK_PROFILE_ENV, "").strip()
    if endpoint:
        if not endpoint.startswith(("http://", "https://")):
            raise BackendSettingsError(f"{BEDROCK_ENDPOINT_ENV}: a URL, e.g. http://127.0.0.1:8900")
        out[BEDROCK_ENDPOINT_ENV] = endpoint
    if profile:
        out[BEDROCK_PROFILE_ENV] = profile
        # Where botocore finds the profile (the functions start with no HOME of their own).
        home = Path(environ.get("HOME") or Path.home())
        out["AWS_CONFIG_FILE"] = environ.get("AWS_CONFIG_FILE") or str(home / ".aws" / "config")
        out["AWS_SHARED_CREDENTIALS_FILE"] = environ.get("AWS_SHARED_CREDENTIALS_FILE") or str(
            home / ".aws" / "credentials"
        )
        out["HOME"] = str(home)  # SSO profiles keep their token cache under ~/.aws/sso
    if uses_bedrock and not out:
        raise BackendSettingsError(
            f"AVATARSMITH_BACKENDS names bedrock: set {BEDROCK_PROFILE_ENV} (an AWS profile for real "
            f"Bedrock) or {BEDROCK_ENDPOINT_ENV} (a Bedrock-compatible endpoint); every other AWS "
            "call of the local stack goes to its emulator"
        )
    return out


def store_keys(session: Any, keys: dict[str, str]) -> str:
    """Put the keys in the emulated Secrets Manager; returns the secret's name."""
    client = session.client("secretsmanager")
    secret = json.dumps(keys)
    try:
        client.create_secret(Name=LOCAL_SECRET_NAME, SecretString=secret)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=LOCAL_SECRET_NAME, SecretString=secret)
    return LOCAL_SECRET_NAME


def calls_backends(environment: Mapping[str, Any]) -> bool:
    """A function whose template environment names the backend secret is one that calls backends."""
    return SECRET_ENV in environment


def unset_keys_variable() -> None:
    """The stack process forgets the keys' variable once read (no child inherits it by accident)."""
    os.environ.pop(KEYS_ENV, None)
