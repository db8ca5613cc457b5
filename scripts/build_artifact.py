"""Build one deployment artifact (a function or the layer) the way Lambda runs it.

`sam build` calls it through the Makefile's `build-<LogicalId>` targets (`BuildMethod: makefile`),
with ARTIFACTS_DIR set; the local stack and the artifact test call the same targets. It needs only a
Python 3.11+ with pip on the build machine, and neither Docker nor a local python3.12:

- `ARTIFACT_PLATFORM=lambda` (the default): wheels for CPython 3.12 on manylinux aarch64 (the
  functions' `Runtime: python3.12`, `Architectures: [arm64]`), binary wheels only, whatever the build
  machine is.
- `ARTIFACT_PLATFORM=host`: wheels for the interpreter running this script (the local stack imports
  these, so what it runs is laid out exactly like what ships).

The resource's CodeUri/ContentUri is read from template.yaml (or $AVATARSMITH_TEMPLATE), so a new
function needs no new target.
A function artifact is its CodeUri folder plus its requirements.txt installed next to it; the layer
is its ContentUri folder's packages plus its requirements.txt under python/ (Lambda adds /opt/python
to sys.path). Installed requirements are cached per (requirements, platform) under .build-cache/
(or $AVATARSMITH_BUILD_CACHE); builds running at once (`sam build`'s parallel mode) share an entry
through a per-entry file lock, and what no function runs (numpy's tests, unused cascades) is pruned.

Usage: python scripts/build_artifact.py <LogicalId> <artifacts dir>
       python scripts/build_artifact.py --list   (the logical ids of every function and layer)
       python scripts/build_artifact.py --runtime <dir>   (host only: the boto3 the runtime provides)
"""

from __future__ import annotations

import compileall
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(os.environ.get("AVATARSMITH_TEMPLATE") or ROOT / "template.yaml")
CACHE = Path(os.environ.get("AVATARSMITH_BUILD_CACHE") or ROOT / ".build-cache")

LAMBDA_PYTHON = "3.12"
# The python3.12 runtime is Amazon Linux 2023 (glibc 2.34); wheels tagged for any older glibc run there.
LAMBDA_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")
# What the Lambda Python runtime provides itself (not shipped in any artifact).
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
# Shipped in wheels, never run by a function (globs under the install folder; KEPT names survive).
PRUNED = ("numpy/**/tests", "numpy/**/*.pyi", "cv2/**/*.pyi", "cv2/data/*.xml")
KEPT = frozenset({"haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"})
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt", ".pytest_cache", "*.egg-info")


USAGE = "usage: build_artifact.py <LogicalId> <artifacts dir> | --list | --runtime <dir>"


class BuildError(Exception):
    pass


BUILT_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Serverless::Function")


def resources(template: Path = TEMPLATE) -> dict[str, tuple[str, Path]]:
    """{logical id: (type, code folder)} of the layers and functions, read from the template's own lines
    (no YAML library needed: the build machine's Python may have nothing but pip)."""
    found: dict[str, tuple[str, Path]] = {}
    current, kind, path, in_resources = "", "", "", False
    for line in [*template.read_text().splitlines(), "End:"]:
        if re.match(r"^\S", line):
            in_resources = line.startswith("Resources:")
        header = re.match(r"^  (\w+):\s*(#.*)?$", line)
        if header or re.match(r"^\S", line):
            if current and kind in BUILT_TYPES and path:
                found[current] = (kind, (template.parent / path).resolve())
            current, kind, path = (header.group(1) if header and in_resources else ""), "", ""
            continue
        match = re.match(r"^    Type:\s*(AWS::[\w:]+)", line)
        kind = match.group(1) if match else kind
        match = re.match(r"^      (?:CodeUri|ContentUri):\s*([^\s#]+)", line)
        path = match.group(1) if match else path
    return found


def resource_of(logical_id: str, template: Path = TEMPLATE) -> tuple[str, Path]:
    declared = resources(template)
    if logical_id not in declared:
        raise BuildError(f"template.yaml declares no function or layer {logical_id!r} with a local CodeUri")
    return declared[logical_id]


def pip_args(platform: str) -> list[str]:
    if platform == "host":
        return []
    if platform != "lambda":
        raise BuildError(f"ARTIFACT_PLATFORM must be 'lambda' or 'host', not {platform!r}")
    args = ["--python-version", LAMBDA_PYTHON, "--implementation", "cp", "--only-binary=:all:"]
    for tag in LAMBDA_PLATFORMS:
        args += ["--platform", tag]
    return args


