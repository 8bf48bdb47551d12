"""Benchmark: loading a demo output folder into the store, and rebuilding the warehouse.

For each demo folder (generated here with ``talaia.demo.generate`` unless ``--demo`` names an
existing one) and each store back end (SQLite always; PostgreSQL with ``--postgres``, started
from Debian's binaries in a temp folder), it measures, each phase in a fresh subprocess:

- ``baseline``: DuckDB reading every canonical Parquet file of the folder (count + a group-by
  per table): the cost of just touching the same rows with a columnar engine;
- ``load``: ``load_reference`` + ``load_canonical_tree`` into an empty, migrated store;
- ``rebuild``: ``talaia.warehouse.rebuild`` from that store into a new DuckDB file.

It prints seconds, peak RSS (``resource.getrusage``, the phase's own process) and the ratio of
each phase to the baseline measured in the same run. No assertion on time.

Usage::

    .venv/bin/python benchmarks/store_load.py --scale 1.0 [--scale 2.2] [--postgres]
    .venv/bin/python benchmarks/store_load.py --demo /path/to/demo
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _phase(name: str, demo: str, url: str, wh: str) -> dict[str, float]:
    t0 = time.perf_counter()
    extra: dict[str, float] = {}
    if name == "generate":
        from talaia.demo import generate

        res = generate(demo, scale=float(url))
        extra["incidents"] = float(res.incidents)
    elif name == "baseline":
        import duckdb

        con = duckdb.connect()
        for table in ("incident", "offence", "victim", "perpetrator", "custody"):
            files = glob.glob(f"{demo}/canonical/*/*/{table}.parquet")
            if files:
                n = con.execute(
                    f"SELECT count(*) FROM read_parquet({files!r}, union_by_name=true)"
                ).fetchone()[0]
                con.execute(
                    f"SELECT external_id IS NULL, count(*) FROM read_parquet({files!r}, "
                    "union_by_name=true) GROUP BY ALL"
                ).fetchall()
                extra[f"rows_{table}"] = float(n)
    elif name == "load":
        from talaia.store.canonical import load_canonical_tree, load_reference
        from talaia.store.database import get_engine, upgrade

        engine = get_engine(url)
        upgrade(engine)
        t0 = time.perf_counter()
        load_reference(engine, demo)
        res = load_canonical_tree(engine, demo)
        extra["batches"] = float(len(res))
    elif name == "rebuild":
        from talaia.store.database import get_engine
        from talaia.warehouse import rebuild

        res = rebuild(get_engine(url), wh)
        extra["fact_incident"] = float(res.rows["fact_incident"])
    seconds = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": rss_mb, **extra}


def _run_phase(name: str, demo: Path, url: str, wh: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            name,
            "--demo",
            str(demo),
            "--url",
            url,
            "--wh",
            str(wh),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class _Postgres:
    """A throw-away PostgreSQL server (as in tests/conftest.py)."""

    def __init__(self) -> None:
        init = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not init:
            raise SystemExit("PostgreSQL binaries not found in /usr/lib/postgresql/*/bin")
        self.bindir = Path(init[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="talaia-bench-pg-"))
        self.data, self.sock = self.root / "data", self.root / "sock"
        self.data.mkdir()
        self.sock.mkdir()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            for p in (self.root, self.data, self.sock):
                shutil.chown(p, "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        subprocess.run(
            [
                *self.prefix,
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        opts = (
            f"-c fsync=off -c synchronous_commit=off -p {self.port} -c listen_addresses='' "
            f"-c unix_socket_directories='{self.sock}'"
        )
        subprocess.run(
            [
                *self.prefix,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                opts,
                "-w",
                "-l",
                str(self.root / "log"),
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def new_db(self, name: str) -> str:
        subprocess.run(
            [
                *self.prefix,
                str(self.bindir / "createdb"),
                "-h",
                str(self.sock),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
            capture_output=True,
        )
        return f"postgresql+psycopg://postgres@/{name}?host={self.sock}&port={self.port}"

    def stop(self) -> None:
        subprocess.run(
            [
                *self.prefix,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, action="append", help="demo scale(s) to generate")
    ap.add_argument("--demo", help="an existing demo folder instead of generating one")
    ap.add_argument("--postgres", action="store_true", help="also load into PostgreSQL")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--wh", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(_phase(args.phase, args.demo, args.url, args.wh)))
        return
    work = Path(tempfile.mkdtemp(prefix="talaia-bench-"))
    demos: list[tuple[str, Path]] = []
    if args.demo:
        demos.append(("given", Path(args.demo)))
    for scale in args.scale or ([] if args.demo else [1.0]):
        from talaia.demo import generate

        t0 = time.perf_counter()
        res = generate(work / f"demo-{scale}", scale=scale)
        print(
            f"generated scale {scale}: {res.incidents:,} incidents in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        demos.append((f"scale {scale}", work / f"demo-{scale}"))
    pg = _Postgres() if args.postgres else None
    try:
        for label, demo in demos:
            base = _run_phase("baseline", demo, "", work / "none")
            rows = {k[5:]: int(v) for k, v in base.items() if k.startswith("rows_")}
            print(f"\n== {label}: {demo}  rows {rows}")
            print(f"{'phase':<24}{'seconds':>10}{'peak RSS MB':>14}{'x baseline':>12}")
            print(
                f"{'baseline (DuckDB/Parquet)':<24}{base['seconds']:>10.2f}"
                f"{base['peak_rss_mb']:>14.0f}{1.0:>12.1f}"
            )
            backends = [("sqlite", f"sqlite:///{work / (label.replace(' ', '_') + '.sqlite')}")]
            if pg is not None:
                backends.append(("postgresql", pg.new_db("b" + str(abs(hash(label)))[:10])))
            for kind, url in backends:
                wh = work / f"{label.replace(' ', '_')}-{kind}.duckdb"
                for phase in ("load", "rebuild"):
                    r = _run_phase(phase, demo, url, wh)
                    print(
                        f"{phase + ' ' + kind:<24}{r['seconds']:>10.2f}"
                        f"{r['peak_rss_mb']:>14.0f}{r['seconds'] / base['seconds']:>12.1f}"
                    )
                per_s = rows.get("incident", 0) / max(r["seconds"], 1e-9)
                print(f"  rebuild {kind}: {per_s:,.0f} incidents/s")
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
