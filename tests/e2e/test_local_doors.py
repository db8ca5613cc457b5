"""The local stack's doors, tried from outside on loopback (issues 25 and 26):

- links handed out before a restart work after it (same bytes); a tampered or expired one is 403;
- the emulator refuses anyone without the stack's credentials, and `avatarsmith-admin --local` has them;
- the state folder is 0700 and every file in it 0600 (webhook secrets, key hashes and the emulator's
  credentials are in them), and a folder left with looser modes is tightened on start;
- `AVATARSMITH_API_KEY` given on a restart with another key is honoured (both keys work), and a key
  that belongs to another tenant stops the start with a message naming the variable.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import pytest
import requests
from botocore.config import Config

from local.stack import EmbeddedStack, StackConfigError, StackInfo, free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
EXTRA_ENV = {"AVATARSMITH_TEST_BACKEND_POLL_SECONDS": "0", "AVATARSMITH_ALLOW_LOOPBACK_URLS": "1"}


def _session(key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def _completed_job(info: StackInfo) -> dict[str, Any]:
    api = _session(info.api_key)
    job = api.post(
        f"{info.api_url}/v1/avatars/generate", json={"prompt": "portrait", "num_variations": 2}, timeout=30
    ).json()
    deadline = time.monotonic() + 90
    while job["status"] not in ("completed", "failed") and time.monotonic() < deadline:
        job = api.get(
            f"{info.api_url}/v1/jobs/{job['id']}",
            params={"wait_for_completion": "true", "timeout_seconds": "20"},
            timeout=30,
        ).json()
    assert job["status"] == "completed", job
    return job


def _links(job: dict[str, Any]) -> list[str]:
    links = [a[name] for a in job["avatars"] for name in ("image_url", "thumbnail_url") if a.get(name)]
    assert len(links) >= 4, job
    return links


def _modes(state_dir: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(state_dir.stat().st_mode)}
    for path in state_dir.rglob("*"):
        found[str(path.relative_to(state_dir))] = stat.S_IMODE(path.stat().st_mode)
    return found


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[EmbeddedStack]]:
    started: list[EmbeddedStack] = []
    yield started
    for stack in started:
        stack.stop()


def _start(
    stacks: list[EmbeddedStack], state_dir: Path, api_key: str, pointer: Path, api_port: int = 0
) -> StackInfo:
    """A stack on the folder; `api_port` as `make run`'s PORT (the API's thumbnail links name it)."""
    stack = EmbeddedStack(
        api_port=api_port, api_key=api_key, state_dir=state_dir, state_file=pointer, extra_env=EXTRA_ENV
    )
    stacks.append(stack)
    return stack.start()


def test_links_keys_and_modes_survive_a_restart(tmp_path: Path, stacks: list[EmbeddedStack]) -> None:
    state_dir, pointer = tmp_path / "state", tmp_path / "pointer.json"
    # Given a stack started with one key, a finished job's links and a webhook endpoint (with its secret)
    api_port = free_port()
    first = _start(stacks, state_dir, "ask_first_key_0123456789", pointer, api_port)
    job = _completed_job(first)
    links = _links(job)
    before = {url: requests.get(url, timeout=10) for url in links}
    assert all(r.status_code == 200 and r.content for r in before.values()), before
    hook = _session(first.api_key).post(
        f"{first.api_url}/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}, timeout=10
    )
    assert hook.status_code == 201, hook.text
    # the emulator's door: no credentials, no list; the admin command signs with the stack's own
    bucket = first.environment["IMAGES_BUCKET_NAME"]
    anonymous = requests.get(f"{first.moto_url}/{bucket}?list-type=2", timeout=10)
    assert anonymous.status_code == 403 and "AccessDenied" in anonymous.text and "t_" not in anonymous.text
    assert stat.S_IMODE(pointer.stat().st_mode) == 0o600
    admin = subprocess.run(
        [sys.executable, "-m", "avatarsmith_admin.cli", "--local", "--json", "list-tenants"],
        env={**os.environ, "AVATARSMITH_LOCAL_STATE": str(pointer), "AWS_ACCESS_KEY_ID": "nope"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert admin.returncode == 0, admin.stderr
    assert first.tenant_id in admin.stdout
    stacks.pop().stop()

    # Then every file of the state folder is private, the secrets' files among them
    modes = _modes(state_dir)
    assert modes["."] == 0o700 and modes["blobs"] == 0o700, modes
    assert {"emulator.json", "snapshot.json", "demo-tenant.json"} <= set(modes), modes
    assert any(name.startswith("journal-") for name in modes), modes
    assert {name: mode for name, mode in modes.items() if name not in (".", "blobs") and mode != 0o600} == {}
    # a folder loosened meanwhile (as an older version left it) is tightened on the next start
    os.chmod(state_dir, 0o755)  # noqa: S103 - the looser modes the start must repair
    os.chmod(state_dir / "snapshot.json", 0o644)

    # When the stack starts again on the same folder with another key
    second = _start(stacks, state_dir, "ask_second_key_0123456789", pointer, api_port)
    assert _modes(state_dir)["."] == 0o700 and _modes(state_dir)["snapshot.json"] == 0o600
    # Then the links taken before answer with the same bytes
    for url, earlier in before.items():
        again = requests.get(url, timeout=10)
        assert again.status_code == 200 and again.content == earlier.content, url
    # and both keys work: the folder's first key and the one given now
    for key in ("ask_first_key_0123456789", "ask_second_key_0123456789"):
        assert _session(key).get(f"{second.api_url}/v1/account", timeout=10).status_code == 200, key
    assert second.api_key == "ask_second_key_0123456789"
    # A tampered link, or one for another object, is refused
    image = next(url for url in links if "X-Amz-Signature" in url)
    signature = dict(parse_qsl(urlsplit(image).query))["X-Amz-Signature"]
    tampered = _with_query(image, **{"X-Amz-Signature": signature[::-1]})
    assert requests.get(tampered, timeout=10).status_code == 403
    other = image.replace("/0.png", "/1.png") if "/0.png" in image else image.replace(".png", "x.png")
    assert requests.get(other, timeout=10).status_code == 403
    # and a link past its expiry too (signed by the stack's own credentials, for one second)
    s3 = boto3.session.Session().client("s3", config=Config(signature_version="s3v4"))  # this env's keys
    key = urlsplit(image).path.split("/", 2)[2]
    short = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=1)
    time.sleep(2.1)
    expired = requests.get(short, timeout=10)
    assert expired.status_code == 403 and "AccessDenied" in expired.text
    stacks.pop().stop()


def test_a_key_of_another_tenant_stops_the_start_naming_the_variable(
    tmp_path: Path, stacks: list[EmbeddedStack]
) -> None:
    state_dir, pointer = tmp_path / "state", tmp_path / "pointer.json"
    first = _start(stacks, state_dir, "ask_demo_key_0123456789", pointer)
    _, other_key = stacks[-1].add_tenant("someone-else")
    stacks.pop().stop()
    with pytest.raises(StackConfigError) as refused:
        _start(stacks, state_dir, other_key, pointer)
    stacks.pop()  # a start that fails stops what it started
    assert "AVATARSMITH_API_KEY" in str(refused.value) and "another tenant" in str(refused.value)
    assert first.api_key not in str(refused.value) and other_key not in str(refused.value)
    json.loads((state_dir / "demo-tenant.json").read_text())  # the folder is intact
