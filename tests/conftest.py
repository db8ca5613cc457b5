"""Shared fixtures.

`aws` gives an in-process moto account provisioned from template.yaml by the same code the local stack
uses, so tests cannot drift from the template. `AWS_ENDPOINT_URL` is removed: with it set, in-process
mock_aws stops intercepting.
"""

from __future__ import annotations

import json
import os
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(autouse=True)
def _isolated_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if request.node.get_closest_marker("e2e"):
        yield  # the local stack owns the environment (it points every client at its moto server)
        return
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "MOTO_PORT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    _reset_caches()
    yield
    _reset_caches()


def _reset_caches() -> None:
    from avatarsmith.backends.settings import clear_backend_settings_cache
    from avatarsmith.config import clear_settings_cache
    from avatarsmith.dal.clients import reset_clients
    from avatarsmith.logic.auth import clear_auth_cache

    clear_settings_cache()
    clear_backend_settings_cache()
    reset_clients()
    clear_auth_cache()
    for module_name in (
        "functions.api.app",
        "functions.processor.app",
        "functions.notifier.app",
        "functions.reaper.app",
    ):
        module = sys.modules.get(module_name)
        if module is not None:
            module.get_services.cache_clear()


@dataclass
class AwsAccount:
    refs: dict[str, str]
    attrs: dict[tuple[str, str], str]
    env: dict[str, str]
    session: Any

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def add_tenant(self, name: str = "tenant", *, credits: int = 1_000_000, **limits: int) -> tuple[str, str]:
        from avatarsmith.logic.tenant_admin import TenantAdmin
        from avatarsmith.models.billing import TenantLimits

        created = TenantAdmin.for_table(self.env["TABLE_NAME"]).create_tenant(
            name, credits=credits, limits=TenantLimits(**limits)
        )
        return created["tenant_id"], created["api_key"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsAccount]:
    import boto3
    from moto import mock_aws

    from local import lambda_adapter
    from local.provision import provision
    from local.template import load_template

    config = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        lambda_adapter.install()
        try:
            session = boto3.session.Session()
            provisioned = provision(session, load_template(), {"EnableTestBackends": "true"})
            for key, value in provisioned.environment.items():
                monkeypatch.setenv(key, value)
            monkeypatch.setenv("AVATARSMITH_ALLOW_LOOPBACK_URLS", "1")
            _reset_caches()
            yield AwsAccount(provisioned.refs, provisioned.attrs, provisioned.environment, session)
        finally:
            lambda_adapter.uninstall()


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASL Retry intervals sleep in real time in moto; skip the sleeping (the retry still happens)."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=lambda _s: None))


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVATARSMITH_TEST_BACKEND_POLL_SECONDS", "0")


def lambda_context(name: str = "test", timeout_seconds: int = 30) -> Any:
    from local.lambda_adapter import LocalContext

    return LocalContext(name, timeout_seconds)


os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
