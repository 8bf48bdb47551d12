"""Benchmark of the Knox test on the Chicago burglaries (tobydavies/NearRepeat data).

Cases (each timed in a fresh Python process, numba cache warm unless stated):

A. 12,334 events (2014), 1 spatial × 1 temporal band (200 m, 7 days, NRC convention), 99
   permutations. Target < 0.5 s. NRC 1.3 took 534 s.
B. 45,319 events (2014–2017), 6 spatial bands to 500 m (same location + 100..500 m) × 5 temporal
   bands (7..35 days), 999 permutations. Target < 20 s, peak memory < 2 GiB.

Baseline measured in the same run: a vectorized NumPy/SciPy implementation of the same test
(k-d tree pairs, then per permutation ``np.random.permutation`` + ``np.histogram2d`` over the
pairs, the approach of the open Python implementations), on case A; and on case B with 49
permutations, scaled to 999.

Usage: ``.venv/bin/python benchmarks/analysis_knox.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "real"
    / ("chicago_burglary_2014_2017.csv")
)

CASES = {
    "A": {"year": 2014, "sb": [200.0], "tb": [7.0], "perm": 99, "conv": "nrc"},
    "B": {
        "year": None,
        "sb": [100.0, 200.0, 300.0, 400.0, 500.0],
        "tb": [7.0, 14.0, 21.0, 28.0, 35.0],
        "perm": 999,
        "conv": "closed",
    },
}


def load():
    import numpy as np

    raw = np.loadtxt(DATA, delimiter=",", skiprows=1, dtype=str)
    x = raw[:, 0].astype(float)
    y = raw[:, 1].astype(float)
    d = (
        np.array([f"{s[6:10]}-{s[3:5]}-{s[0:2]}" for s in raw[:, 2]], dtype="datetime64[D]")
        .astype(np.int64)
        .astype(float)
    )
    year = raw[:, 2].astype("U10")
    return x, y, d, np.array([int(s[6:10]) for s in year])


def child(case: str) -> None:
    import resource

    t0 = time.perf_counter()
    from talaia.analysis.knox import knox_test

    t_import = time.perf_counter() - t0
    x, y, t, year = load()
    c = CASES[case]
    if c["year"]:
        m = year == c["year"]
        x, y, t = x[m], y[m], t[m]
    t1 = time.perf_counter()
    res = knox_test(x, y, t, c["sb"], c["tb"], convention=c["conv"], permutations=c["perm"], seed=1)
    first = time.perf_counter() - t1
    t2 = time.perf_counter()
    knox_test(x, y, t, c["sb"], c["tb"], convention=c["conv"], permutations=c["perm"], seed=2)
    second = time.perf_counter() - t2
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
    print(
        json.dumps(
            {
                "n": int(x.size),
                "import_s": t_import,
                "first_call_s": first,
                "second_call_s": second,
                "peak_rss_mib": peak,
                "pairs_within": res.extra["pairs_within_largest_band"],
                "ratio_mean_00": float(res.ratio_mean[0, 0]),
                "ratio_mean_10": float(res.ratio_mean[1, 0]),
            }
        )
    )


def baseline(case: str, permutations: int) -> float:
    """Vectorized NumPy/SciPy Knox (k-d tree pairs + histogram2d per permutation)."""
    import numpy as np
    from scipy.spatial import cKDTree

    x, y, t, year = load()
    c = CASES[case]
    if c["year"]:
        m = year == c["year"]
        x, y, t = x[m], y[m], t[m]
    t0 = time.perf_counter()
    xy = np.column_stack([x, y])
    pairs = cKDTree(xy).query_pairs(c["sb"][-1], output_type="ndarray")
    d = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    sedges = np.concatenate([[-1, 0.5], c["sb"]])
    tedges = np.concatenate([[-0.5], c["tb"]])
    rng = np.random.default_rng(1)
    for _ in range(permutations):
        tp = t[rng.permutation(t.size)]
        dt = np.abs(tp[pairs[:, 0]] - tp[pairs[:, 1]])
        np.histogram2d(d, dt, bins=[sedges, tedges])
    return time.perf_counter() - t0


def run_child(case: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", case],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"cpus: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = run_child("A", env)
        print(f"case A, cold numba cache (compiles): first call {cold['first_call_s']:.2f} s")
    run_child("A")  # make sure the package cache is warm
    a = run_child("A")
    print(
        f"case A: {a['n']} events, {a['pairs_within']} pairs within 200 m; first call in a "
        f"fresh process {a['first_call_s']:.3f} s (import {a['import_s']:.2f} s), second call "
        f"{a['second_call_s']:.3f} s; Knox ratios {a['ratio_mean_00']:.2f} / "
        f"{a['ratio_mean_10']:.2f} (NRC: 5.34 / 1.28); target < 0.5 s"
    )
    ba = baseline("A", 99)
    print(f"  baseline NumPy/SciPy, same run: {ba:.3f} s -> ratio {ba / a['second_call_s']:.1f}x")
    b = run_child("B")
    print(
        f"case B: {b['n']} events, {b['pairs_within']} pairs within 500 m; first call in a "
        f"fresh process {b['first_call_s']:.2f} s, second {b['second_call_s']:.2f} s; peak RSS "
        f"{b['peak_rss_mib']:.0f} MiB; targets < 20 s and < 2048 MiB"
    )
    bb = baseline("B", 49) * 999 / 49
    print(
        f"  baseline NumPy/SciPy, 49 permutations scaled to 999: {bb:.1f} s -> ratio "
        f"{bb / b['second_call_s']:.1f}x"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
