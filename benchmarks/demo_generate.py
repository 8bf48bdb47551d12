"""Benchmark of the demo generator: wall time, peak memory (ru_maxrss) and incidents/s.

Runs ``talaia.demo.generate`` in a fresh subprocess per size (so that each peak-memory figure is
its own) at the default scale and at ~1 million incidents (or the scales given), and prints the
figures and the throughput ratio of each run to the first one (the baseline, same machine, same
run). Usage::

    .venv/bin/python benchmarks/demo_generate.py [SCALE ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from talaia.demo import generate
scale = float(sys.argv[1]); out = sys.argv[2]
t0 = time.perf_counter()
r = generate(out, scale=scale)
dt = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
rss = ru.ru_maxrss  # KiB on Linux
print(json.dumps({"scale": scale, "seconds": dt, "cpu": ru.ru_utime + ru.ru_stime,
                  "incidents": r.incidents,
                  "records": sum(s.records for s in r.sources), "files": r.files,
                  "peak_rss_mib": rss / 1024}))
"""

INCIDENTS_AT_SCALE_1 = 471_000  # measured; used to aim at 1M incidents


def main(argv: list[str]) -> None:
    scales = [float(a) for a in argv] or [1.0, round(1_000_000 / INCIDENTS_AT_SCALE_1, 3)]
    results = []
    for scale in scales:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [sys.executable, "-c", CHILD, str(scale), tmp],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    base = results[0]["incidents"] / results[0]["seconds"]
    print(
        f"{'scale':>7} {'incidents':>10} {'seconds':>8} {'cpu s':>7} {'inc/s':>9} {'peak MiB':>9} "
        f"{'files':>6} {'ratio':>6}"
    )
    for r in results:
        rate = r["incidents"] / r["seconds"]
        print(
            f"{r['scale']:>7.3f} {r['incidents']:>10,} {r['seconds']:>8.1f} {r['cpu']:>7.1f} "
            f"{rate:>9,.0f} "
            f"{r['peak_rss_mib']:>9.0f} {r['files']:>6} {rate / base:>6.2f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
