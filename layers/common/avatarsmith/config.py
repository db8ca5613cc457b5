"""Typed settings, one model per function, read from the environment inside handlers (never at import).

Resource names have no defaults: a missing one fails loudly on the first invocation.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T", bound="_EnvSettings")


class _EnvSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_env(cls: type[T], environ: dict[str, str] | None = None) -> T:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {name: env[name] for name in cls.model_fields if name in env}
        return cls.model_validate(values)


class _FeatureFlags(_EnvSettings):
    AVATARSMITH_ENABLE_TEST_BACKENDS: bool = False
    AVATARSMITH_ALLOW_LOOPBACK_URLS: bool = False


class ApiSettings(_FeatureFlags):
    TABLE_NAME: str
    GENERATION_QUEUE_URL: str
    IMAGES_BUCKET_NAME: str
    PRESIGNED_URL_TTL_SECONDS: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    API_KEY_CACHE_SECONDS: int = Field(default=60, ge=0, le=3600)
    WEBHOOK_QUEUE_URL: str
    EVENT_BUS_NAME: str
    IDEMPOTENCY_WAIT_SECONDS: float = Field(default=10, ge=0, le=25)
    # Requests one tenant may hold open at once while waiting for jobs (long-polls, `Prefer: wait`)
    WAITS_PER_TENANT: int = Field(default=16, ge=0, le=10_000)
    # The front door (the local stack's) waits instead of the function: see logic/waiting.py
    WAIT_IN_FRONT_DOOR: bool = False


class DispatcherSettings(_EnvSettings):
    STATE_MACHINE_ARN: str  # STANDARD: asynchronous backends (long provider tasks, exactly-once runs)
    EXPRESS_STATE_MACHINE_ARN: str  # EXPRESS: synchronous backends (at-least-once runs, idempotent steps)
    EVENT_BUS_NAME: str
    # Which jobs publish queued/processing events: "asynchronous" (STANDARD workflow) or "all"
    PROGRESS_EVENTS: Literal["asynchronous", "all"] = "asynchronous"


class ProcessorSettings(_FeatureFlags):
    TABLE_NAME: str
    IMAGES_BUCKET_NAME: str
    GENERATION_DEADLINE_SECONDS: int = Field(default=900, ge=10, le=86_400)
    EVENT_BUS_NAME: str
    PROGRESS_EVENTS: Literal["asynchronous", "all"] = "asynchronous"


class NotifierSettings(_FeatureFlags):
    TABLE_NAME: str
    IMAGES_BUCKET_NAME: str
    WEBHOOK_QUEUE_URL: str
    WEBHOOK_DEAD_LETTER_QUEUE_URL: str
    PRESIGNED_URL_TTL_SECONDS: int = Field(default=86_400, ge=60, le=7 * 24 * 3600)
    WEBHOOK_RETRY_BASE_SECONDS: float = Field(default=1.0, ge=0, le=10)
    WEBHOOK_CONNECT_TIMEOUT_SECONDS: float = Field(default=3.0, gt=0, le=30)
    WEBHOOK_READ_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=30)


class ReaperSettings(_EnvSettings):
    TABLE_NAME: str
    STATE_MACHINE_ARN: str
    GENERATION_QUEUE_URL: str
    EVENT_BUS_NAME: str
    GENERATION_DEADLINE_SECONDS: int = Field(default=900, ge=10, le=86_400)
    REAPER_MARGIN_SECONDS: int = Field(default=300, ge=0, le=86_400)
    REAPER_QUEUED_GRACE_SECONDS: int = Field(default=900, ge=0, le=86_400)
    REAPER_MAX_REDRIVES: int = Field(default=2, ge=0, le=10)


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    return ApiSettings.from_env()


@lru_cache(maxsize=1)
def get_dispatcher_settings() -> DispatcherSettings:
    return DispatcherSettings.from_env()


@lru_cache(maxsize=1)
def get_processor_settings() -> ProcessorSettings:
    return ProcessorSettings.from_env()


@lru_cache(maxsize=1)
def get_notifier_settings() -> NotifierSettings:
    return NotifierSettings.from_env()


@lru_cache(maxsize=1)
def get_reaper_settings() -> ReaperSettings:
    return ReaperSettings.from_env()


def clear_settings_cache() -> None:
    """For tests and the local stack, which change the environment between runs."""
    for getter in (
        get_api_settings,
        get_dispatcher_settings,
        get_processor_settings,
        get_notifier_settings,
        get_reaper_settings,
    ):
        getter.cache_clear()
