"""`make bench` runs its backend-adapter section through (fetch may yield outputs one by one)."""

from __future__ import annotations

import pytest

from benchmarks.run import bench_backend_adapters


def test_the_backend_adapter_section_prints_a_figure_per_adapter(capsys: pytest.CaptureFixture[str]) -> None:
    bench_backend_adapters(jobs=1)
    lines = [line for line in capsys.readouterr().out.splitlines() if "ms/job" in line]
    names = [line.split()[0] for line in lines]
    assert names == ["replicate", "fal", "bfl", "comfyui", "openai", "automatic1111"]
