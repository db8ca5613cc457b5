"""`make run` with a real backend: AVATARSMITH_BACKENDS points the openai backend at a loopback fake of the
OpenAI Images API, AVATARSMITH_BACKEND_KEYS carries its key. A job driven through the public API reaches
the fake with that key, and the key appears nowhere the stack writes: its console and its state folder.
Models with no configured real route are served by the offline renderer only as a visible, offline-priced
fallback. Bad backend variables stop `make run` at once, naming the variable and never echoing a key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.stack import free_port
from tests.e2e.test_crash_recovery import ROOT, LocalProcess
from tests.fakes.providers import OpenAIFake
from tests.fakes.server import serve

pytestmark = pytest.mark.e2e


@pytest.fixture
def openai_fake() -> Iterator[OpenAIFake]:
    fake = OpenAIFake()
    fake.key = f"sk-local-{uuid.uuid4().hex}"  # unique: found anywhere, it leaked from this test
    with serve(fake):
        yield fake


def _wait(stack: LocalProcess, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = stack.call("GET", f"/v1/jobs/{job_id}", params={"wait_for_completion": "true"}).json()
        if job["status"] in ("completed", "failed", "canceled") or time.monotonic() > deadline:
            return dict(job)


def _drain(stack: LocalProcess, into: list[str]) -> None:
    assert stack.proc is not None and stack.proc.stdout is not None
    for line in stack.proc.stdout:
        into.append(line)


def _files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_make_run_hands_a_real_backend_its_key_and_never_writes_it(
    tmp_path: Path, openai_fake: OpenAIFake
) -> None:
    # Given: make run with the openai backend on a loopback fake and its key in AVATARSMITH_BACKEND_KEYS
    state_dir = tmp_path / "state"
    stack = LocalProcess(state_dir, tmp_path / "pointer.json", free_port())
    stack.env.update(
        {
            "AVATARSMITH_BACKENDS": f"openai={openai_fake.url}",
            "AVATARSMITH_BACKEND_KEYS": json.dumps({"openai": openai_fake.key}),
            "AVATARSMITH_ALLOW_LOOPBACK_URLS": "1",
            "AVATARSMITH_PRINT_EVENTS": "1",
            "LOG_LEVEL": "DEBUG",  # the most the stack and its functions ever print
        }
    )
    drained: list[str] = []
    reader = None
    try:
        stack.start()
        reader = threading.Thread(target=_drain, args=(stack, drained), daemon=True)
        reader.start()  # a console nobody reads would fill its pipe and stall the stack
        # When: a gpt-image-1 job is driven through the public API
        submitted = stack.call(
            "POST",
            "/v1/avatars/generate",
            json={"prompt": "smiling woman with red hair", "model": "gpt-image-1", "num_variations": 2},
        )
        assert submitted.status_code == 202, submitted.text
        job = _wait(stack, submitted.json()["id"])

        # Then: it completed on the openai backend, which received the configured key
        assert job["status"] == "completed", job
        assert job["provenance"]["backend"] == "openai"
        assert job["credits"]["charged"] == 2 * 6
        assert [a["status"] for a in job["avatars"]] == ["completed", "completed"]
        generate_calls = [r for r in openai_fake.requests if r.path == "/v1/images/generations"]
        assert generate_calls, openai_fake.calls
        assert {r.headers["authorization"] for r in generate_calls} == {f"Bearer {openai_fake.key}"}
        assert not getattr(openai_fake, "violations", []), "the contract fake refused a request"

        # And: flux, with none of its own backends configured, is an offline fallback at the offline price
        models = {m["id"]: m for m in stack.call("GET", "/v1/models").json()["data"]}
        assert models["gpt-image-1"]["fallback"] is False and models["gpt-image-1"]["served_by"] == "openai"
        flux = models["flux"]
        assert (flux["fallback"], flux["served_by"], flux["credits_per_variation"]) == (True, "offline", 1)
        fallback_job = stack.call(
            "POST", "/v1/avatars/generate", json={"prompt": "man with a beard", "model": "flux"}
        )
        assert fallback_job.status_code == 202, fallback_job.text
        assert fallback_job.json()["credits"]["reserved"] == 1
        done = _wait(stack, fallback_job.json()["id"])
        assert (done["status"], done["provenance"]["backend"], done["credits"]["charged"]) == (
            "completed",
            "offline",
            1,
        )
    finally:
        stack.stop()
        if reader is not None:
            reader.join(timeout=30)
    console = "".join(stack.output + drained)

    # And: the key is nowhere in the console or in any file the stack wrote
    assert "Backends     : openai=" in console and "keys for: openai" in console
    assert openai_fake.key not in console
    assert state_dir.exists() and not _files_containing(state_dir, openai_fake.key.encode())
    assert not _files_containing(tmp_path, openai_fake.key.encode())


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("AVATARSMITH_BACKENDS", "openai=http://127.0.0.1:9,dall-e", "AVATARSMITH_BACKENDS"),
        ("AVATARSMITH_BACKENDS", "comfyui", "AVATARSMITH_BACKENDS"),
        ("AVATARSMITH_BACKEND_KEYS", '{"openai": "sk-secret-1234567890",}', "AVATARSMITH_BACKEND_KEYS"),
        ("AVATARSMITH_BACKEND_KEYS", '["sk-secret-1234567890"]', "AVATARSMITH_BACKEND_KEYS"),
        ("AVATARSMITH_POLL_SECONDS", "fal=soon", "AVATARSMITH_POLL_SECONDS"),
        ("AVATARSMITH_OFFLINE_FALLBACK", "maybe", "AVATARSMITH_OFFLINE_FALLBACK"),
        ("AVATARSMITH_BACKENDS", "bedrock", "AVATARSMITH_BEDROCK_PROFILE"),
    ],
)
def test_make_run_refuses_bad_backend_variables_loudly(
    tmp_path: Path, variable: str, value: str, named: str
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'common'}",
        "AVATARSMITH_STATE_DIR": str(tmp_path / "state"),
        "AVATARSMITH_LOCAL_STATE": str(tmp_path / "pointer.json"),
        "PORT": str(free_port()),
        variable: value,
    }
    env.pop("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", None)
    env.pop("AVATARSMITH_BEDROCK_PROFILE", None)
    # When: make run starts with the bad value
    result = subprocess.run(
        [sys.executable, "-m", "local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    # Then: it stops before starting anything, names the variable, and never echoes a key
    assert result.returncode == 2, result.stdout + result.stderr
    assert named in result.stderr
    assert "sk-secret-1234567890" not in result.stdout + result.stderr
    assert "API base URL" not in result.stdout


def test_a_bedrock_profile_signs_only_bedrock_calls(tmp_path: Path) -> None:
    from tests.fakes.vendors.bedrock import BedrockVendorFake

    # Given: a Bedrock-compatible endpoint that accepts only the profile's access key id, and a profile
    secret = f"profile-secret-{uuid.uuid4().hex}"
    (tmp_path / "credentials").write_text(
        f"[laptop]\naws_access_key_id = AKIAPROFILEONLY00001\naws_secret_access_key = {secret}\n"
    )
    (tmp_path / "config").write_text("[profile laptop]\nregion = us-east-1\n")
    fake = BedrockVendorFake(access_key_id="AKIAPROFILEONLY00001")
    with serve(fake):
        stack = LocalProcess(tmp_path / "state", tmp_path / "pointer.json", free_port())
        stack.env.update(
            {
                "AVATARSMITH_BACKENDS": "bedrock=us-east-1",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake.url,
                "AVATARSMITH_BEDROCK_PROFILE": "laptop",
                "AWS_CONFIG_FILE": str(tmp_path / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
            }
        )
        drained: list[str] = []
        try:
            stack.start()
            threading.Thread(target=_drain, args=(stack, drained), daemon=True).start()
            # When: a Nova Canvas job runs
            submitted = stack.call(
                "POST", "/v1/avatars/generate", json={"prompt": "smiling man", "model": "nova-canvas"}
            )
            assert submitted.status_code == 202, submitted.text
            job = _wait(stack, submitted.json()["id"])
        finally:
            stack.stop()
    # Then: Bedrock was called with the profile's key (the fake refuses any other) and the job completed,
    # while the rest of the stack kept the emulator's stand-in credentials
    assert job["status"] == "completed", job
    assert job["provenance"]["backend"] == "bedrock"
    assert fake.invocations and not fake.violations
    assert secret not in "".join(stack.output + drained)
