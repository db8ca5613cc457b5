"""The built artifacts the local stack runs and the artifact test checks, made by the Makefile targets
`sam build` uses (`make artifacts`, one `build-<LogicalId>` per function and layer).

A function imports from its own artifact, then its layers (as /opt/python), then the packages the
Lambda runtime provides (boto3 and its dependencies) - nothing else: see `function_sys_path`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .template import ROOT

RUNTIME_FOLDER = "_lambda_runtime"  # inside the artifacts folder: boto3 & co., linked from this Python


class ArtifactBuildError(RuntimeError):
    pass


def _make(*args: str, platform: str, template: Path | None = None) -> None:
    command = ["make", "--no-print-directory", "-s", "-f", str(ROOT / "Makefile"), *args]
    env = {**os.environ, "ARTIFACT_PLATFORM": platform, "PYTHON": sys.executable}
    if template is not None:
        env["AVATARSMITH_TEMPLATE"] = str(template)
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise ArtifactBuildError(
            f"`make {' '.join(args)}` (ARTIFACT_PLATFORM={platform}) failed:\n"
            f"{completed.stdout}{completed.stderr}"
        )


def _logical_ids(template: Path | None) -> list[str]:
    env = {**os.environ, **({"AVATARSMITH_TEMPLATE": str(template)} if template is not None else {})}
    listed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_artifact.py"), "--list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def build_artifacts(destination: Path, *, platform: str = "host", template: Path | None = None) -> Path:
    """Every function and layer into destination/<LogicalId>, built side by side (the targets `sam build`
    runs in parallel too; the dependency cache is safe for it); with platform "host", also the runtime's
    own packages (the local stack's stand-in for what Lambda provides) into destination/_lambda_runtime."""
    from concurrent.futures import ThreadPoolExecutor

    destination.mkdir(parents=True, exist_ok=True)

    def build(logical_id: str) -> None:
        target = destination / logical_id
        if target.exists():
            shutil.rmtree(target)
        _make(f"build-{logical_id}", f"ARTIFACTS_DIR={target}", platform=platform, template=template)

    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        list(pool.map(build, _logical_ids(template)))
    if platform == "host":
        _make("lambda-runtime", f"ARTIFACTS_DIR={destination / RUNTIME_FOLDER}", platform=platform)
    return destination


def function_sys_path(artifacts: Path, function_id: str, layer_ids: list[str]) -> list[str]:
    """sys.path of a function, in Lambda's order: /var/task, /opt/python, then the runtime's packages."""
    paths = [artifacts / function_id, *(artifacts / layer / "python" for layer in layer_ids)]
    paths.append(artifacts / RUNTIME_FOLDER)
    for path in paths:
        if not path.is_dir():
            raise ArtifactBuildError(f"{path} is missing: build the artifacts first (make artifacts)")
    return [str(p) for p in paths]
