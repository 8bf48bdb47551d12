"""The warehouse on hand-made fixtures: period keys, area and ICCS paths, coverage months, and
incremental refresh equal to a full rebuild (stores on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest
from sqlalchemy import text
from tests.conftest import HANDMADE, handmade_table

from talaia.records.vocab import age_group
from talaia.store.batches import BatchPayload, write_batch
from talaia.store.canonical import (
    folder_payload,
    load_canonical_tree,
    load_reference,
    month_folders,
)
from talaia.store.status import source_months
from talaia.warehouse import TABLES, rebuild, refresh, table
from talaia.warehouse import build as build_mod

D = dt.date


def rows(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def built(store_engine, handmade_out, tmp_path, monkeypatch):
    # store rows read two ids at a time: every table spans several slices (and a slice may
    # type a column null that the next slice types)
    monkeypatch.setattr(build_mod, "SLICE_IDS", 2)
    load_reference(store_engine, handmade_out)
    load_canonical_tree(store_engine, handmade_out)
    path = tmp_path / "w.duckdb"
    rebuild(store_engine, path)
    return store_engine, path


def test_incident_period_keys_area_and_iccs_paths(built):
    _, path = built
    got = rows(
        path,
        """
        SELECT national_code, occurred_date, year, quarter, month, period_month, iso_year,
               iso_week, dow, hour, area_l1, area_l2, area_l3, iccs_code, iccs_l1, iccs_l2,
               iccs_l3, iccs_l4, source_kind, agency_code
        FROM fact_incident ORDER BY occurred_from""",
    )
    assert got == [
        (
            "VIF",
            D(2021, 1, 1),
            2021,
            1,
            1,
            D(2021, 1, 1),
            2020,
            53,
            5,
            None,
            "02",
            "0201",
            "020101",
            "02",
            "02",
            None,
            None,
            None,
            "police",
            "PN",
        ),
        (
            "HOM-01",
            D(2024, 1, 1),
            2024,
            1,
            1,
            D(2024, 1, 1),
            2024,
            1,
            1,
            0,
            "01",
            "0101",
            "010101",
            "0101",
            "01",
            "0101",
            None,
            None,
            "police",
            "PN",
        ),
        (
            "XX-99",
            D(2024, 1, 20),
            2024,
            1,
            1,
            D(2024, 1, 1),
            2024,
            3,
            6,
            None,
            "01",
            "0101",
            "010102",
            None,
            None,
            None,
            None,
            None,
            "police",
            "PN",
        ),
        (
            "ROB",
            D(2024, 3, 31),
            2024,
            1,
            3,
            D(2024, 3, 1),
            2024,
            13,
            7,
            23,
            "01",
            "0101",
            None,
            "0501",
            "05",
            "0501",
            None,
            None,
            "police",
            "PN",
        ),
    ]
    ranged = rows(
        path,
        "SELECT occurred_from, occurred_to, occurred_precision, lon, lat, "
        "cyber_related FROM fact_incident WHERE national_code = 'XX-99'",
    )
    assert ranged == [
        (dt.datetime(2024, 1, 20, 22), dt.datetime(2024, 1, 21, 6), "range", -70.2, 10.2, False)
    ]


def test_offence_victim_perpetrator_custody_facts(built):
    _, path = built
    assert rows(
        path,
        "SELECT iccs_code, iccs_l1, iccs_l2, iccs_l3, iccs_l4, mapping_type "
        "FROM fact_offence WHERE national_code = 'LES-01'",
    ) == [("020111", "02", "0201", "02011", "020111", "narrower")]
    vic = rows(
        path,
        "SELECT age, age_group, iccs_code, iccs_l4, outcome, sex, relationship "
        "FROM fact_victim ORDER BY victim_id",
    )
    assert vic == [
        (37, "35-39", "020111", "020111", "serious_injury", "male", "stranger"),  # its offence
        (85, "80+", "0101", None, "killed", "female", None),  # the incident's first offence
        (None, None, "02", None, "minor_injury", "female", "current_partner"),
    ]
    assert [v[1] for v in vic[:2]] == [age_group(37), age_group(85)]
    assert rows(
        path,
        "SELECT age_group, iccs_code, person_key, recidivist FROM fact_perpetrator "
        "ORDER BY perpetrator_id",
    ) == [("00-04", "0101", "ab" * 32, True), ("40-44", "02", "cd" * 32, None)]
    cus = rows(
        path,
        """SELECT occurred_date, iso_week, dow, hour, area_l1, area_l3, iccs_code,
        iccs_l1, iccs_l2, age_group, custody_status, released_at, incident_id
        FROM fact_custody ORDER BY occurred_from""",
    )
    assert cus == [
        (
            D(2024, 1, 5),
            1,
            5,
            None,
            "01",
            "010101",
            "0101",
            "01",
            "0101",
            "20-24",
            "pretrial",
            None,
            None,
        ),
        (
            D(2024, 1, 31),
            5,
            3,
            None,
            "02",
            "020101",
            None,
            None,
            None,
            "80+",
            "sentenced",
            dt.datetime(2024, 2, 10),
            None,
        ),
        (
            D(2024, 2, 29),
            9,
            4,
            None,
            "01",
            "010102",
            "050111",
            None,
            None,
            None,
            None,
            None,
            None,
        ),  # 050111 is not an ICCS v1.0 code: kept, no path
    ]
    assert rows(
        path,
        "SELECT area_code, area_l1, area_l2, area_l3, sum(population) "
        "FROM population GROUP BY ALL ORDER BY 1",
    ) == [
        ("010101", "01", "0101", "010101", 1000 + 1010 + 1020 + 1030),
        ("010102", "01", "0101", "010102", 1040 + 1050 + 1060 + 1070),
        ("020101", "02", "0201", "020101", 1080 + 1090 + 1100 + 1110),
    ]


def test_source_month_matches_store_status(built):
    engine, path = built
    got = rows(
        path,
        "SELECT source_code, period_month, expected, delivered, batch_id, rows "
        "FROM source_month ORDER BY 1, 2",
    )
    want = [
        (m.source_code, m.period_month, m.expected, m.delivered, m.batch_id, m.rows)
        for m in source_months(engine)
    ]
    assert got == want
    assert ("policia_nacional", D(2024, 2, 1), True, False, None, None) in got


def sorted_table(path, name) -> pa.Table:
    t = table(path, name)
    return t.sort_by([(c, "ascending") for c in t.column_names])


def test_incremental_refresh_equals_rebuild(store_engine, handmade_out, tmp_path):
    load_reference(store_engine, handmade_out)
    inc = tmp_path / "incremental.duckdb"
    for source, month, folder in month_folders(handmade_out):
        res = write_batch(store_engine, folder_payload(source, month, folder))
        assert refresh(store_engine, inc).added == (res.batch_id,)
    # a superseding delivery for policia_nacional 2024-01 with one incident fewer
    jan = HANDMADE[("policia_nacional", "2024-01")]
    new = write_batch(
        store_engine,
        BatchPayload(
            source_code="policia_nacional",
            period_start=D(2024, 1, 1),
            period_end=D(2024, 1, 31),
            file_hash="v2",
            tables={
                "incident": handmade_table("incident", jan["incident"][1:]),
                "offence": handmade_table("offence", jan["offence"][2:]),
                "victim": handmade_table("victim", jan["victim"][2:]),
                "perpetrator": handmade_table("perpetrator", jan["perpetrator"][1:]),
            },
        ),
    )
    step = refresh(store_engine, inc)
    assert (step.added, step.removed) == ((new.batch_id,), new.superseded_ids)
    # a batch rejected afterwards disappears; a batch asked for explicitly is reloaded
    with store_engine.begin() as conn:
        conn.execute(text("UPDATE batch SET status = 'rejected' WHERE id = 2"))
    step = refresh(store_engine, inc, batch_ids=[1])
    assert (step.added, step.removed) == ((1,), (1, 2))
    full = tmp_path / "full.duckdb"
    rebuild(store_engine, full)
    for name in TABLES:
        a, b = sorted_table(inc, name), sorted_table(full, name)
        assert a.schema == b.schema, name
        assert a.equals(b), name
    assert rows(inc, "SELECT count(*), count(DISTINCT batch_id) FROM fact_incident") == [(3, 2)]
    assert rows(inc, "SELECT DISTINCT batch_id FROM fact_custody") == [(1,)]
    # nothing to do the second time
    again = refresh(store_engine, inc)
    assert (again.added, again.removed) == ((), ())


def test_area_geometry_copied_by_refresh_and_rebuild(store_engine, handmade_out, tmp_path):
    import json

    load_reference(store_engine, handmade_out)
    with store_engine.connect() as conn:
        codes = [r[0] for r in conn.execute(text("SELECT code FROM area ORDER BY code"))]
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    given = {codes[0]: json.dumps(square), codes[1]: json.dumps({**square, "x": 1})}
    with store_engine.begin() as conn:
        for code, geom in given.items():
            conn.execute(
                text("UPDATE area SET geometry = :g WHERE code = :c"), {"g": geom, "c": code}
            )
        levels = dict(conn.execute(text("SELECT code, level FROM area")).all())
    # an older warehouse file without the table gets it on refresh
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(
        "CREATE TABLE dim_area (area_code VARCHAR, name VARCHAR, level INTEGER, "
        "parent_code VARCHAR, area_l1 VARCHAR, area_l2 VARCHAR, area_l3 VARCHAR)"
    )
    con.close()
    refresh(store_engine, old)
    full = tmp_path / "full.duckdb"
    rebuild(store_engine, full)
    want = sorted((c, levels[c], g) for c, g in given.items())
    for path in (old, full):
        got = rows(path, "SELECT area_code, level, geometry FROM dim_area_geometry ORDER BY 1")
        assert got == want
    # a geometry removed from the store disappears on the next refresh
    with store_engine.begin() as conn:
        conn.execute(text("UPDATE area SET geometry = NULL WHERE code = :c"), {"c": codes[1]})
    refresh(store_engine, old)
    assert rows(old, "SELECT area_code FROM dim_area_geometry") == [(codes[0],)]
