"""Ingestion speed: the demo police file at N rows, end to end, vs DuckDB's bare read_csv.

Usage::

    python benchmarks/ingest_speed.py [ROWS ...] [--postgres] [--refresh] [--synthetic] [--floors]

(default 1,000,000 rows). For each size the demo country is generated (``talaia.demo.generate``,
seed 20240101) at the scale and the number of years that give at least N rows of the
``policia_nacional`` source; its monthly files (``raw/policia_nacional/denuncias_YYYY-MM.csv``:
25 columns, UTF-8, quoted, with the generator's defects) are concatenated, header once, and cut
to N data rows: one delivery of N rows. It is ingested with the shipped demo profile into an
empty store holding the demo's reference data and crosswalks (SQLite; also a throw-away
PostgreSQL with ``--postgres``): read → normalize → validate → classify → de-duplicate (natural
key and near duplicates, 50 m / 15 min) → ``write_batch``, and with ``--refresh`` the
warehouse refresh of the new batch too. ``--synthetic`` uses instead the narrow 9-column
synthetic police CSV of earlier versions of this script.

Prints, per store: seconds and rows/s end to end, peak resident memory (``ru_maxrss`` of a child
process per run), the time of each phase (``prepare`` = the ingestion pipeline; ``write`` = the
store's batch write, overlapping ``prepare`` when it runs in the writer process; ``refresh``)
and the ratio to ``SELECT * FROM read_csv(..., all_varchar=true)`` into Arrow of the same file,
the best of three runs timed in the same run (the physical floor). Target: within 5x of the
bare read; 10M rows under 4 GiB peak. ``--floors`` also times, in the same process after the
end-to-end run, the two halves apart: the preparation alone (no store write beside it) and the
store write alone (``write_batch`` of the prepared parts, already Arrow, into a fresh store
set up as the benchmark's: a new SQLite file, or a new database on the same PostgreSQL server).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import math
import multiprocessing as mp
import os
import queue
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: policia_nacional rows per year of the demo at scale 1.0 (seed 20240101), a little under
#: the real figure so that the scale asked for always gives enough rows.
POLICE_ROWS_PER_YEAR = 36_000


def make_demo_csv(path: Path, n: int, work: Path) -> Path:
    """Generate the demo country with at least ``n`` police rows and write the first ``n`` of
    them (months in order, header once) to ``path``; returns the demo folder."""
    from talaia.demo import generate

    years = max(1, math.ceil(n / 1_000_000))
    scale = n / (years * POLICE_ROWS_PER_YEAR)
    demo = work / "demo"
    generate(demo, scale=scale, years=tuple(range(2025 - years, 2025)))
    files = sorted((demo / "raw" / "policia_nacional").glob("*.csv"))
    left = n
    with path.open("wb") as out:
        for k, f in enumerate(files):
            with f.open("rb") as fh:
                header = fh.readline()
                if k == 0:
                    out.write(header)
                for line in fh:
                    if left == 0:
                        break
                    out.write(line if line.endswith(b"\n") else line + b"\n")
                    left -= 1
            if left == 0:
                break
    if left:
        raise SystemExit(f"the demo gave {n - left:,} police rows, fewer than {n:,}")
    shutil.rmtree(demo / "raw")  # the reference data and crosswalks are kept
    return demo


def make_csv(path: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    day = rng.integers(1, 29, n)
    hh = rng.integers(0, 24, n)
    mm = rng.integers(0, 60, n)
    south = rng.random(n) < 0.5
    lon = -70 + rng.random(n)
    lat = np.where(south, 9, 10) + rng.random(n)
    code = np.where(rng.random(n) < 0.1, "HOM", "ROB")
    sex = np.where(rng.random(n) < 0.5, "M", "F")
    age = rng.integers(0, 90, n)
    with path.open("w") as fh:
        fh.write("id,fecha,area,lon,lat,delito,sexo,edad,cedula\n")
        for s in range(0, n, 200_000):
            e = min(n, s + 200_000)
            lines = [
                f"P{i},{day[i]:02d}/03/2024 {hh[i]:02d}:{mm[i]:02d},{'S1' if south[i] else 'N1'},"
                f"{lon[i]:.6f},{lat[i]:.6f},{code[i]},{sex[i]},{age[i]},{i % 997}\n"
                for i in range(s, e)
            ]
            fh.writelines(lines)


@contextlib.contextmanager
def postgres(root: Path):
    """A throw-away PostgreSQL server (Debian binaries, run as user postgres, fsync off), as
    started by tests/conftest.py; yields its SQLAlchemy URL."""
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))[-1]).parent
    data, sock = root / "pg", root / "sock"
    data.mkdir()
    sock.mkdir()
    pre = []
    if os.geteuid() == 0:
        for p in (root, data, sock):
            shutil.chown(p, "postgres")
        pre = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = functools.partial(subprocess.run, check=True, capture_output=True)
    run(
        [
            *pre,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    opts = (
        f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -p {port} "
        f"-c listen_addresses='' -c unix_socket_directories='{sock}'"
    )
    run(
        [
            *pre,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-l",
            str(root / "pg.log"),
            "start",
        ]
    )
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run(
            [*pre, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )


def _floors(engine, path: str, source: str, prof, period: str | None, spill: Path, demo) -> dict:  # type: ignore[no-untyped-def]
    """The two halves of an ingestion measured apart, in the process that just ran it end to
    end: ``prepare`` alone (no store write beside it) and ``write`` alone: ``write_batch`` of
    the parts it spilled, already in Arrow, into a *fresh* store set up as the benchmark's
    (a new SQLite file, or a new database on the same PostgreSQL server), as its first batch:
    the same work as the end-to-end run's store write."""
    from talaia.ingest import service
    from talaia.ingest.pipeline import prepare
    from talaia.settings import get_settings
    from talaia.store.batches import BatchPayload, write_batch
    from talaia.store.database import get_engine

    p, folder = service._resolve_profile(engine, source, prof)
    per = service.parse_period(period) if period else None
    t = time.perf_counter()
    prep = prepare(
        path,
        p,
        areas=service._areas(engine, p, folder),
        crosswalk=service._crosswalk(engine, p, folder, "bench"),
        secret=get_settings().resolved_secret_key(),
        period=per,
        spill_dir=spill,
    )
    prepare_s = time.perf_counter() - t
    assert prep.period is not None
    if engine.url.get_backend_name() == "sqlite":
        fresh_url = f"sqlite:///{spill.parent}/fresh-{os.getpid()}.sqlite"
    else:
        from sqlalchemy import text

        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("CREATE DATABASE floors"))
        fresh_url = engine.url.set(database="floors").render_as_string(hide_password=False)
    fresh = get_engine(fresh_url)
    _setup(fresh, spill.parent, demo)
    service._ensure_source(fresh, p)
    service._areas(fresh, p, folder)
    t = time.perf_counter()
    write_batch(
        fresh,
        BatchPayload(
            source_code=p.source,
            period_start=prep.period[0],
            period_end=prep.period[1],
            file_hash="floor",
            parts=prep.parts(),
            rows_duplicate=prep.rows_duplicate,
            expected_parts=len(prep.part_files),
        ),
    )
    write_s = time.perf_counter() - t
    fresh.dispose()
    return {"prepare_alone_s": round(prepare_s, 3), "write_alone_s": round(write_s, 3)}


