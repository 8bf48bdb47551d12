"""Benchmark of Getis-Ord Gi* on a 100 × 100 lattice (queen contiguity), 999 permutations.

Each implementation is timed in a fresh Python process, counting its first call (numba
compilation or cache loading included): Talaia's ``getis_ord_gi_star`` (numba, ``cache=True``;
measured with a warm cache and with an empty cache) and, as the baseline in the same run,
``esda.G_Local(star=True, transform="B", n_jobs=1)``. Both get the same data, weights and seed;
the script checks that z-scores and permutation p-values agree (``ties="esda"``: bit for bit).
Target: Talaia's first call < 2 s.

Usage: ``.venv/bin/python benchmarks/analysis_gistar.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

N = 100
PERMUTATIONS = 999
SEED = 2024


def data():
    import numpy as np

    rng = np.random.default_rng(7)
    lam = np.full((N, N), 2.0)
    lam[20:30, 20:30] = 8.0
    lam[60:75, 50:58] = 6.0
    return rng.poisson(lam).astype(float).ravel()


def child(which: str) -> None:
    import numpy as np

    y = data()
    t0 = time.perf_counter()
    if which == "talaia":
        from talaia.analysis.hotspots import getis_ord_gi_star
        from talaia.analysis.weights import lattice_weights

        t1 = time.perf_counter()
        w = lattice_weights(N, N, "queen")
        res = getis_ord_gi_star(y, w, permutations=PERMUTATIONS, seed=SEED, ties="esda")
        t2 = time.perf_counter()
        z, p = res.z, res.p_sim
    else:
        import warnings

        warnings.simplefilter("ignore")
        from esda.getisord import G_Local
        from libpysal.weights import lat2W

        t1 = time.perf_counter()
        w = lat2W(N, N, rook=False)
        g = G_Local(y, w, transform="B", star=True, permutations=PERMUTATIONS, seed=SEED, n_jobs=1)
        t2 = time.perf_counter()
        z, p = g.Zs, g.p_sim
    np.save(os.environ["GI_OUT"] + f"_{which}.npy", np.stack([z, np.asarray(p, float)]))
    print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1}))


def run(which: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        base = {**os.environ, "GI_OUT": os.path.join(tmp, "gi")}
        cold = run("talaia", {**base, "NUMBA_CACHE_DIR": os.path.join(tmp, "cache")})
        run("talaia", base)  # warm the package cache
        ours = run("talaia", base)
        esda = run("esda", base)
        a = np.load(os.path.join(tmp, "gi_talaia.npy"))
        b = np.load(os.path.join(tmp, "gi_esda.npy"))
    print(f"cpus: {os.cpu_count()}; lattice {N}×{N}, {PERMUTATIONS} permutations")
    print(
        f"talaia: first call in a fresh process {ours['first_call_s']:.2f} s (cache warm; import "
        f"{ours['import_s']:.2f} s); with an empty numba cache {cold['first_call_s']:.2f} s"
    )
    print(
        f"esda (baseline): first call {esda['first_call_s']:.2f} s "
        f"(import {esda['import_s']:.2f} s)"
    )
    print(f"ratio esda / talaia (first calls): {esda['first_call_s'] / ours['first_call_s']:.1f}x")
    print(
        f"agreement: max |Δz| = {np.abs(a[0] - b[0]).max():.2e}, max |Δp_sim| = "
        f"{np.abs(a[1] - b[1]).max():.2e}; target < 2 s"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