def requirement_lines(requirements: Path) -> list[str]:
    if not requirements.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
    return [line for line in lines if line]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (created if need be) for the duration of the block; the
    kernel releases it if the holder dies, so a killed build never leaves the cache locked."""
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def prune(root: Path) -> None:
    """Remove what ships in wheels but never runs in a function: numpy's test suites and type stubs,
    and the Haar cascades the photo renderer does not load (see renderer/photo.py)."""
    for pattern in PRUNED:
        for path in sorted(root.glob(pattern), reverse=True):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.name not in KEPT:
                path.unlink()


def _fill_cache_entry(
    cached: Path, lines: list[str], requirements: Path, platform: str, compiled: bool
) -> None:
    partial = cached.with_name(cached.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-compile", "--target", str(partial), *pip_args(platform), *lines]
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise BuildError(f"pip could not install {requirements} for platform {platform}")
    for leftover in partial.glob("bin"):
        shutil.rmtree(leftover)
    prune(partial)
    if compiled:
        compileall.compile_dir(partial, quiet=2)
    partial.rename(cached)  # atomic: readers see no entry or a whole one


def install_requirements(requirements: Path, target: Path, platform: str) -> None:
    """pip-install the requirements for `platform` into target (through the per-content cache)."""
    lines = requirement_lines(requirements)
    if not lines:
        return
    compiled = platform == "host"  # this interpreter's bytecode, made once per cache entry
    key = hashlib.sha256(
        "\n".join(
            [
                platform,
                sys.implementation.cache_tag,
                sys.platform,
                f"compiled={compiled}",
                f"pruned={PRUNED}",
                *sorted(lines),
            ]
        ).encode()
    ).hexdigest()[:20]
    cached = CACHE / f"deps-{platform}-{key}"
    if not cached.exists():
        # `sam build` builds functions in parallel, and several need the same requirements: one builder
        # fills the entry while the others wait on its lock, then find it made.
        CACHE.mkdir(parents=True, exist_ok=True)
        with _locked(cached.with_name(cached.name + ".lock")):
            if not cached.exists():
                _fill_cache_entry(cached, lines, requirements, platform, compiled)
    # A host build keeps the bytecode (copies keep the sources' times, so it stays valid): the local
    # stack's function processes would otherwise each compile the same modules on their first import.
    ignored = None if compiled else shutil.ignore_patterns("__pycache__")
    shutil.copytree(cached, target, dirs_exist_ok=True, ignore=ignored)


def build(logical_id: str, artifacts: Path, platform: str) -> None:
    kind, source = resource_of(logical_id)
    artifacts.mkdir(parents=True, exist_ok=True)
    if kind == "AWS::Serverless::LayerVersion":
        target = artifacts / "python"
        target.mkdir(exist_ok=True)
        for package in sorted(source.iterdir()):
            # The operator's admin command lives next to the package but is no function's business.
            if (package / "__init__.py").exists() and package.name != "avatarsmith_admin":
                shutil.copytree(package, target / package.name, dirs_exist_ok=True, ignore=SKIPPED)
        install_requirements(source / "requirements.txt", target, platform)
    elif kind == "AWS::Serverless::Function":
        shutil.copytree(source, artifacts, dirs_exist_ok=True, ignore=SKIPPED)
        install_requirements(source / "requirements.txt", artifacts, platform)
    else:
        raise BuildError(f"{logical_id} is a {kind}; only functions and layers are built")
    if platform == "host":  # the package's and function's own modules too (the deps are already compiled)
        compileall.compile_dir(artifacts, quiet=2)


def link_runtime(target: Path) -> None:
    """The packages the Lambda runtime provides (boto3 and its dependencies), linked from this
    interpreter's installation: a local function imports them as it would on Lambda."""
    from importlib import metadata

    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_DISTRIBUTIONS:
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in sorted(tops):
            origin = Path(str(dist.locate_file(top)))
            if top.endswith((".dist-info", ".pth")) or top == "__pycache__" or not origin.exists():
                continue
            link = target / top
            if not link.exists():
                link.symlink_to(origin, target_is_directory=origin.is_dir())


def main(argv: list[str]) -> int:
    try:
        if argv == ["--list"]:
            print("\n".join(resources()))
            return 0
        if len(argv) == 2 and argv[0] == "--runtime":
            link_runtime(Path(argv[1]))
            return 0
        if len(argv) != 2 or not argv[1]:
            print(USAGE, file=sys.stderr)
            return 2
        build(argv[0], Path(argv[1]), os.environ.get("ARTIFACT_PLATFORM", "lambda"))
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