def _setup(engine, data: Path, demo: str | None) -> tuple[str, Path | None]:  # type: ignore[no-untyped-def]
    """Migrate an empty store and give it the benchmark's reference data and crosswalks (the
    demo's, or the synthetic profile's areas and crosswalk); returns (source, profile path)."""
    from talaia.store.database import upgrade

    upgrade(engine)
    if demo is not None:
        from talaia.ingest.demo import save_demo_crosswalks
        from talaia.store.canonical import load_reference

        load_reference(engine, demo)
        save_demo_crosswalks(engine, demo, "bench")
        source, prof = "policia_nacional", None
    else:
        from tests.ingest.conftest import AREAS, CROSSWALK, PROFILE

        (data / "areas.geojson").write_text(json.dumps(AREAS))
        (data / "crosswalk.csv").write_text(CROSSWALK)
        prof = data / "profile.yaml"
        prof.write_text(
            PROFILE.format(
                delimiter=",", decimal=".", encoding="utf-8", area_method="code", crs="EPSG:4326"
            ).replace(
                "near_duplicates: {metres: 100, minutes: 30}",
                "near_duplicates: {metres: 50, minutes: 15}",
            )
        )
        source = "test_police"
    return source, prof


def _run(
    path: str,
    tmp: str,
    q: mp.Queue,
    url: str | None,
    demo: str | None,
    refresh: bool,
    floors: bool = False,
) -> None:
    import os

    data = Path(tempfile.mkdtemp(prefix="data-", dir=tmp))
    os.environ["TALAIA_DATA_DIR"] = str(data)
    os.environ["TALAIA_SECRET_KEY"] = "bench"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from talaia.ingest.service import ingest_file
    from talaia.store.database import get_engine

    engine = get_engine(url or f"sqlite:///{data}/store.sqlite")
    source, prof = _setup(engine, data, demo)
    if refresh:
        from talaia.warehouse import rebuild

        rebuild(engine)  # an empty warehouse, so that the refresh is incremental
    t = time.perf_counter()
    r = ingest_file(
        engine,
        path,
        source,
        prof,
        "bench",
        period=None if demo else "2024-03",
        refresh_warehouse=refresh,
    )
    el = time.perf_counter() - t
    peak = _peak_kib()
    if floors:
        spill = Path(tempfile.mkdtemp(prefix="floors-", dir=tmp))
        r.timings.update(
            _floors(engine, path, source, prof, None if demo else "2024-03", spill, demo)
        )
        shutil.rmtree(spill, ignore_errors=True)
    q.put(
        (
            el,
            r.rows_read,
            r.rows_accepted,
            r.rows_quarantined,
            r.rows_duplicate,
            peak,
            r.timings,
        )
    )
    engine.dispose()


