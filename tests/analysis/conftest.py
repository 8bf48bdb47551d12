"""Fixtures of the analysis tests: the real Chicago burglary data (read-only shared copy)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np
import pytest

CHICAGO = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "real"
    / ("chicago_burglary_2014_2017.csv")
)


@pytest.fixture(scope="session")
def chicago() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All 45,319 burglaries: x, y (metres) and the date as a day number (proleptic ordinal)."""
    path = CHICAGO
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    x = np.array([float(r["x"]) for r in rows])
    y = np.array([float(r["y"]) for r in rows])
    t = np.array(
        [
            date(
                int(r["date_single"][6:]), int(r["date_single"][3:5]), int(r["date_single"][:2])
            ).toordinal()
            for r in rows
        ],
        dtype=float,
    )
    return x, y, t
