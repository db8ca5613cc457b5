"""Secrets at rest (issue 25, item 5): the state folder is 0700 and every file in it 0600, whatever the
umask, for the files compaction and journal rotation create too; a folder left with looser modes is
tightened when a stack takes it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import durable
from local.emulator_auth import EmulatorCredentials, load_settings, save_settings
from tests.unit.test_durable import BUCKET, Emulator


def _modes(folder: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(folder.stat().st_mode)}
    found.update({str(p.relative_to(folder)): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")})
    return found


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)  # the worst case: every file would be world-writable
    try:
        yield
    finally:
        os.umask(previous)


def test_files_made_by_writes_compaction_and_rotation_are_private(
    tmp_path: Path, permissive_umask: None
) -> None:
    emulator = Emulator(tmp_path / "state", compact_every=3)
    try:
        emulator.start()
        for _ in range(8):  # two compactions: new snapshots and journals
            emulator.bump()
        emulator.s3.put_object(Bucket=BUCKET, Key="k", Body=b"image bytes")
        durable.demo_tenant(emulator.state_dir, lambda: ("ten_1", "ask_secret"))
        save_settings(emulator.state_dir, EmulatorCredentials.generate(), 25000)
    finally:
        emulator.stop()
    modes = _modes(emulator.state_dir)
    assert {"snapshot.json", "demo-tenant.json", "emulator.json"} <= set(modes)
    assert any(name.startswith("journal-") for name in modes) and any("blobs/" in n for n in modes)
    assert {n: oct(m) for n, m in modes.items() if m != (0o700 if n in (".", "blobs") else 0o600)} == {}


def test_a_loose_folder_is_tightened_when_a_stack_takes_it(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    (folder / "blobs").mkdir(parents=True)
    for name in ("snapshot.json", "journal-4.log", "blobs/abc"):
        (folder / name).write_text("{}")
        os.chmod(folder / name, 0o644)
    os.chmod(folder, 0o755)  # noqa: S103 - as an older version left it
    fd = durable.lock_state_dir(folder)
    os.close(fd)
    modes = _modes(folder)
    assert {n: oct(m) for n, m in modes.items() if m != (0o700 if n in (".", "blobs") else 0o600)} == {}


def test_the_emulator_credentials_persist_per_folder(tmp_path: Path) -> None:
    first, port = load_settings(tmp_path)
    assert port is None  # nothing saved yet: made on the first start
    save_settings(tmp_path, first, 23456)
    again, kept = load_settings(tmp_path)
    assert (again, kept) == (first, 23456)
    other, _ = load_settings(tmp_path / "elsewhere")
    assert other.access_key_id != first.access_key_id and other.secret_access_key != first.secret_access_key
