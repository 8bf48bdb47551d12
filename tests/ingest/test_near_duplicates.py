"""Near duplicates without coordinates (forensic and custody files): same area, national code and
person attributes within the time tolerance are flagged for review, never dropped. Hand-made
fixtures; the expected pairs are worked out row by row in the comments."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from tests.ingest.conftest import write_csv

from talaia.ingest.service import ingest_file

NOW = dt.datetime(2024, 6, 1)


@pytest.fixture(autouse=True, params=["one slice", "one row per slice"])
def slices(request, monkeypatch):
    """Every test also runs with the search cut into slices of one candidate row: the time-cell
    slicing must find each pair once, whatever the slice a pair's rows fall in."""
    if request.param == "one row per slice":
        from talaia.ingest import near

        monkeypatch.setattr(near, "NEAR_SLICE_ROWS", 1)


FORENSIC = """
source: test_forensic
profile_version: 1
format: csv
delimiter: ","
source_info: {agency_code: TF, agency_name: Test Forensic, kind: forensic, name: Test forensic}
fields:
  incident.external_id: {column: protocolo}
  incident.occurred_from: {column: fecha, formats: ["%d/%m/%Y %H:%M", "%d/%m/%Y"]}
  offence.national_code: {column: manera}
  victim.sex: {column: sexo, values: {M: male, F: female}}
  victim.age: {column: edad}
area: {method: code, column: area, level: 1, file: areas.geojson}
crosswalk: crosswalk.csv
near_duplicates: {metres: 50, minutes: 30}
"""

CUSTODY = """
source: test_prison
profile_version: 1
format: csv
delimiter: ","
record: custody
source_info: {agency_code: TC, agency_name: Test Prison, kind: prison, name: Test prison}
fields:
  custody.external_id: {column: id}
  custody.person_key: {column: cedula}
  custody.admitted_at: {column: ingreso, formats: ["%Y-%m-%d %H:%M"]}
  custody.sex: {column: sexo, values: {M: male, F: female}}
  custody.age: {column: edad}
  custody.national_code: {column: delito}
area: {method: code, column: area, level: 1, file: areas.geojson}
crosswalk: crosswalk.csv
personal_identifiers: [cedula]
near_duplicates: {metres: 50, minutes: 30}
"""


def _pairs(res) -> set[tuple[int, int]]:
    return {(p["row_a"], p["row_b"]) for p in res.report["near_duplicates"]}


def test_forensic_near_duplicates_without_coordinates(country, engine):
    tmp, _profile = country
    prof = tmp / "forensic.yaml"
    prof.write_text(FORENSIC)
    header = ["protocolo", "fecha", "area", "manera", "sexo", "edad"]
    rows = [
        ["F1", "05/03/2024 10:30", "N1", "HOM", "M", "30"],  # row 2
        ["F2", "05/03/2024 10:40", "N1", "HOM", "M", "30"],  # row 3: 10 min after 2 -> pair
        ["F3", "05/03/2024 10:40", "S1", "HOM", "M", "30"],  # row 4: other area
        ["F4", "05/03/2024 10:45", "N1", "HOM", "F", "30"],  # row 5: other sex
        ["F5", "05/03/2024 10:45", "N1", "HOM", "M", "31"],  # row 6: other age
        ["F6", "05/03/2024 10:45", "N1", "ROB", "M", "30"],  # row 7: other code
        ["F7", "05/03/2024 11:11", "N1", "HOM", "M", "30"],  # row 8: 41 / 31 min after 2 / 3
        ["F8", "06/03/2024", "N1", "HOM", "", ""],  # row 9: day precision, sex/age unknown
        ["F9", "06/03/2024", "N1", "HOM", "", ""],  # row 10: same day, same unknowns -> pair
        ["FA", "07/03/2024", "N1", "HOM", "", ""],  # row 11: next day (1440 min)
    ]
    res = ingest_file(
        engine,
        write_csv(tmp / "f.csv", rows, header=header),
        "test_forensic",
        prof,
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert res.outcome == "loaded"
    # flagged for review, not dropped
    assert (res.rows_read, res.rows_accepted, res.rows_duplicate) == (10, 10, 0)
    assert _pairs(res) == {(2, 3), (9, 10)}
    assert res.near_duplicates == 2
    near = {(p["row_a"], p["row_b"]): p for p in res.report["near_duplicates"]}
    assert near[(2, 3)]["minutes"] == 10.0 and near[(2, 3)]["metres"] is None
    assert near[(9, 10)]["minutes"] == 0.0
    with engine.connect() as c:
        n = c.execute(
            text("SELECT count(*) FROM incident WHERE batch_id = :b"), {"b": res.batch_id}
        ).scalar_one()
    assert n == 10


def test_custody_near_duplicates_by_person_key(country, engine):
    tmp, _profile = country
    prof = tmp / "custody.yaml"
    prof.write_text(CUSTODY)
    header = ["id", "cedula", "ingreso", "area", "sexo", "edad", "delito"]
    rows = [
        ["K1", "1-111", "2024-03-05 08:00", "N1", "M", "28", "HOM"],  # row 2
        ["K2", "1-111", "2024-03-05 08:05", "N1", "M", "28", "HOM"],  # row 3: pair with 2
        ["K3", "2-222", "2024-03-05 08:05", "N1", "M", "28", "HOM"],  # row 4: other person
        ["K4", "1-111", "2024-03-05 09:00", "N1", "M", "28", "HOM"],  # row 5: 55 min later
        ["K5", "1-111", "2024-03-05 08:10", "N1", "M", "28", "ROB"],  # row 6: other code
    ]
    res = ingest_file(
        engine,
        write_csv(tmp / "k.csv", rows, header=header),
        "test_prison",
        prof,
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert res.outcome == "loaded"
    assert (res.rows_read, res.rows_accepted) == (5, 5)
    assert _pairs(res) == {(2, 3)}


def test_police_pairs_with_an_unlocated_record_use_area_and_person(country, engine):
    tmp, profile = country
    rows = [
        ["A1", "05/03/2024 10:30", "N1", "-69.5", "10.5", "HOM", "M", "30", ""],  # row 2
        ["A2", "05/03/2024 10:40", "N1", "", "", "HOM", "M", "30", ""],  # row 3: no point
        ["A3", "05/03/2024 10:50", "N1", "", "", "HOM", "M", "30", ""],  # row 4: no point
        ["A4", "05/03/2024 10:35", "N1", "-69.6", "10.5", "HOM", "M", "30", ""],  # row 5: 11 km
        ["A5", "05/03/2024 10:45", "S1", "", "", "HOM", "M", "30", ""],  # row 6: other area
    ]
    res = ingest_file(
        engine,
        write_csv(tmp / "p.csv", rows),
        "test_police",
        profile(),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert res.rows_accepted == 5
    # located pairs need the distance (2-5 is 11 km apart: no); a pair with an unlocated
    # record needs the same area and person within 30 minutes
    assert _pairs(res) == {(2, 3), (2, 4), (3, 4), (3, 5), (4, 5)}
    assert res.near_duplicates == 5
    assert all(p["metres"] is None for p in res.report["near_duplicates"])
