"""The README's quick start, run as a newcomer runs it: `make run` as a real process on a fresh state
folder, then every shell block of "Quick start" and "SDK and command line", in order, as one script, with
nothing filled in by hand. Only the base URL differs (the stack runs on a free port, not 3000), through the
variable the README itself reads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.stack import free_port
from tests.e2e.test_crash_recovery import LocalProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def readme_blocks(*sections: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    blocks: list[str] = []
    for section in sections:
        body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
        blocks += re.findall(r"```sh\n(.*?)```", body, flags=re.DOTALL)
    return [b for b in blocks if b.strip() != "make run"]


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[LocalProcess]:
    process = LocalProcess(tmp_path / "state", tmp_path / "pointer.json", free_port())
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_the_readme_has_at_most_300_lines_and_starts_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300
    head = "\n".join(lines[:6])
    assert "make run" in head and "make test" in head


def test_the_quick_start_runs_as_written(fresh_stack: LocalProcess, tmp_path: Path) -> None:
    # Given a fresh `make run` and a working folder that looks like the checkout (the venv and the fixtures)
    work = tmp_path / "checkout"
    work.mkdir()
    (work / ".venv").symlink_to(Path(sys.prefix))  # the venv this test runs in
    (work / "tests").symlink_to(ROOT / "tests")
    blocks = readme_blocks("Quick start", "SDK and command line")
    assert len(blocks) >= 6, "the quick start lost its blocks"
    script = "set -euo pipefail\n" + "\n".join(blocks)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "AVATARSMITH_")) and key != "MOTO_PORT"
    }
    env.update(
        {
            "AVATARSMITH_BASE_URL": fresh_stack.base,
            "AVATARSMITH_LOCAL_STATE": fresh_stack.env["AVATARSMITH_LOCAL_STATE"],
        }
    )
    # When every block runs, in order, as one script
    done = subprocess.run(  # noqa: S603 - bash running the README's own blocks
        [shutil.which("bash") or "/bin/bash", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then it succeeds, and leaves what the README says it leaves
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    job = json.loads((work / "job.json").read_text())
    assert job["status"] == "completed" and len(job["avatars"]) == 2
    assert (work / "avatar.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = sorted(p.name for p in (work / "out").iterdir())
    assert len(written) >= 3, written  # two photo variations from the CLI, then the SDK's image(s)
    assert "HTTP 200" in done.stdout or "HTTP 202" in done.stdout