def _peak_kib() -> int:
    """Peak resident memory of this process in KiB: ``VmHWM`` (``ru_maxrss`` would carry the
    parent's peak across the spawn's ``exec``: the demo generator's, not the ingestion's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bare(path: str) -> float:
    """Best of three: DuckDB reading the whole file as text into one Arrow table."""
    import duckdb

    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        duckdb.sql(
            f"SELECT * FROM read_csv('{path}', all_varchar=true, header=true)"
        ).to_arrow_table()
        best = min(best, time.perf_counter() - t)
    return best


def _measure(
    path: Path, tmp: str, url: str | None, demo: str | None, refresh: bool, floors: bool
) -> tuple:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_run, args=(str(path), tmp, q, url, demo, refresh, floors))
    p.start()
    while True:
        try:
            res = q.get(timeout=1)
            break
        except queue.Empty:
            if not p.is_alive():
                raise SystemExit(f"the ingestion process failed (exit code {p.exitcode})") from None
    p.join()
    return res


def _option(name: str) -> str | None:
    """The value after ``name`` on the command line (``None`` when absent)."""
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return None


def main() -> None:
    values = {_option("--csv"), _option("--demo"), _option("--keep")}
    args = [a for a in sys.argv[1:] if not a.startswith("--") and a not in values]
    sizes = [int(a) for a in args] or [1_000_000]
    with_pg = "--postgres" in sys.argv
    refresh = "--refresh" in sys.argv
    synthetic = "--synthetic" in sys.argv
    floors = "--floors" in sys.argv
    given = _option("--csv")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="talaia-bench-") as tmp:
            path = Path(tmp) / f"denuncias_{n}.csv"
            t = time.perf_counter()
            demo = None
            if given:
                # a police file made earlier (e.g. kept from a run) and its demo folder
                path, demo = Path(given), _option("--demo")
            elif synthetic:
                make_csv(path, n)
            elif _option("--keep"):
                # generated into a kept folder, for later runs with --csv/--demo
                keep = Path(_option("--keep") or ".") / f"rows-{n}"
                keep.mkdir(parents=True, exist_ok=True)
                path = keep / f"denuncias_{n}.csv"
                demo = str(make_demo_csv(path, n, keep))
                print(f"kept: --csv {path} --demo {demo}", flush=True)
            else:
                demo = str(make_demo_csv(path, n, Path(tmp)))
            made = time.perf_counter() - t
            b = bare(str(path))
            kind = "synthetic police CSV" if synthetic else "demo policia_nacional CSV"
            print(
                f"rows={n:,} {kind} {path.stat().st_size / 2**20:,.0f} MiB (made in "
                f"{made:.0f}s)  bare read_csv {b:.2f}s ({n / b:,.0f} rows/s)",
                flush=True,
            )
            backends = [("SQLite", None)]
            stack = contextlib.ExitStack()
            if with_pg:
                pg_root = Path(tempfile.mkdtemp(prefix="talaia-bench-pg-"))
                os.chmod(pg_root, 0o755)
                stack.callback(shutil.rmtree, pg_root, True)  # after the server has stopped
                backends.append(("PostgreSQL", stack.enter_context(postgres(pg_root))))
            with stack:
                for name, url in backends:
                    el, read, acc, quar, dup, rss, timings = _measure(
                        path, tmp, url, demo, refresh, floors
                    )
                    print(
                        f"  {name:<10} end to end {el:.2f}s ({read / el:,.0f} rows/s; read "
                        f"{read:,}, accepted {acc:,}, quarantined {quar:,}, duplicates {dup:,})"
                        f"  peak RSS {rss / 2**20:.2f} GiB  ratio {el / b:.1f}x  "
                        f"target 5x  phases {timings}",
                        flush=True,
                    )
                    if floors:
                        pa_s, wa_s = timings["prepare_alone_s"], timings["write_alone_s"]
                        print(
                            f"  {'':<10} apart: prepare alone {pa_s:.2f}s ({pa_s / b:.1f}x the "
                            f"bare read), write alone {wa_s:.2f}s ({wa_s / b:.1f}x); end to end "
                            f"is {el / (pa_s + wa_s):.0%} of their sum, "
                            f"{el / max(pa_s, wa_s):.2f}x the larger; "
                            f"(bare read + write alone) x 5 = {5 * (b + wa_s):.1f}s",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
