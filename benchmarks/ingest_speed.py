"""Ingestion speed: a police CSV of N rows, end to end into SQLite, vs DuckDB's bare read_csv.

Usage: ``python benchmarks/ingest_speed.py [ROWS ...]`` (default 1,000,000). Prints rows/s end
to end (read → normalize → validate → classify → de-duplicate → write_batch), peak resident
memory (ru_maxrss of a child process per run) and the ratio to ``SELECT * FROM
read_csv(..., all_varchar=true)`` into Arrow of the same file timed in the same run (the physical floor).
The file is synthetic (the demo generator's police file when it exists can be passed with
``--file``), with the columns of tests/ingest/conftest.py.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
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


def _run(path: str, tmp: str, q: mp.Queue) -> None:
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
    engine = get_engine(f"sqlite:///{tmp}/b.sqlite")
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


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000]
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"police_{n}.csv"
            make_csv(path, n)
            b = bare(str(path))
            ctx = mp.get_context("spawn")
            q = ctx.Queue()
            p = ctx.Process(target=_run, args=(str(path), tmp, q))
            p.start()
            el, read, acc, rss, timings = q.get()
            p.join()
            print(
                f"rows={n:,} file={path.stat().st_size / 2**20:.0f} MiB  bare read_csv "
                f"{b:.2f}s ({n / b:,.0f} rows/s)  end-to-end SQLite {el:.2f}s "
                f"({read / el:,.0f} rows/s, accepted {acc:,})  peak RSS {rss / 2**20:.2f} GiB"
                f"  ratio {el / b:.1f}x  phases {timings}"
            )


if __name__ == "__main__":
    main()
