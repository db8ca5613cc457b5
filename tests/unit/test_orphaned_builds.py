"""A stack killed with SIGKILL never removes its artifacts folder; the next stack does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from local.stack import OWNER_FILE, remove_orphaned_builds


def _build(cache: Path, name: str, pid: int) -> Path:
    folder = cache / name
    (folder / "ApiFunction").mkdir(parents=True)
    (folder / OWNER_FILE).write_text(str(pid))
    return folder


def test_only_the_folders_of_stacks_that_are_gone_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone = _build(tmp_path, "local-stack-gone", int(dead.stdout))
    running = _build(tmp_path, "local-stack-running", os.getpid())
    unowned = tmp_path / "local-stack-starting"
    unowned.mkdir()
    deps = tmp_path / "deps-host-0123"
    deps.mkdir()

    assert remove_orphaned_builds(tmp_path) == [gone]

    assert not gone.exists()
    assert running.exists() and unowned.exists() and deps.exists()
