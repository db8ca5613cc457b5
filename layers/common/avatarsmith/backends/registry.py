"""Backend name -> a fresh backend. Tests plug fakes in with `register_backend`.

Importing this module does not import Pillow: the renderer is imported when a backend fetches.
"""

from __future__ import annotations

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


def get_backend(name: str) -> GenerationBackend:
    factory = _FACTORIES.get(name)
    if factory is None:
        raise GenerationRejectedError(f"unknown generation backend {name!r}")
    return factory()
