"""Secrets at rest: the state folder is 0700 and every file in it 0600.

The folder holds webhook secrets, API key hashes and the thumbnail signing key (snapshot.json,
journal-*.log), the demo key (demo-tenant.json) and the emulator's credentials (emulator.json). Every
file is created 0600 (`open_private`, `write_private`), whatever the umask, also by compaction and
rotation; `tighten` brings a folder made by an older version (0755 and 0644) to these modes on start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def open_private(path: Path, mode: str = "wb") -> IO[Any]:
    """`open(path, mode)` for "wb" or "ab", the file created 0600 (an existing one is made 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, text: str) -> None:
    """Replace the file's content atomically and durably, mode 0600."""
    tmp = path.with_name(path.name + ".tmp")
    with open_private(tmp, "wb") as fh:
        fh.write(text.encode())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def make_private_dir(path: Path) -> None:
    """Create the folder (and its parents) if needed; the folder itself is 0700."""
    Path(path).mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def tighten(state_dir: Path) -> int:
    """Make the folder and every folder under it 0700 and every file 0600; returns how many changed."""
    changed = 0
    for root, _dirs, files in os.walk(state_dir):
        for name, wanted in [(root, DIR_MODE)] + [(os.path.join(root, f), FILE_MODE) for f in files]:
            try:
                current = stat.S_IMODE(os.lstat(name).st_mode)
            except FileNotFoundError:
                continue
            if os.path.islink(name):
                continue
            if current != wanted:
                os.chmod(name, wanted)
                changed += 1
    return changed
