"""A kill (SIGKILL: no clean-up runs) at any moment of an ingestion leaves the store with the whole
batch or none of it, on SQLite and PostgreSQL, and the same file then loads normally.

The ingestion runs in a child process that stops itself at a chosen point (it writes a marker
file and sleeps); the test kills it there. Points: while the file is being prepared (a second
part split), while a part is being written (SQLite: staged into a scratch file; PostgreSQL:
``COPY``; both inside the batch's transaction), inside the batch's transaction after the first
records are in (SQLite: a first group of parts copied; PostgreSQL: every part, at the audit
events), and after the commit (the batch is complete).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.ingest.conftest import AREAS, CROSSWALK, PROFILE

ROWS = 240  # four parts of 60 rows


def _csv(path: Path) -> Path:
    lines = ["id,fecha,area,lon,lat,delito,sexo,edad,cedula"]
    for i in range(ROWS):
        south = i % 2 == 0
        lines.append(
            f"K{i},{1 + i % 28:02d}/03/2024 {i % 24:02d}:{(7 * i) % 60:02d},"
            f"{'S1' if south else 'N1'},{-69.95 + (i % 90) / 100:.4f},"
            f"{(9.05 if south else 10.05) + (i % 89) / 100:.4f},{'HOM' if i % 10 == 0 else 'ROB'},"
            f"{'M' if i % 3 else 'F'},{20 + i % 50},{1000 + i}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _child(url: str, folder: str, point: str) -> None:
    import functools

    os.environ["TALAIA_DATA_DIR"] = str(Path(folder) / "data")
    os.environ["TALAIA_SECRET_KEY"] = "test-secret"
    from talaia.ingest import pipeline, service
    from talaia.store import batches, staging
    from talaia.store.database import get_engine

    marker = Path(folder) / "here"

    def stop_here() -> None:
        marker.write_text(point)
        time.sleep(600)  # killed here

    def after(fn, when):  # type: ignore[no-untyped-def]
        calls = []

        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            out = fn(*args, **kwargs)
            calls.append(1)
            if when(calls, args):
                stop_here()
            return out

        return wrapped

    service.prepare = functools.partial(pipeline.prepare, chunk_rows=60)
    if point == "prepare":
        pipeline._split_tables = after(pipeline._split_tables, lambda c, a: len(c) == 2)
    elif point == "part":
        if url.startswith("sqlite"):
            staging.Stage.add = after(staging.Stage.add, lambda c, a: len(c) == 3)
        else:
            batches._ingest = after(batches._ingest, lambda c, a: a[1] == "victim")
    elif point == "transaction":
        if url.startswith("sqlite"):
            # the first group of parts copied into the store, inside the transaction
            staging.StagedCopy.flush = after(staging.StagedCopy.flush, lambda c, a: len(c) == 1)
        else:
            batches._audit = after(batches._audit, lambda c, a: True)
    elif point == "committed":
        service._archive = after(service._archive, lambda c, a: True)
    engine = get_engine(url)
    service.ingest_file(
        engine, Path(folder) / "k.csv", "test_police", Path(folder) / "p.yaml", "ana"
    )


def _state(engine) -> tuple[int, int, int, int]:
    with engine.connect() as c:
        return tuple(  # type: ignore[return-value]
            c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("batch", "incident", "offence", "victim")
        )


@pytest.mark.parametrize("point", ["prepare", "part", "transaction", "committed"])
def test_a_kill_leaves_all_or_nothing(store_url, tmp_path, point, monkeypatch):
    from talaia.ingest.service import ingest_file
    from talaia.settings import get_settings
    from talaia.store.database import get_engine, upgrade

    (tmp_path / "areas.geojson").write_text(json.dumps(AREAS))
    (tmp_path / "crosswalk.csv").write_text(CROSSWALK)
    (tmp_path / "p.yaml").write_text(
        PROFILE.format(
            delimiter=",", decimal=".", encoding="utf-8", area_method="code", crs="EPSG:4326"
        )
    )
    csv = _csv(tmp_path / "k.csv")
    engine = get_engine(store_url)
    upgrade(engine)
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=_child, args=(store_url, str(tmp_path), point))
    proc.start()
    marker = tmp_path / "here"
    for _ in range(1200):
        if marker.exists() or not proc.is_alive():
            break
        time.sleep(0.1)
    assert marker.exists(), f"the child never reached {point!r} (exit code {proc.exitcode})"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    engine.dispose()  # nothing cached from before the kill
    if point == "committed":
        assert _state(engine) == (1, ROWS, ROWS, ROWS)
    else:
        assert _state(engine) == (0, 0, 0, 0)
    # the killed process's scratch folders are left behind (nothing could remove them) ...
    folders = {tmp_path / "data"}
    if engine.url.database and store_url.startswith("sqlite"):
        folders.add(Path(engine.url.database).parent)
    assert _scratch(folders)
    if store_url.startswith("sqlite"):
        with engine.connect() as c:
            assert c.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    # the same delivery again, in this process: loaded once, whatever happened before
    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TALAIA_SECRET_KEY", "test-secret")
    get_settings.cache_clear()
    try:
        r = ingest_file(engine, csv, "test_police", tmp_path / "p.yaml", "ana")
    finally:
        get_settings.cache_clear()
    assert r.outcome == ("unchanged" if point == "committed" else "loaded")
    assert _state(engine) == (1, ROWS, ROWS, ROWS)
    # ... and the next ingestion removes them (their owner no longer runs)
    assert _scratch(folders) == []
    engine.dispose()


def _scratch(folders: set[Path]) -> list[str]:
    from talaia.store.scratch import PREFIXES

    return sorted(
        p.name for f in folders if f.is_dir() for p in f.iterdir() if p.name.startswith(PREFIXES)
    )
