"""`make run` as a real process, `kill -9`, and a restart on the same state folder: what a 2xx answer
promised is still there, the idempotent submit replays, jobs in flight at the crash end terminal and no
credit stays reserved. `avatarsmith-admin --local` says no stack runs while it is down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
IN_FLIGHT = 20


class LocalProcess:
    def __init__(self, state_dir: Path, pointer: Path, port: int):
        self.env = {
            **os.environ,
            "PORT": str(port),
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'common'}",
            "AVATARSMITH_STATE_DIR": str(state_dir),
            "AVATARSMITH_LOCAL_STATE": str(pointer),
            "AVATARSMITH_PRINT_EVENTS": "0",
            "AVATARSMITH_TEST_BACKEND_POLLS": "6",  # test-async jobs stay in flight for ~6 s
            "AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "1",
        }
        for key in ("AWS_ENDPOINT_URL", "MOTO_PORT", "AVATARSMITH_API_KEY"):
            self.env.pop(key, None)
        self.base = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[str] | None = None
        self.key = ""
        self.output: list[str] = []

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("the local stack exited:\n" + "".join(self.output))
            self.output.append(line)
            if line.strip().startswith("API key"):
                self.key = line.split(":", 1)[1].strip()
            if line.strip().startswith("Try it:"):
                return
        raise AssertionError("the local stack did not start:\n" + "".join(self.output))

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def call(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or self.key}", **kwargs.pop("headers", {})}
        return requests.request(method, self.base + path, headers=headers, timeout=40, **kwargs)

    def admin(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "avatarsmith_admin.cli", "--local", "--json", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def local_process(tmp_path: Path) -> Iterator[LocalProcess]:
    process = LocalProcess(tmp_path / "state", tmp_path / "pointer.json", free_port())
    try:
        yield process
    finally:
        process.stop()


def _wait_terminal(stack: LocalProcess, job_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = stack.call("GET", f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "canceled") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.5)


def test_state_survives_kill_9_and_in_flight_jobs_end_terminal(local_process: LocalProcess) -> None:
    stack = local_process
    stack.start()
    demo_key = stack.key
    # Given: a completed job with images, a saved avatar, an admin-made tenant, an idempotent submit
    body = {"prompt": "smiling woman with red hair", "style": "professional", "num_variations": 2}
    done = stack.call("POST", "/v1/avatars/generate", json=body).json()
    done = _wait_terminal(stack, done["id"], 60)
    assert done["status"] == "completed"
    saved = stack.call("POST", "/v1/avatars/save", json={"job_id": done["id"], "label": "keeper"})
    assert saved.status_code in (200, 201), saved.text
    created = stack.admin("create-tenant", "acme", "--credits", "50")
    assert created.returncode == 0, created.stderr
    acme = json.loads(created.stdout)
    idem_headers = {"Idempotency-Key": "crash-test-1"}
    idem_body = {"prompt": "man with a beard", "num_variations": 1}
    first = stack.call("POST", "/v1/avatars/generate", json=idem_body, headers=idem_headers)
    assert first.status_code == 202
    # and 20 jobs in flight on the slow model
    in_flight = [
        stack.call("POST", "/v1/avatars/generate", json={"prompt": f"person {i}", "model": "test-async"})
        for i in range(IN_FLIGHT)
    ]
    assert all(r.status_code == 202 for r in in_flight)
    in_flight_ids = [r.json()["id"] for r in in_flight]
    before = stack.call("GET", "/v1/account").json()
    assert before["reserved"] > 0
    audit_before = json.loads(stack.admin("audit", before["tenant_id"]).stdout)
    listed_before = {j["id"] for j in stack.call("GET", "/v1/jobs?limit=100").json()["data"]}

    # When the whole stack is killed with SIGKILL
    stack.kill9()
    down = stack.admin("list-tenants")
    # Then the admin command says clearly that none runs (no stale pointer followed)
    assert down.returncode != 0
    assert "no local stack is running" in down.stdout + down.stderr

    # When it starts again on the same state folder
    stack.start()
    # Then the demo key is the same tenant, and everything acknowledged is there
    assert stack.key == demo_key
    listed_after = {j["id"] for j in stack.call("GET", "/v1/jobs?limit=100").json()["data"]}
    assert listed_before <= listed_after
    again = stack.call("GET", f"/v1/jobs/{done['id']}").json()
    assert again["status"] == "completed"
    for avatar in again["avatars"]:
        image = requests.get(avatar["image_url"], timeout=30)
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    avatars = stack.call("GET", "/v1/avatars").json()["data"]
    assert [a["label"] for a in avatars] == ["keeper"]
    acme_account = stack.call("GET", "/v1/account", key=acme["api_key"])
    assert acme_account.status_code == 200 and acme_account.json()["balance"] == 50
    assert stack.admin("show-tenant", acme["tenant_id"]).returncode == 0
    replay = stack.call("POST", "/v1/avatars/generate", json=idem_body, headers=idem_headers)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    # and every job in flight at the crash ends terminal, with nothing left reserved
    for job_id in [*in_flight_ids, first.json()["id"]]:
        job = _wait_terminal(stack, job_id, 120)
        assert job["status"] in ("completed", "failed"), job
    after = stack.call("GET", "/v1/account").json()
    assert after["reserved"] == 0
    assert after["running_jobs"] == 0
    audit_after = json.loads(stack.admin("audit", before["tenant_id"]).stdout)
    assert audit_after["balanced"] is True, audit_after  # ledger == balance, nothing charged twice
    assert audit_after["reserved"] == 0
    assert audit_after["entries"] > audit_before["entries"]  # the old ledger plus the settlements
