"""One kind of source at a time, and the midnight of a register without times of day: the
warehouse of test_service_cli.py plus forensic records of the same 65 burglaries, their time
of day lost (every one at 00:00, precision "minute")."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from talaia.analysis import service
from talaia.analysis.service import IncidentFilter

from .test_service_cli import _build


@pytest.fixture(scope="module")
def kinds(tmp_path_factory) -> tuple[Path, list[dict]]:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("kinds") / "warehouse.duckdb"
    rows = _build(path)["rows"]
    con = duckdb.connect(str(path))
    for table in ("fact_incident", "fact_offence"):
        con.execute(
            f"INSERT INTO {table} SELECT * REPLACE ('forensic' AS source_kind, 'medicina_legal' "
            "AS source_code, incident_id + 10000 AS incident_id, "
            "date_trunc('day', occurred_from) AS occurred_from, 0 AS hour) "
            f"FROM {table} WHERE iccs_code = '0501'"
        )
    con.close()
    return path, rows  # type: ignore[return-value]


def test_source_kind_selects_one_kind(kinds) -> None:
    path, rows = kinds
    con = service.connect(path)
    n_police = sum(r["iccs_code"] == "0501" for r in rows)
    assert n_police == 65
    police = service.load_incidents(con, IncidentFilter(iccs="0501", source_kind="police"))
    forensic = service.load_incidents(con, IncidentFilter(iccs="0501", source_kind="forensic"))
    both = service.load_incidents(con, IncidentFilter(iccs="0501"))
    assert (police.n, forensic.n, both.n) == (65, 65, 130)  # every burglary counted twice
    assert set(forensic.source_code) == {"medicina_legal"}
    rep = service.time_report(con, IncidentFilter(iccs="0501", source_kind="police"))
    assert rep.filter.to_dict()["source_kind"] == "police"
    assert rep.heatmap.weights.sum() == pytest.approx(65)


def test_forensic_midnights_spread_over_their_day(kinds) -> None:
    """The forensic copies all sit at 00:00 with precision "minute": a register without times
    of day. Each weighs 1/24 in every hour of its calendar day, none 1 at midnight."""
    path, rows = kinds
    con = service.connect(path)
    rep = service.time_report(con, IncidentFilter(iccs="0501", source_kind="forensic"))
    want = np.zeros((7, 24))
    for r in rows:
        if r["iccs_code"] == "0501":
            want[r["occurred_from"].weekday(), :] += 1 / 24
    np.testing.assert_allclose(rep.heatmap.weights, want, atol=1e-12)
    assert (rep.heatmap.n_exact, rep.heatmap.n_day) == (0, 65)
    # the police times of the same events are real and stay exact
    pol = service.time_report(con, IncidentFilter(iccs="0501", source_kind="police"))
    assert (pol.heatmap.n_exact, pol.heatmap.n_day) == (65, 0)
