"""What ships: the artifacts the Makefile's build targets produce (the ones `sam build` runs), built
here without the SAM CLI, for Lambda (arm64, CPython 3.12) and for this machine (the import check)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from local.artifacts import build_artifacts, function_sys_path
from local.template import functions, load_template, resources_of_type

ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183  # e_machine of an ELF file built for arm64
# Lambda quotas: 250 MB unzipped for a function plus all its layers; 50 MB zipped per upload.
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
MAX_ZIPPED_BYTES = 50 * 1024 * 1024
EXTENSION = re.compile(r"\.(?:cpython-(?P<tag>\d+)-(?P<platform>[\w-]+)|(?P<abi3>abi3))\.so$")

TEMPLATE = load_template()
FUNCTIONS = functions(TEMPLATE)
LAYERS = list(resources_of_type(TEMPLATE, "AWS::Serverless::LayerVersion"))


@pytest.fixture(scope="module")
def lambda_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_artifacts(tmp_path_factory.mktemp("lambda"), platform="lambda")


@pytest.fixture(scope="module")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_artifacts(tmp_path_factory.mktemp("host"), platform="host")


def elf_machine(path: Path) -> int | None:
    with path.open("rb") as handle:
        header = handle.read(20)
    if header[:4] != ELF_MAGIC:
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def shipped_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in shipped_files(root))


def zipped_size(root: Path, into: Path) -> int:
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in shipped_files(root):
            archive.write(path, path.relative_to(root))
    return into.stat().st_size


def test_every_function_and_layer_is_built(lambda_build: Path) -> None:
    built = {p.name for p in lambda_build.iterdir()}
    assert set(FUNCTIONS) | set(LAYERS) <= built
    for layer in LAYERS:
        assert (lambda_build / layer / "python" / "avatarsmith" / "__init__.py").is_file()
    for name, decl in FUNCTIONS.items():
        module = decl.module.rsplit(".", 1)[-1]
        assert (lambda_build / name / f"{module}.py").is_file(), f"{name}: no handler module in the artifact"


def test_every_native_file_is_aarch64_and_every_extension_cp312_or_abi3(lambda_build: Path) -> None:
    native, wrong = 0, []
    for path in shipped_files(lambda_build):
        machine = elf_machine(path)
        if machine is not None:
            native += 1
            if machine != EM_AARCH64:
                wrong.append(f"{path.relative_to(lambda_build)}: ELF machine {machine}, not aarch64")
        if path.suffix in (".so", ".pyd") or ".so." in path.name:
            found = EXTENSION.search(path.name)
            if found and not found.group("abi3"):
                if found.group("tag") != "312" or not found.group("platform").startswith("aarch64"):
                    wrong.append(f"{path.relative_to(lambda_build)}: not a cp312 aarch64 extension")
            elif not found and path.suffix == ".so" and not path.parent.name.endswith(".libs"):
                wrong.append(f"{path.relative_to(lambda_build)}: an extension without a cp312/abi3 tag")
    assert not wrong, "\n".join(wrong)
    assert native > 0, "the build shipped no native file at all: pydantic_core and Pillow have some"


def test_artifacts_fit_lambda_size_limits(
    lambda_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every function with its layers within 250 MB (262,144,000 bytes) unzipped, each zip within 50 MB;
    the sizes are printed (the processor, with OpenCV + numpy + Pillow, is the one close to the limit)."""
    layer_bytes = sum(tree_size(lambda_build / layer) for layer in LAYERS)
    lines, over = [], []
    for layer in LAYERS:
        zipped = zipped_size(lambda_build / layer, tmp_path / f"{layer}.zip")
        lines.append(f"{layer}: {tree_size(lambda_build / layer):,} bytes unzipped, {zipped:,} zipped")
        if zipped > MAX_ZIPPED_BYTES:
            over.append(f"{layer}: {zipped:,} bytes zipped")
    for name in sorted(FUNCTIONS):
        unzipped = tree_size(lambda_build / name) + layer_bytes
        zipped = zipped_size(lambda_build / name, tmp_path / f"{name}.zip")
        lines.append(
            f"{name} + layers: {unzipped:,} bytes unzipped (limit {MAX_UNZIPPED_BYTES:,}), {zipped:,} zipped"
        )
        if unzipped > MAX_UNZIPPED_BYTES:
            over.append(f"{name} + layers: {unzipped:,} bytes unzipped")
        if zipped > MAX_ZIPPED_BYTES:
            over.append(f"{name}: {zipped:,} bytes zipped")
    with capsys.disabled():
        print("\nLambda artifact sizes (arm64, CPython 3.12):\n  " + "\n  ".join(lines))
    assert not over, "over Lambda's limits: " + "; ".join(over)


