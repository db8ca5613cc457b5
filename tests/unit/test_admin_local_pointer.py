"""`avatarsmith-admin --local` follows `.avatarsmith-local.json` only to a stack that runs: a pointer left
by a killed stack (dead pid, or an emulator that no longer answers) gives a clear message instead."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from avatarsmith_admin.cli import CliError, find_local_state


def _pointer(path: Path, *, pid: int, port: int) -> Path:
    path.write_text(json.dumps({"pid": pid, "moto_url": f"http://127.0.0.1:{port}", "table_name": "t"}))
    return path


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_live_stack_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        monkeypatch.setenv(
            "AVATARSMITH_LOCAL_STATE", str(_pointer(tmp_path / "p.json", pid=os.getpid(), port=port))
        )
        assert find_local_state(tmp_path)["table_name"] == "t"


@pytest.mark.parametrize("case", ["dead pid", "emulator gone"])
def test_a_stale_pointer_says_no_stack_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    pid = _dead_pid() if case == "dead pid" else os.getpid()
    monkeypatch.setenv(
        "AVATARSMITH_LOCAL_STATE", str(_pointer(tmp_path / "p.json", pid=pid, port=closed_port))
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CliError, match="no local stack is running"):
        find_local_state(tmp_path)
