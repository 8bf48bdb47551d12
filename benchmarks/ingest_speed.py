"""Ingestion speed: a police CSV of N rows, end to end into SQLite, vs DuckDB's bare read_csv.

Usage: ``python benchmarks/ingest_speed.py [ROWS ...] [--postgres]`` (default 1,000,000;
``--postgres`` also loads into a throw-away PostgreSQL server). Prints rows/s end
to end (read → normalize → validate → classify → de-duplicate → write_batch), peak resident
memory (ru_maxrss of a child process per run), the time of each phase (prepare = Talaia's
ingestion pipeline; write = the store's ``write_batch``) and the ratio to ``SELECT * FROM
read_csv(..., all_varchar=true)`` into Arrow of the same file, timed in the same run (the
physical floor). The file is synthetic, police-like, with the columns of
tests/ingest/conftest.py (near-duplicate detection on: 50 m, 15 min).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import multiprocessing as mp
import os
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


def _run(path: str, tmp: str, q: mp.Queue, url: str | None = None) -> None:
    import os

    os.environ["TALAIA_DATA_DIR"] = tmp
    os.environ["TALAIA_SECRET_KEY"] = "bench"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.ingest.conftest import AREAS, CROSSWALK, PROFILE

    from talaia.ingest.service import ingest_file
    from talaia.store.database import get_engine, upgrade

    (Path(tmp) / "areas.geojson").write_text(json.dumps(AREAS))
    (Path(tmp) / "crosswalk.csv").write_text(CROSSWALK)
    prof = Path(tmp) / "profile.yaml"
    prof.write_text(
        PROFILE.format(
            delimiter=",", decimal=".", encoding="utf-8", area_method="code", crs="EPSG:4326"
        ).replace(
            "near_duplicates: {metres: 100, minutes: 30}",
            "near_duplicates: {metres: 50, minutes: 15}",
        )
    )
    engine = get_engine(url or f"sqlite:///{tmp}/b.sqlite")
    upgrade(engine)
    t = time.perf_counter()
    r = ingest_file(
        engine, path, "test_police", prof, "bench", period="2024-03", refresh_warehouse=False
    )
    el = time.perf_counter() - t
    q.put(
        (
            el,
            r.rows_read,
            r.rows_accepted,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            r.timings,
        )
    )


def bare(path: str) -> float:
    import duckdb

    t = time.perf_counter()
    duckdb.sql(f"SELECT * FROM read_csv('{path}', all_varchar=true, header=true)").to_arrow_table()
    return time.perf_counter() - t


def _measure(path: Path, tmp: str, url: str | None) -> tuple:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_run, args=(str(path), tmp, q, url))
    p.start()
    res = q.get()
    p.join()
    return res


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sizes = [int(a) for a in args] or [1_000_000]
    with_pg = "--postgres" in sys.argv
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"police_{n}.csv"
            make_csv(path, n)
            b = bare(str(path))
            print(
                f"rows={n:,} file={path.stat().st_size / 2**20:.0f} MiB  bare read_csv "
                f"{b:.2f}s ({n / b:,.0f} rows/s)"
            )
            backends = [("SQLite", None)]
            stack = contextlib.ExitStack()
            if with_pg:
                pg_root = Path(tempfile.mkdtemp(prefix="talaia-bench-pg-"))
                os.chmod(pg_root, 0o755)
                backends.append(("PostgreSQL", stack.enter_context(postgres(pg_root))))
            with stack:
                for name, url in backends:
                    el, read, acc, rss, timings = _measure(path, tmp, url)
                    print(
                        f"  {name:<10} end to end {el:.2f}s ({read / el:,.0f} rows/s, "
                        f"accepted {acc:,})  peak RSS {rss / 2**20:.2f} GiB  "
                        f"ratio {el / b:.1f}x  phases {timings}"
                    )


if __name__ == "__main__":
    main()
