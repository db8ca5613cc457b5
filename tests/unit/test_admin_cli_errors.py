"""avatarsmith-admin without credentials, region or stack: one clear line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_admin(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",  # never ask the instance metadata service
        "PYTHONPATH": str(ROOT / "layers" / "common"),
        **env,
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "avatarsmith_admin.cli", *argv],
        capture_output=True,
        text=True,
        env=clean,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (("--stack", "avatarsmith", "--region", "eu-west-1", "list-tenants"), {}, "no AWS credentials found"),
        (("--stack", "avatarsmith", "list-tenants"), {}, "no AWS region"),
        (("--table", "t", "--region", "eu-west-1", "list-tenants"), {}, "no AWS credentials found"),
        (("--local", "list-tenants"), {}, "no running local stack found"),
    ],
)
def test_a_missing_prerequisite_is_one_line_without_traceback(
    tmp_path: Path, argv: tuple[str, ...], env: dict[str, str], expected: str
) -> None:
    result = run_admin(tmp_path, *argv, **env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_a_stack_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    from local.stack import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        result = run_admin(
            tmp_path,
            "--stack",
            "no-such-stack",
            "--region",
            "us-east-1",
            "list-tenants",
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        )
    finally:
        server.stop()
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "AWS refused DescribeStacks" in lines[0] and "no-such-stack" in lines[0], lines
