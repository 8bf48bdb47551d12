"""Counter-based random permutations for Monte Carlo tests (numba, thread-count independent).

Each permutation ``k`` of a run with seed ``s`` draws from its own SplitMix64 stream seeded by
``(s, k)`` (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators", OOPSLA),
and shuffles with Fisher–Yates (Knuth, TAOCP vol. 2, Algorithm P). Permutation ``k`` is therefore
the same whatever the number of threads and whatever order the threads run in: results are
reproducible from the seed alone. The modulo reduction of a 64-bit draw to ``[0, i]`` has a bias
below ``i / 2**64`` (< 1e-13 for a million events), negligible for Monte Carlo p-values.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def splitmix64(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """Advance a SplitMix64 state; return (new state, 64-bit output)."""
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True)
def stream_state(seed: np.int64, k: np.int64) -> np.uint64:
    """Initial state of stream ``k`` of a run seeded with ``seed``."""
    s = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(k + 1) * np.uint64(
        0xD1B54A32D192ED03
    )
    s, out = splitmix64(s)
    return out


@njit(cache=True)
def shuffle_into(values: np.ndarray, out: np.ndarray, seed: np.int64, k: np.int64) -> None:
    """Write permutation ``k`` (of a run seeded with ``seed``) of ``values`` into ``out``."""
    n = values.shape[0]
    for i in range(n):
        out[i] = values[i]
    state = stream_state(seed, k)
    for i in range(n - 1, 0, -1):
        state, r = splitmix64(state)
        j = np.int64(r % np.uint64(i + 1))
        tmp = out[i]
        out[i] = out[j]
        out[j] = tmp
