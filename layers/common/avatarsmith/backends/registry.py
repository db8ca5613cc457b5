"""Backend name -> a fresh backend. Tests plug fakes in with `register_backend`.

Importing this module does not import Pillow: the renderer is imported when a backend fetches.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

from avatarsmith.backends.async_test import AsyncTestBackend
from avatarsmith.backends.base import GenerationBackend
from avatarsmith.backends.offline import OfflineBackend
from avatarsmith.errors import GenerationRejectedError

BackendFactory = Callable[[], GenerationBackend]

_FACTORIES: dict[str, BackendFactory] = {
    "offline": OfflineBackend,
    "async-test": AsyncTestBackend,
}


def register_backend(name: str, factory: BackendFactory) -> None:
    _FACTORIES[name] = factory


def _allow_loopback() -> bool:
    return os.environ.get("AVATARSMITH_ALLOW_LOOPBACK_URLS", "").strip().lower() in ("1", "true", "yes")


def _http_adapter(module: str, cls: str, name: str) -> BackendFactory:
    """A factory that imports the adapter (and requests) only when a job on that backend runs."""

    def build() -> GenerationBackend:
        from avatarsmith.backends.settings import backend_config, credential

        config = backend_config(name)
        adapter = getattr(importlib.import_module(f"avatarsmith.backends.{module}"), cls)
        return adapter(config.value or "", credential(name), allow_loopback=_allow_loopback())

    return build


def _bedrock() -> GenerationBackend:
    from avatarsmith.backends.bedrock import BedrockBackend
    from avatarsmith.backends.settings import backend_config

    return BedrockBackend(region=backend_config("bedrock").value)


# Real backends: built only when configured (backends/settings.py); credentials from Secrets Manager.
_ADAPTERS: dict[str, BackendFactory] = {
    "openai": _http_adapter("openai", "OpenAIBackend", "openai"),
    "replicate": _http_adapter("replicate", "ReplicateBackend", "replicate"),
    "fal": _http_adapter("fal", "FalBackend", "fal"),
    "bfl": _http_adapter("bfl", "BflBackend", "bfl"),
    "automatic1111": _http_adapter("automatic1111", "Automatic1111Backend", "automatic1111"),
    "comfyui": _http_adapter("comfyui", "ComfyUIBackend", "comfyui"),
    "bedrock": _bedrock,
}


def get_backend(name: str) -> GenerationBackend:
    factory = _FACTORIES.get(name) or _ADAPTERS.get(name)
    if factory is None:
        raise GenerationRejectedError(f"unknown generation backend {name!r}")
    return factory()