def test_the_processor_ships_the_photo_pipeline(lambda_build: Path) -> None:
    """The deployed renderer is the local one: OpenCV (with the cascade it loads) and numpy ship."""
    processor = lambda_build / "ProcessorFunction"
    assert (processor / "cv2" / "data" / "haarcascade_frontalface_default.xml").is_file()
    assert any((processor / "cv2").glob("cv2*.so")), "no OpenCV extension in the processor"
    assert (processor / "numpy" / "__init__.py").is_file()
    assert not list(processor.glob("numpy/**/tests")), "numpy's tests should be pruned at build"


_IMPORT_CHECK = """
import importlib, json, sys
sys.path[:0] = json.loads(sys.argv[1])
module = importlib.import_module(sys.argv[2])
assert callable(getattr(module, sys.argv[3])), "no handler " + sys.argv[3]
files = {m.__file__ for m in sys.modules.values() if getattr(m, "__file__", None)}
print(json.dumps({"files": sorted(files)}))
"""


def import_in_clean_interpreter(
    paths: list[str], module: str, attribute: str
) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter without site-packages (-S) or PYTHON* variables (-I): the standard library,
    then exactly `paths`."""
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-I", "-S", "-c", _IMPORT_CHECK, json.dumps(paths), module, attribute],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_imports_from_its_artifact_and_the_layer_alone(host_build: Path, name: str) -> None:
    decl = FUNCTIONS[name]
    paths = function_sys_path(host_build, name, LAYERS)
    module = decl.module.rsplit(".", 1)[-1]
    result = import_in_clean_interpreter(paths, module, decl.attribute)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)["files"]
    repo = str(Path(__file__).resolve().parents[2])
    from_source = [f for f in loaded if f.startswith(repo) and not f.startswith(str(host_build))]
    assert not from_source, f"{name} imported from the source tree: {from_source[:3]}"


_PHOTO_RENDER = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
from avatarsmith.models.domain import GenerationSpec, OutputSpec
from avatarsmith.renderer.imaging import finalize
from avatarsmith.renderer.simple import render_variation
import cv2
photo = open(sys.argv[2], "rb").read()
size = OutputSpec(width=256, height=256)
spec = GenerationSpec(model="avatarsmith-studio", seed=3, style="anime", output=size)
data, _ = finalize(render_variation(spec, 0, [photo]), 256, 256, "png")
print(json.dumps({"cv2": cv2.__file__, "bytes": len(data)}))
"""


def test_the_built_processor_renders_a_photo_avatar_with_its_own_opencv(host_build: Path) -> None:
    """The deployed photo path is the local one: the processor's artifact and the layer alone (a clean
    interpreter) find the face with the OpenCV shipped in the artifact and render the avatar."""
    paths = function_sys_path(host_build, "ProcessorFunction", LAYERS)
    photo = Path(__file__).resolve().parents[1] / "fixtures" / "astronaut.jpg"
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-I", "-S", "-c", _PHOTO_RENDER, json.dumps(paths), str(photo)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["cv2"].startswith(str(host_build / "ProcessorFunction")), answer["cv2"]
    assert answer["bytes"] > 10_000


def test_the_import_check_fails_without_the_layer(host_build: Path) -> None:
    """The check above can fail: the api handler alone (no layer) cannot import avatarsmith."""
    decl = FUNCTIONS["ApiFunction"]
    paths = [
        p for p in function_sys_path(host_build, "ApiFunction", LAYERS) if "/CommonLayer/" not in p + "/"
    ]
    result = import_in_clean_interpreter(paths, decl.module.rsplit(".", 1)[-1], decl.attribute)
    assert result.returncode != 0
    assert "No module named" in result.stderr
