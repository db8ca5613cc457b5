"""`avatarsmith-admin --local check-backends` against `make run` with real backends on loopback fakes: the
openai backend has its right key (ok), the fal backend a wrong one (its fake answers 401, the jobs fail
with backend_auth_failed) - the command prints both per model and exits non-zero; checking only the good
model passes. The same stack refuses the offline fallback (AVATARSMITH_OFFLINE_FALLBACK=refuse)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import pytest

from local.stack import free_port
from tests.e2e.test_crash_recovery import ROOT, LocalProcess
from tests.fakes.providers import FalFake, OpenAIFake
from tests.fakes.server import serve

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    tmp = tmp_path_factory.mktemp("check-backends")
    openai, fal = OpenAIFake(), FalFake()
    openai.key = f"sk-{uuid.uuid4().hex}"
    with serve(openai), serve(fal):
        process = LocalProcess(tmp / "state", tmp / "pointer.json", free_port())
        process.env.update(
            {
                "AVATARSMITH_BACKENDS": f"openai={openai.url},fal={fal.url}",
                # fal's fake accepts only its own key ("test-key"): this one is refused with a 401
                "AVATARSMITH_BACKEND_KEYS": json.dumps({"openai": openai.key, "fal": "revoked-key"}),
                "AVATARSMITH_ALLOW_LOOPBACK_URLS": "1",
                "AVATARSMITH_POLL_SECONDS": "*=0",
                "AVATARSMITH_OFFLINE_FALLBACK": "refuse",
            }
        )
        process.start()
        assert process.proc is not None and process.proc.stdout is not None
        console = process.proc.stdout
        threading.Thread(target=lambda: console.read(), daemon=True).start()  # keep its pipe flowing
        try:
            yield process
        finally:
            process.stop()


def _check(stack: LocalProcess, *args: str) -> tuple[int, str, dict]:
    human = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "avatarsmith_admin.cli", "--local", "check-backends", *args],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    as_json = stack.admin("check-backends", *args)
    assert as_json.returncode == human.returncode, as_json.stderr
    return human.returncode, human.stdout + human.stderr, json.loads(as_json.stdout)


def test_check_backends_reports_each_model_and_fails_on_any_failure(stack: LocalProcess) -> None:
    # When: the operator runs the smoke test over every configured backend model
    code, printed, report = _check(stack)
    # Then: one line per real model; gpt-image-1 ok with its latency and image size, fal's 401 named
    results = {m["model"]: m for m in report["models"]}
    assert set(results) == {"gpt-image-1", "flux", "imagen3", "flux-schnell"}, printed
    good = results["gpt-image-1"]
    assert (good["ok"], good["result"], good["backend"]) == (True, "ok", "openai")
    assert good["latency_seconds"] > 0 and good["width"] == good["height"] == 1024
    assert good["image_bytes"] > 0
    for model_id in ("flux", "imagen3", "flux-schnell"):
        assert (results[model_id]["backend"], results[model_id]["result"]) == ("fal", "backend_auth_failed")
    assert code == 1 and report["ok"] is False
    assert "gpt-image-1" in printed and "backend_auth_failed" in printed and "1 ok, 3 failed" in printed
    # And: the check's own tenant key is revoked afterwards
    keys = json.loads(stack.admin("list-keys", report["tenant_id"]).stdout)["keys"]
    assert [k["status"] for k in keys] == ["revoked"]


def test_check_backends_passes_when_every_checked_model_works(stack: LocalProcess) -> None:
    code, printed, report = _check(stack, "--model", "gpt-image-1")
    assert code == 0 and report["ok"] is True, printed
    assert [m["model"] for m in report["models"]] == ["gpt-image-1"]
    assert "1 ok, 0 failed" in printed


def test_a_stack_refusing_the_fallback_answers_model_unavailable(stack: LocalProcess) -> None:
    # reality4's backends (bedrock, automatic1111) are not configured, and the fallback is refused
    models = {m["id"] for m in stack.call("GET", "/v1/models").json()["data"]}
    assert "reality4" not in models and "avatarsmith-studio" in models
    response = stack.call("POST", "/v1/avatars/generate", json={"prompt": "x", "model": "reality4"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "model_unavailable"
