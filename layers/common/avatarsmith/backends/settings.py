"""Which generation backends this deployment has configured, and their credentials.

One rule for the api (`GET /v1/models`, model resolution) and the processor (running jobs):

- `AVATARSMITH_BACKENDS` (template parameter `GenerationBackends`) lists the enabled backends, comma
  separated, each `name` or `name=value`: the value is the base URL for HTTP backends (required for the
  self-hosted `automatic1111` and `comfyui`; the providers' public endpoints otherwise) and the AWS region
  for `bedrock` (default: the function's region).
- `offline` is always configured (`async-test` follows `AVATARSMITH_ENABLE_TEST_BACKENDS`, see catalog.py).
- Credentials live in one Secrets Manager secret named by `AVATARSMITH_BACKEND_SECRET` (template parameter
  `BackendSecretName`): a JSON object `{"openai": "...", "replicate": "...", "fal": "...", "bfl": "...",
  "automatic1111": "user:password", "comfyui": "bearer token"}`. Only the processor reads it, through
  Powertools parameters (cached for `AVATARSMITH_SECRET_CACHE_SECONDS`, default 300). Bedrock uses the
  function's IAM role. A credential is never logged and never written to a job.

This module imports nothing heavy: the api imports it on its cold path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from avatarsmith.errors import BackendNotConfiguredError

BACKENDS_ENV = "AVATARSMITH_BACKENDS"
SECRET_ENV = "AVATARSMITH_BACKEND_SECRET"  # noqa: S105 - the variable naming the secret
SECRET_CACHE_ENV = "AVATARSMITH_SECRET_CACHE_SECONDS"  # noqa: S105

# Public endpoints used when the operator gives no base URL.
DEFAULT_BASE_URLS: dict[str, str | None] = {
    "openai": "https://api.openai.com",
    "replicate": "https://api.replicate.com",
    "fal": "https://queue.fal.run",
    "bfl": "https://api.bfl.ai",
    "automatic1111": None,  # self-hosted: the operator must say where
    "comfyui": None,
    "bedrock": None,  # the value is a region, not a URL
}
KNOWN_BACKENDS = frozenset(DEFAULT_BASE_URLS)
# Backends whose calls need an API key from the secret (the self-hosted ones may run without one).
NEEDS_CREDENTIAL = frozenset({"openai", "replicate", "fal", "bfl"})


@dataclass(frozen=True)
class BackendConfig:
    name: str
    value: str | None  # base URL, or the region for bedrock


def parse_backends(raw: str) -> dict[str, BackendConfig]:
    """`"bedrock,openai=https://api.openai.com, comfyui=http://10.0.0.5:8188"` -> configs.

    Unknown names and HTTP backends without a usable URL are refused loudly: a typo must not silently
    make every model unavailable.
    """
    out: dict[str, BackendConfig] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        name, value = name.strip().lower(), value.strip()
        if name not in KNOWN_BACKENDS:
            raise ValueError(
                f"{BACKENDS_ENV}: unknown backend {name!r}; known: {', '.join(sorted(KNOWN_BACKENDS))}"
            )
        if name != "bedrock":
            value = (value or DEFAULT_BASE_URLS[name] or "").rstrip("/")
            if not value.startswith(("https://", "http://")):
                raise ValueError(f"{BACKENDS_ENV}: {name} needs a base URL, e.g. {name}=https://host:port")
        out[name] = BackendConfig(name, value or None)
    return out


@lru_cache(maxsize=1)
def configured_backends() -> dict[str, BackendConfig]:
    configured = parse_backends(os.environ.get(BACKENDS_ENV, ""))
    configured["offline"] = BackendConfig("offline", None)
    return configured


def is_configured(name: str) -> bool:
    return name in configured_backends()


def backend_config(name: str) -> BackendConfig:
    config = configured_backends().get(name)
    if config is None:
        raise BackendNotConfiguredError(f"the {name} backend is not configured in this deployment")
    return config


def credential(name: str) -> str | None:
    """The backend's API key from the Secrets Manager secret (cached), or None when it has none.

    Raises BackendNotConfiguredError when the backend needs a key and there is none: a terminal error
    with a clear code rather than a 401 from the provider.
    """
    secret_name = os.environ.get(SECRET_ENV, "").strip()
    value: object = None
    if secret_name:
        from aws_lambda_powertools.utilities import parameters

        max_age = int(os.environ.get(SECRET_CACHE_ENV, "300"))
        secret = parameters.get_secret(secret_name, transform="json", max_age=max_age)
        if isinstance(secret, dict):
            value = secret.get(name)
    if value is None and name in NEEDS_CREDENTIAL:
        raise BackendNotConfiguredError(
            f"no credential for the {name} backend in the backend secret; add a {name!r} key"
        )
    return None if value is None else str(value)


def clear_backend_settings_cache() -> None:
    """For tests and the local stack, which change the environment between runs."""
    configured_backends.cache_clear()
    try:
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
    except ImportError:  # pragma: no cover - powertools is a runtime dependency
        pass
