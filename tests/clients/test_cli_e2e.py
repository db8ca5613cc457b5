"""The `avatarsmith` command, run as the installed console script against the local stack: images
written as <job_id>-<index>.<ext>, JSON when stdout is not a terminal, a live progress line on a
terminal, one-line errors and exit codes by class."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from PIL import Image

from local.stack import EmbeddedStack, StackInfo

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "astronaut.jpg"


def _command() -> str:
    found = shutil.which("avatarsmith", path=str(Path(sys.executable).parent))
    assert found, "the avatarsmith console script is not installed in this venv (make installs it)"
    return found


def run_cli(
    info: StackInfo, *args: str, key: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "AVATARSMITH_BASE_URL": info.api_url, "AVATARSMITH_API_KEY": key or info.api_key}
    return subprocess.run(  # noqa: S603 - our own console script
        [_command(), *args], capture_output=True, text=True, env=env, timeout=120, cwd=cwd
    )


def test_generate_wait_writes_decodable_images_and_prints_json(info: StackInfo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_cli(
        info,
        "generate",
        "smiling man, short hair",
        "--style",
        "cinematic",
        "--num",
        "2",
        "--aspect-ratio",
        "9:16",
        "--seed",
        "42",
        "--ref",
        str(FIXTURE),
        "--wait",
        "-o",
        f"{out}/",
    )
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)  # stdout is a pipe: JSON
    assert job["status"] == "completed" and job["request"]["seed"] == 42
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{job['id']}-0.png", f"{job['id']}-1.png"]
    assert job["files"] == [str(out / n) for n in names]
    for name in names:
        with Image.open(out / name) as image:
            image.load()
            assert image.height > image.width  # 9:16


def test_output_dir_that_does_not_exist_is_created_with_one_file_per_variation(
    info: StackInfo, tmp_path: Path
) -> None:
    # Given a folder that does not exist yet, named without a trailing slash
    out = tmp_path / "new" / "avatars"
    # When two variations are generated into it
    done = run_cli(info, "generate", "two of them", "--num", "2", "-o", str(out))
    # Then the folder is made and holds one decodable image per variation
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert out.is_dir()
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{job['id']}-0.png", f"{job['id']}-1.png"]
    for name in names:
        with Image.open(out / name) as image:
            image.load()
    # And the help states the rule
    helped = run_cli(info, "generate", "--help")
    assert "one file per variation" in " ".join(helped.stdout.split())


def test_output_dir_that_is_a_file_is_refused_before_anything_is_sent(
    info: StackInfo, tmp_path: Path
) -> None:
    existing = tmp_path / "picture.png"
    existing.write_bytes(b"keep me")
    before = json.loads(run_cli(info, "account").stdout)["balance"]
    done = run_cli(info, "generate", "into a file", "--num", "2", "-o", str(existing))
    assert done.returncode == 2
    assert done.stderr.startswith("avatarsmith: -o ") and "folder" in done.stderr
    assert existing.read_bytes() == b"keep me"
    assert json.loads(run_cli(info, "account").stdout)["balance"] == before


def test_generate_without_wait_prints_the_queued_job(info: StackInfo) -> None:
    done = run_cli(info, "generate", "later")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] in ("queued", "processing", "completed")


def test_jobs_avatars_and_catalog_commands(info: StackInfo, tmp_path: Path) -> None:
    job = json.loads(run_cli(info, "generate", "for the commands", "--wait").stdout)
    got = json.loads(run_cli(info, "jobs", "get", job["id"]).stdout)
    assert got["id"] == job["id"] and got["status"] == "completed"
    waited = run_cli(info, "jobs", "wait", job["id"], "-o", str(tmp_path))
    assert waited.returncode == 0 and (tmp_path / f"{job['id']}-0.png").is_file()
    listed = json.loads(run_cli(info, "jobs", "list", "--limit", "3").stdout)
    assert len(listed) == 3 or job["id"] in [j["id"] for j in listed]
    label = f"cli-{uuid.uuid4().hex[:6]}"
    saved = json.loads(run_cli(info, "avatars", "save", job["id"], "--label", label).stdout)
    assert saved["label"] == label
    assert json.loads(run_cli(info, "avatars", "get", saved["id"]).stdout)["id"] == saved["id"]
    assert saved["id"] in [a["id"] for a in json.loads(run_cli(info, "avatars", "list").stdout)]
    assert "noir" in [s["name"] for s in json.loads(run_cli(info, "styles").stdout)]
    assert any(m["default"] for m in json.loads(run_cli(info, "models").stdout))
    assert json.loads(run_cli(info, "account").stdout)["balance"] > 0
    canceled = run_cli(info, "jobs", "cancel", job["id"])
    assert canceled.returncode == 3 and canceled.stderr.startswith("avatarsmith: job_not_cancelable:")


@pytest.mark.parametrize(
    ("args", "key", "code", "error"),
    [
        (["account"], "sk_wrong", 4, "unauthorized"),
        (["jobs", "get", "job_missing"], None, 6, "not_found"),
        (["generate", "x", "--num", "9"], None, 3, "validation_error"),
    ],
)
def test_errors_are_one_line_with_an_exit_code_by_class(
    info: StackInfo, args: list[str], key: str | None, code: int, error: str
) -> None:
    done = run_cli(info, *args, key=key)
    assert done.returncode == code
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"avatarsmith: {error}:") and "request" in lines[0]
    assert done.stdout == ""


def test_insufficient_credits_exit_code(info: StackInfo, stack: tuple[EmbeddedStack, StackInfo]) -> None:
    _, key = stack[0].add_tenant(f"broke-{uuid.uuid4().hex[:6]}", credits=0)
    done = run_cli(info, "generate", "costs", key=key)
    assert done.returncode == 5 and "insufficient_credits" in done.stderr


def run_in_terminal(info: StackInfo, *args: str) -> tuple[int, str]:
    """Run the command with a pseudo-terminal as stdout and stderr; its exit code and all it wrote."""
    env = {**os.environ, "AVATARSMITH_BASE_URL": info.api_url, "AVATARSMITH_API_KEY": info.api_key}
    main, secondary = pty.openpty()
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [_command(), *args],
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        env=env,
        close_fds=True,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(main)
    return process.wait(timeout=30), output.decode(errors="replace")


def test_a_terminal_gets_a_live_progress_line(info: StackInfo, tmp_path: Path) -> None:
    # Given a terminal, and a job that takes a few seconds (3 polls x 1 s)
    code, text = run_in_terminal(
        info, "generate", "tty user", "--model", "test-async", "--wait", "-o", str(tmp_path)
    )
    assert code == 0, text
    # Then it redrew one status line (carriage returns) with status, elapsed and variations done...
    assert text.count("\r") >= 3
    assert "processing" in text or "queued" in text
    assert "0/1 variations" in text and "completed" in text and "1/1 variations" in text
    # ...and printed people-readable lines, not JSON
    assert "saved " in text and not text.lstrip().startswith("{")
    assert len(list(tmp_path.glob("job_*-0.png"))) == 1


def test_json_on_a_terminal_when_asked_before_or_after_the_command(info: StackInfo) -> None:
    code, table = run_in_terminal(info, "styles")
    assert code == 0 and "professional" in table and not table.lstrip().startswith("[")
    for args in (["styles", "--json"], ["--json", "styles"]):
        code, text = run_in_terminal(info, *args)
        assert code == 0 and json.loads(text)[0]["name"] == "professional"


def test_generate_wait_in_a_script_is_one_call(info: StackInfo, tmp_path: Path) -> None:
    from tests.clients.faults import FaultProxy

    with FaultProxy(info.api_url) as proxy:
        proxied = StackInfo(**{**info.__dict__, "api_url": proxy.url})
        done = run_cli(proxied, "generate", "one call from a script", "--wait", "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "completed"
    assert [(s.method, s.upstream_status) for s in proxy.seen if s.method == "POST"] == [("POST", 200)]
    assert not [s for s in proxy.seen if s.method == "GET" and s.path.startswith("/v1/jobs/")]
