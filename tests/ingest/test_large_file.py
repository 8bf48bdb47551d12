"""A delivery larger than 2 GiB is streamed: read in chunks of bounded size, memory bounded (well
under the file's size), every row accounted for, the hand-planted defects found exactly.

The file is the tests' police CSV (conftest's profile) with one more column the profile does not
map: a free-text narrative of about 2 KiB per row, as police files often carry. One million rows
make 2.1 GB. The ingestion runs in a child process so that its peak resident memory
(``VmHWM``) is its own.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import queue
import resource
import shutil
import tempfile
from pathlib import Path

import numpy as np
from tests.ingest.conftest import AREAS, CROSSWALK, PROFILE

N_ROWS = 1_000_000
BAD_DATE_EVERY = 100_000  # row i with i % BAD_DATE_EVERY == 7 has 31/02/2024: 10 rows
DUP_EVERY = 250_000  # row i with i % DUP_EVERY == 11 repeats the id of row i - 1: 4 rows
GIB = 1 << 30


def _write_file(path: Path) -> None:
    rng = np.random.default_rng(7)
    words = np.array(
        [
            "el",
            "la",
            "de",
            "en",
            "un",
            "una",
            "robo",
            "vehiculo",
            "calle",
            "noche",
            "testigo",
            "huyo",
            "arma",
            "denuncia",
            "vecino",
            "puerta",
            "ventana",
            "moto",
            "centro",
            "barrio",
            "policia",
            "patrulla",
            "llamada",
            "herido",
            "camino",
        ]
    )
    text = " ".join(rng.choice(words, 400_000))  # ~2.5 MB of narrative to slice from
    starts = rng.integers(0, len(text) - 2_200, N_ROWS)
    day = rng.integers(1, 29, N_ROWS)
    hh, mm = rng.integers(0, 24, N_ROWS), rng.integers(0, 60, N_ROWS)
    south = rng.random(N_ROWS) < 0.5
    lon, lat = -70 + rng.random(N_ROWS), np.where(south, 9, 10) + rng.random(N_ROWS)
    code = np.where(rng.random(N_ROWS) < 0.1, "HOM", "ROB")
    sex = np.where(rng.random(N_ROWS) < 0.5, "M", "F")
    age = rng.integers(0, 90, N_ROWS)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,fecha,area,lon,lat,delito,sexo,edad,cedula,relato\n")
        for s in range(0, N_ROWS, 50_000):
            lines = []
            for i in range(s, min(N_ROWS, s + 50_000)):
                ident = f"P{i - 1}" if i % DUP_EVERY == 11 else f"P{i}"
                date = (
                    "31/02/2024"
                    if i % BAD_DATE_EVERY == 7
                    else f"{day[i]:02d}/03/2024 {hh[i]:02d}:{mm[i]:02d}"
                )
                lines.append(
                    f"{ident},{date},{'S1' if south[i] else 'N1'},{lon[i]:.6f},{lat[i]:.6f},"
                    f"{code[i]},{sex[i]},{age[i]},{i % 997},"
                    f'"{text[starts[i] : starts[i] + 2_100]}"\n'
                )
            fh.writelines(lines)


def _peak_bytes() -> int:
    """This process's peak resident memory (``VmHWM``; ``ru_maxrss`` would carry the parent's
    peak across the spawn's ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _ingest(folder: str, q: mp.Queue) -> None:
    import os

    os.environ["TALAIA_DATA_DIR"] = str(Path(folder) / "data")
    os.environ["TALAIA_SECRET_KEY"] = "test-secret"
    from talaia.ingest.service import ingest_file
    from talaia.store.database import get_engine, upgrade

    root = Path(folder)
    engine = get_engine(f"sqlite:///{root / 'store.sqlite'}")
    upgrade(engine)
    profile = root / "profile.yaml"
    r = ingest_file(engine, root / "big.csv", "test_police", profile, "ana")
    with engine.connect() as c:
        from sqlalchemy import text

        stored = c.execute(text("SELECT count(*) FROM incident")).scalar_one()
        qrows = c.execute(text("SELECT row_number FROM quarantine_row ORDER BY 1")).scalars()
        quarantined = list(qrows)
    engine.dispose()
    q.put(
        {
            "outcome": r.outcome,
            "read": r.rows_read,
            "accepted": r.rows_accepted,
            "quarantined": r.rows_quarantined,
            "duplicates": r.rows_duplicate,
            "dup_rows": sorted(d["row_number"] for d in r.report.get("duplicates", [])),
            "extra_columns": r.report.get("extra_columns"),
            "stored": stored,
            "quarantine_rows": quarantined,
            "peak": _peak_bytes(),
        }
    )


def test_a_2_gb_file_streams_with_bounded_memory():
    folder = Path(tempfile.mkdtemp(prefix="talaia-large-"))
    try:
        (folder / "areas.geojson").write_text(json.dumps(AREAS))
        (folder / "crosswalk.csv").write_text(CROSSWALK)
        (folder / "profile.yaml").write_text(
            PROFILE.format(
                delimiter=",", decimal=".", encoding="utf-8", area_method="code", crs="EPSG:4326"
            )
        )
        big = folder / "big.csv"
        _write_file(big)
        size = big.stat().st_size
        assert size > 2 * 10**9
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_ingest, args=(str(folder), q))
        p.start()
        got = None
        while got is None and (p.is_alive() or not q.empty()):
            with contextlib.suppress(queue.Empty):
                got = q.get(timeout=1)
        p.join()
        assert p.exitcode == 0 and got is not None, f"the ingestion process failed: {p.exitcode}"
        # rows are numbered from 2 (the header is row 1): data row i is file row i + 2
        bad = [i + 2 for i in range(N_ROWS) if i % BAD_DATE_EVERY == 7]
        dups = [i + 2 for i in range(N_ROWS) if i % DUP_EVERY == 11]
        assert got["outcome"] == "loaded"
        assert got["read"] == N_ROWS
        assert got["quarantined"] == len(bad) == 10
        assert got["quarantine_rows"] == bad
        assert got["duplicates"] == len(dups) == 4
        assert got["dup_rows"] == dups
        assert got["accepted"] == got["stored"] == N_ROWS - len(bad) - len(dups)
        assert got["extra_columns"] == ["relato"]
        # streamed: the peak stays under the file's size (the whole file as Arrow text would
        # take more than its 2 GB on disk); measured 1.5 GiB, mostly DuckDB's buffer pools
        # (1 GiB for the pipeline, 512 MiB for the reader)
        assert got["peak"] < 1.75 * GIB < size, f"peak {got['peak'] / GIB:.2f} GiB"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
