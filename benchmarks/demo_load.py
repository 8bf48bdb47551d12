"""Benchmark of the main job, ``talaia demo --no-serve``: generate, load, refresh, publish.

Runs the command in a fresh subprocess and an empty data folder per mode, so that each figure
is its own: first ``--canonical`` (the clean canonical tree, bulk Arrow loads: the baseline),
then the default raw path (every agency file through the ingestion pipeline, defects included).
Prints wall time, CPU time (user + system of the child) and peak RSS (``ru_maxrss`` of the
child), incidents per second and the ratio of each wall time to the canonical run measured in
the same run. Usage::

    .venv/bin/python benchmarks/demo_load.py [--scale 1.0] [--years 2019-2024]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(scale: float, years: str, canonical: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALAIA_")}
        env.update(TALAIA_DATA_DIR=str(Path(tmp) / "data"), TALAIA_LANGUAGE="en")
        cmd = [sys.executable, "-m", "talaia.cli.main", "demo", "--no-serve", "--scale"]
        cmd += [str(scale), "--years", years, "--canonical" if canonical else "--raw"]
        log = Path(tmp) / "log.txt"
        t0 = time.perf_counter()
        with log.open("w") as fh:
            proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
            _pid, status, ru = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(log.read_text()[-4000:])
        man = json.loads((Path(tmp) / "data" / "demo" / "manifest.json").read_text())
        summary = json.loads((Path(tmp) / "data" / "demo" / "truth" / "summary.json").read_text())
    cpu = ru.ru_utime + ru.ru_stime
    return {
        "mode": "canonical" if canonical else "raw",
        "scale": man["scale"],
        "raw_rows": sum(int(x["raw_rows"]) for x in summary["sources"]),
        "seconds": wall,
        "cpu": cpu,
        "peak_rss_mib": ru.ru_maxrss / 1024,  # KiB on Linux
    }


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--years", default="2019-2024")
    args = ap.parse_args(argv)
    results = [_run(args.scale, args.years, True), _run(args.scale, args.years, False)]
    base = results[0]["seconds"]
    print(
        f"{'mode':>9} {'scale':>6} {'raw rows':>10} {'seconds':>8} {'cpu s':>7} {'rows/s':>8} "
        f"{'peak MiB':>9} {'ratio':>6}"
    )
    for r in results:
        rate = r["raw_rows"] / r["seconds"]
        print(
            f"{r['mode']:>9} {r['scale']:>6.3g} {r['raw_rows']:>10,} {r['seconds']:>8.1f} "
            f"{r['cpu']:>7.1f} {rate:>8,.0f} {r['peak_rss_mib']:>9.0f} "
            f"{r['seconds'] / base:>6.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
