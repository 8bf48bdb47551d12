"""The ``talaia ingest`` / ``batches`` / ``quarantine`` commands, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.ingest.conftest import GOOD, write_csv

pytestmark = pytest.mark.slow


def _talaia(tmp, *args):
    env = {
        **os.environ,
        "TALAIA_DATA_DIR": str(tmp / "data"),
        "TALAIA_SECRET_KEY": "k",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "talaia.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_ingest_batches_quarantine(country):
    tmp, profile = country
    prof = profile()
    rows = [*GOOD, ["B2", "05/03/2024", "N1", "-69.5", "10.5", "HOM", "M", "250", ""]]
    f = write_csv(tmp / "p.csv", rows)
    r = _talaia(
        tmp,
        "ingest",
        str(f),
        "--source",
        "test_police",
        "--profile",
        str(prof),
        "--period",
        "2024-03",
        "--report",
        str(tmp / "r.html"),
    )
    assert r.returncode == 0, r.stderr
    assert "accepted" in r.stdout and "age_out_of_range" in r.stdout
    assert (tmp / "r.html").read_text().startswith("<!doctype html>")
    r = _talaia(tmp, "ingest", str(f), "--profile", str(prof), "--period", "2024-03")
    assert r.returncode == 0 and "unchanged" in r.stdout
    r = _talaia(tmp, "batches")
    assert r.returncode == 0 and "test_police" in r.stdout
    r = _talaia(tmp, "quarantine", "show", "1")
    assert r.returncode == 0 and "age_out_of_range" in r.stdout and "250" in r.stdout
    r = _talaia(
        tmp, "quarantine", "fix", "1", "--row", "5", "--set", "edad=25", "--profile", str(prof)
    )
    assert r.returncode == 0, r.stderr
    assert "accepted 4" in r.stdout


def test_cli_rejected_batch_exits_non_zero(country):
    tmp, profile = country
    rows = [["B1", "31/02/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", ""]] * 2
    f = write_csv(tmp / "p.csv", rows)
    r = _talaia(tmp, "ingest", str(f), "--profile", str(profile()), "--period", "2024-03")
    assert r.returncode == 4
    assert "rejected" in r.stderr and "p.csv" in r.stderr
    r = _talaia(tmp, "ingest", str(tmp / "nope.csv"), "--profile", str(profile()))
    assert r.returncode == 2 and "nope.csv" in r.stderr
