"""Scratch folders next to the store, and clean-up of those a killed process left behind.

Ingestion spills prepared parts (``talaia-ingest-*``) and stages SQLite writes
(``.talaia-stage-*``, ``.talaia-read-*``) in folders beside the store, so that they are on
the same disk. A normal exit removes them; a process killed with SIGKILL (or a power cut)
cannot. Each folder therefore holds an ``owner`` file (host name and process id), and making
a new scratch folder first removes the folders of the same kinds whose owner is a process of
this host that no longer runs. A folder without an owner file (an older version's) is removed
when it is older than :data:`ORPHAN_AGE_S`. The store itself never depends on them: a batch is
one transaction, so a killed ingestion leaves the store whole either way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: Prefixes of the scratch folders this module manages.
PREFIXES = ("talaia-ingest-", ".talaia-stage-", ".talaia-read-")

#: A scratch folder without an owner file is removed when older than this (seconds).
ORPHAN_AGE_S = 24 * 3600

_OWNER = "owner"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _stale(folder: Path, now: float) -> bool:
    """Whether ``folder`` was left by a process that no longer runs on this host."""
    try:
        host, pid = (folder / _OWNER).read_text(encoding="utf-8").split("\n")[:2]
    except (OSError, ValueError):
        try:
            return now - folder.stat().st_mtime > ORPHAN_AGE_S
        except OSError:
            return False
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's (a shared disk): not ours to judge
    return int(pid) != os.getpid() and not _alive(int(pid))


def remove_stale(near: Path) -> list[Path]:
    """Remove the scratch folders in ``near`` left by processes that no longer run.

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed: list[Path] = []
    if not near.is_dir():
        return removed
    now = time.time()
    for entry in near.iterdir():
        if entry.is_dir() and entry.name.startswith(PREFIXES) and _stale(entry, now):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def scratch_folder(prefix: str, near: Path) -> Path:
    """A new empty scratch folder in ``near`` (made if missing) holding its ``owner`` file,
    after the stale ones there are removed (:func:`remove_stale`). The caller removes it."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown scratch prefix {prefix!r}")
    near.mkdir(parents=True, exist_ok=True)
    remove_stale(near)
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=near))
    (folder / _OWNER).write_text(f"{socket.gethostname()}\n{os.getpid()}\n", encoding="utf-8")
    return folder


@contextlib.contextmanager
def scratch(prefix: str, near: Path) -> Iterator[Path]:
    """:func:`scratch_folder` as a context: the folder is removed on leaving it."""
    folder = scratch_folder(prefix, near)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
