"""`sam build` runs the build targets in parallel (samconfig.toml: parallel = true): functions that need
the same requirements must share one cache entry, from an empty cache, without failing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_artifact.py"
# ApiFunction and ProcessorFunction both install Pillow; two builds of the processor itself race for
# exactly the same entry at exactly the same moment; the layer builds alongside.
BUILDS = ("ApiFunction", "ProcessorFunction", "ProcessorFunction", "CommonLayer", "ReaperFunction")


@pytest.mark.parametrize("platform", ["lambda", "host"])
def test_parallel_builds_on_an_empty_cache_all_succeed(tmp_path: Path, platform: str) -> None:
    cache = tmp_path / "cache"
    assert not cache.exists()
    env = {**os.environ, "AVATARSMITH_BUILD_CACHE": str(cache), "ARTIFACT_PLATFORM": platform}
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and build script
            [sys.executable, str(SCRIPT), name, str(tmp_path / f"out-{i}" / name)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i, name in enumerate(BUILDS)
    ]
    results = []
    for name, process in zip(BUILDS, processes, strict=True):
        output, _ = process.communicate(timeout=900)
        results.append((name, process.returncode, output))
    failed = [f"{name} exited {code}:\n{output}" for name, code, output in results if code != 0]
    assert not failed, "\n".join(failed)
    for i, name in enumerate(BUILDS):
        assert any((tmp_path / f"out-{i}" / name).rglob("*.py")), f"{name}: nothing built"
    processor = tmp_path / "out-1" / "ProcessorFunction"
    assert (processor / "cv2" / "data" / "haarcascade_frontalface_default.xml").is_file()
    assert (processor / "PIL").is_dir() and (tmp_path / "out-0" / "ApiFunction" / "PIL").is_dir()
    # one entry per requirement set, no half-made entries left behind
    assert not list(cache.glob("*.partial-*")), sorted(p.name for p in cache.iterdir())
