"""Scratch folders: made with an owner file; those of dead processes removed (real folders,
real processes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from talaia.store import scratch


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _folder(near, name, owner=None, age_s=0.0):  # type: ignore[no-untyped-def]
    f = near / name
    f.mkdir()
    (f / "part-00000.arrow").write_bytes(b"x" * 10)
    if owner is not None:
        (f / "owner").write_text(owner)
    if age_s:
        t = time.time() - age_s
        os.utime(f, (t, t))
    return f


def test_stale_folders_removed_live_and_foreign_kept(tmp_path):
    host = socket.gethostname()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _folder(tmp_path, "talaia-ingest-dead", f"{host}\n{_dead_pid()}\n")
        dead_stage = _folder(tmp_path, ".talaia-stage-dead", f"{host}\n{_dead_pid()}\n")
        alive = _folder(tmp_path, ".talaia-stage-live", f"{host}\n{live.pid}\n")
        foreign = _folder(tmp_path, ".talaia-read-x", f"other-host\n{_dead_pid()}\n")
        old = _folder(tmp_path, "talaia-ingest-old", None, age_s=scratch.ORPHAN_AGE_S + 60)
        young = _folder(tmp_path, "talaia-ingest-young", None, age_s=60)
        unrelated = _folder(tmp_path, "deliveries", f"{host}\n{_dead_pid()}\n")
        new = scratch.scratch_folder("talaia-ingest-", tmp_path)
        assert not dead.exists() and not dead_stage.exists() and not old.exists()
        for kept in (alive, foreign, young, unrelated, new):
            assert kept.is_dir(), kept.name
        assert (new / "owner").read_text() == f"{host}\n{os.getpid()}\n"
        assert list(new.iterdir()) == [new / "owner"]
    finally:
        live.kill()
        live.wait()
    # its owner gone, the live one's folder goes at the next call
    assert scratch.remove_stale(tmp_path) == [alive]


def test_scratch_context_removes_its_folder(tmp_path):
    with scratch.scratch(".talaia-stage-", tmp_path / "made") as f:
        assert f.is_dir() and f.parent == tmp_path / "made"
    assert not f.exists()
    with pytest.raises(ValueError, match="unknown scratch prefix"):
        scratch.scratch_folder("other-", tmp_path)
