"""Credit races over HTTP against the local stack (real threads, real sockets), and the admin command
against the same running stack through its state file, as an operator would use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.stack import EmbeddedStack, StackInfo
from tests import credit_scenarios as scenarios

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedStack, StackInfo, Path]]:
    state = tmp_path_factory.mktemp("state") / ".avatarsmith-local.json"
    local = EmbeddedStack(
        api_port=0,
        state_file=state,
        extra_env={"AVATARSMITH_ALLOW_LOOPBACK_URLS": "1", "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0"},
    )
    info = local.start()
    try:
        yield local, info, state
    finally:
        local.stop()
    assert not state.exists(), "the state file is removed when the stack stops"


@pytest.fixture
def world(stack: tuple[EmbeddedStack, StackInfo, Path]) -> scenarios.World:
    from avatarsmith.logic.tenant_admin import TenantAdmin

    local, info, _ = stack
    admin = TenantAdmin.for_table(info.environment["TABLE_NAME"])
    return scenarios.World(
        call=scenarios.http_transport(info.api_url), new_tenant=local.add_tenant, audit=admin.audit
    )


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_scenario_over_http(world: scenarios.World, name: str) -> None:
    scenarios.SCENARIOS[name](world)


def test_a_failed_job_is_refunded_once_and_balances(world: scenarios.World) -> None:
    # (imagen3 and flux here: no real backend configured, offline fallbacks at 1 credit per variation)
    tenant_id, key = world.new_tenant("fails", credits=10)
    refused_port = "http://127.0.0.1:9/nothing-listens-here.png"
    status, _, job = world.call(
        "POST",
        "/v1/avatars/generate",
        key,
        body={"prompt": "x", "model": "imagen3", "reference_images": [refused_port]},
    )
    assert status == 202, job
    status, _, job = world.call(
        "GET", f"/v1/jobs/{job['id']}", key, query={"wait_for_completion": "true", "timeout_seconds": "30"}
    )
    assert job["status"] == "failed" and job["credits"] == {"reserved": 1, "charged": 0, "refunded": 1}
    audit = world.audit(tenant_id)
    assert audit["balanced"] and (audit["balance"], audit["reserved"]) == (10, 0)


def _wait_idle(world: scenarios.World, key: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        _, _, account = world.call("GET", "/v1/account", key)
        if account["running_jobs"] == 0 or time.monotonic() > deadline:
            return account
        time.sleep(0.1)


def test_completed_jobs_are_charged_and_the_balance_header_follows(world: scenarios.World) -> None:
    tenant_id, key = world.new_tenant("charged", credits=10)
    status, _, job = world.call(
        "POST", "/v1/avatars/generate", key, body={"prompt": "x", "model": "flux", "num": 2}
    )
    assert status == 202
    status, headers, job = world.call(
        "GET", f"/v1/jobs/{job['id']}", key, query={"wait_for_completion": "true", "timeout_seconds": "30"}
    )
    assert job["status"] == "completed" and job["credits"] == {"reserved": 2, "charged": 2, "refunded": 0}
    account = _wait_idle(world, key)
    assert (account["balance"], account["reserved"]) == (8, 0)
    status, headers, _ = world.call("GET", f"/v1/jobs/{job['id']}", key)
    assert headers["X-Credits-Balance"] == "8"
    assert world.audit(tenant_id)["balanced"]


def test_admin_command_against_the_running_stack(
    stack: tuple[EmbeddedStack, StackInfo, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    from avatarsmith_admin.cli import main

    _, info, state = stack
    monkeypatch.setenv("AVATARSMITH_LOCAL_STATE", str(state))
    # a subprocess, as an operator runs it
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'layers/common'}",
        "AVATARSMITH_LOCAL_STATE": str(state),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "avatarsmith_admin",
            "--local",
            "--json",
            "create-tenant",
            "acme",
            "--credits",
            "7",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    created = json.loads(out.stdout)
    assert created["credits"] == 7 and created["api_key"].startswith(created["key_prefix"])
    tenant_id, key = created["tenant_id"], created["api_key"]
    call = scenarios.http_transport(info.api_url)
    status, _, account = call("GET", "/v1/account", key)
    assert status == 200 and account["balance"] == 7 and account["tenant_id"] == tenant_id

    def admin(*argv: str) -> dict:
        assert main(["--local", "--json", *argv]) == 0
        return json.loads(capsys.readouterr().out)

    assert admin("grant-credits", tenant_id, "5")["balance"] == 12
    assert admin("deduct-credits", tenant_id, "2", "--note", "goodwill reversal")["balance"] == 10
    assert main(["--local", "--json", "deduct-credits", tenant_id, "11"]) == 2
    assert "balance is 10" in json.loads(capsys.readouterr().out)["error"]
    limits = admin("set-limits", tenant_id, "--max-concurrent-jobs", "3")["limits"]
    assert limits["max_concurrent_jobs"] == 3
    keys = admin("list-keys", tenant_id)["keys"]
    assert [k["prefix"] for k in keys] == [created["key_prefix"]] and keys[0]["last_used_at"]
    rotated = admin("rotate-key", tenant_id, created["key_id"])
    assert rotated["revoked"]["status"] == "revoked"
    assert call("GET", "/v1/account", rotated["api_key"])[0] == 200
    issued = admin("issue-key", tenant_id)
    assert admin("revoke-key", tenant_id, issued["key_id"])["status"] == "revoked"
    statuses = {k["key_id"]: k["status"] for k in admin("list-keys", tenant_id)["keys"]}
    assert statuses == {
        created["key_id"]: "revoked",
        rotated["key_id"]: "active",
        issued["key_id"]: "revoked",
    }
    shown = admin("show-tenant", tenant_id)
    assert shown["balance"] == 10 and shown["limits"]["max_concurrent_jobs"] == 3
    assert [e["kind"] for e in shown["recent_ledger_entries"]] == ["deduct", "grant", "grant"]
    assert admin("audit", tenant_id)["balanced"]
    assert tenant_id in {t["tenant_id"] for t in admin("list-tenants")["tenants"]}
