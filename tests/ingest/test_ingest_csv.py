"""End to end through the store: accounting, quarantine reasons, duplicates, revisions."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from tests.ingest.conftest import GOOD, write_csv

from talaia.errors import DataError
from talaia.ingest.service import ingest_file, resubmit

NOW = dt.datetime(2024, 6, 1)


def _q(engine, batch):
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT row_number, raw, reasons FROM quarantine_row WHERE "
                "batch_id = :b ORDER BY row_number"
            ),
            {"b": batch},
        ).all()
    return {r[0]: (json.loads(r[1]), json.loads(r[2])) for r in rows}


def _count(engine, sql):
    with engine.connect() as c:
        return c.execute(text(sql)).scalar_one()


def test_good_file_loads_and_pseudonymizes(country, engine):
    tmp, profile = country
    f = write_csv(tmp / "p.csv", GOOD)
    r = ingest_file(engine, f, "test_police", profile(), "ana", period="2024-03", now=NOW)
    assert (r.outcome, r.rows_read, r.rows_accepted, r.rows_quarantined) == ("loaded", 3, 3, 0)
    with engine.connect() as c:
        inc = c.execute(
            text(
                "SELECT external_id, area_code, occurred_precision FROM incident "
                "ORDER BY external_id"
            )
        ).all()
        vic = c.execute(
            text("SELECT sex, age, person_key FROM victim ORDER BY age IS NULL, age")
        ).all()
        iccs = c.execute(text("SELECT national_code, iccs_code FROM offence ORDER BY 1")).all()
    assert inc == [("A1", "N1", "minute"), ("A2", "S1", "day"), ("A3", "N1", "minute")]
    import hashlib
    import hmac

    assert vic[0][:2] == ("male", 30)
    assert vic[0][2] == hmac.new(b"test-secret", b"111", hashlib.sha256).hexdigest()
    assert all("111" not in str(v) for v in vic)
    assert sorted(iccs) == [("HOM", "0101"), ("ROB", "0401"), ("ROB", "0401")]


def test_value_mapped_identifier_still_pseudonymized(country, engine):
    """A profile that value-maps a personal identifier (placeholders to no value) gets the
    mapped value hashed, never stored in clear."""
    import hashlib
    import hmac

    tmp, profile = country
    p = profile()
    p.write_text(
        p.read_text().replace(
            "victim.person_key: {column: cedula}",
            'victim.person_key: {column: cedula, values: {"111": "X-111", "SIN DATO": null}}',
        )
    )
    assert "X-111" in p.read_text()
    rows = [*GOOD]
    rows[1] = [*rows[1][:-1], "SIN DATO"]
    f = write_csv(tmp / "p.csv", rows)
    r = ingest_file(engine, f, "test_police", p, "ana", period="2024-03", now=NOW)
    assert (r.rows_accepted, r.rows_quarantined) == (3, 0)
    with engine.connect() as c:
        keys = [k for (k,) in c.execute(text("SELECT person_key FROM victim")).all()]
    want = hmac.new(b"test-secret", b"X-111", hashlib.sha256).hexdigest()
    assert want in keys
    assert "X-111" not in keys and "SIN DATO" not in keys  # never in clear
    assert all(k is None or len(k) == 64 for k in keys)


def test_bad_values_quarantined_with_every_reason(country, engine):
    tmp, profile = country
    rows = [
        *GOOD,
        ["B1", "31/02/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", "333"],  # bad date
        ["B2", "05/03/2024", "N1", "-69.5", "10.5", "HOM", "M", "-3", "444"],  # age
        ["B3", "05/03/2024", "N1", "-69.5", "10.5", "HOM", "X", "250", "555"],  # sex + age
        ["B4", "05/03/2024", "N1", "10.5", "-69.5", "HOM", "M", "30", ""],  # swapped
        ["B5", "05/03/2024", "ZZ", "-69.5", "10.5", "XXX", "M", "30", ""],  # area + code
        ["B6", "05/03/2025", "N1", "-69.5", "10.5", "HOM", "M", "30", ""],  # future
        ["B7", "05/04/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", ""],  # outside period
        ["B8", "05/03/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", "999", "extra"],  # fields
    ]
    f = write_csv(tmp / "p.csv", rows)
    r = ingest_file(engine, f, "test_police", profile(), "ana", period="2024-03", now=NOW)
    assert r.rows_read == 11 and r.rows_accepted == 3 and r.rows_quarantined == 8
    assert r.rows_read == r.rows_accepted + r.rows_quarantined + r.rows_duplicate
    q = _q(engine, r.batch_id)
    rules = {row: sorted(x["rule"] for x in reasons) for row, (_, reasons) in q.items()}
    assert rules == {
        5: ["invalid_date", "required"][:1],
        6: ["age_out_of_range"],
        7: ["age_out_of_range", "value_not_in_map"],
        8: ["coordinates_swapped"],
        9: ["area_unknown", "unknown_code"],
        10: ["date_in_future", "date_outside_period"],
        11: ["date_outside_period"],
        12: ["malformed_row"],
    }
    assert q[7][1][1]["column"] in ("sexo", "edad")
    # personal identifiers never in the quarantine's raw rows
    assert all("cedula" not in raw for raw, _ in q.values())
    assert "333" not in json.dumps([raw for raw, _ in q.values()])


def test_same_file_twice_changes_nothing(country, engine):
    tmp, profile = country
    f = write_csv(tmp / "p.csv", GOOD)
    r1 = ingest_file(engine, f, "test_police", profile(), "ana", period="2024-03", now=NOW)
    r2 = ingest_file(engine, f, "test_police", profile(), "ana", period="2024-03", now=NOW)
    assert r2.outcome == "unchanged" and r2.batch_id == r1.batch_id
    assert _count(engine, "SELECT count(*) FROM incident") == 3
    assert _count(engine, "SELECT count(*) FROM batch") == 1


def test_corrected_delivery_supersedes_and_is_audited(country, engine):
    tmp, profile = country
    r1 = ingest_file(
        engine,
        write_csv(tmp / "a.csv", GOOD[:2]),
        "test_police",
        profile(),
        "ana",
        period="2024-03",
        now=NOW,
    )
    r2 = ingest_file(
        engine,
        write_csv(tmp / "b.csv", GOOD),
        "test_police",
        profile(),
        "luis",
        period="2024-03",
        now=NOW,
    )
    assert r2.superseded_ids == (r1.batch_id,)
    cur = (
        "SELECT count(*) FROM incident i JOIN batch b ON b.id = i.batch_id "
        "WHERE b.status NOT IN ('superseded', 'rejected')"
    )
    assert _count(engine, cur) == 3
    with engine.connect() as c:
        ev = c.execute(
            text("SELECT username, action, object_id FROM audit_event ORDER BY id")
        ).all()
    assert ("luis", "batch.superseded", str(r1.batch_id)) in ev


def test_duplicates_within_and_across_batches(country, engine):
    tmp, profile = country
    rows = [*GOOD, GOOD[0]]
    r = ingest_file(
        engine,
        write_csv(tmp / "m3.csv", rows),
        "test_police",
        profile(),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert (r.rows_accepted, r.rows_duplicate) == (3, 1)
    assert r.report["duplicates"][0]["row_number"] == 5
    assert r.report["duplicates"][0]["first_row"] == 2
    # April file repeats A2 (delivered again): duplicate of the March batch
    apr = [
        ["A2", "06/04/2024", "S1", "-69.5", "9.5", "ROB", "F", "41", "222"],
        ["C1", "07/04/2024", "S1", "-69.5", "9.5", "ROB", "F", "41", "222"],
    ]
    r2 = ingest_file(
        engine,
        write_csv(tmp / "m4.csv", apr),
        "test_police",
        profile(),
        "ana",
        period="2024-04",
        now=NOW,
    )
    assert (r2.rows_accepted, r2.rows_duplicate) == (1, 1)
    assert r2.report["duplicates"][0]["earlier_batch"] == r.batch_id


def test_near_duplicates_flagged_not_dropped(country, engine):
    tmp, profile = country
    rows = [
        ["A1", "05/03/2024 10:30", "N1", "-69.5", "10.5", "HOM", "M", "30", ""],
        ["A9", "05/03/2024 10:50", "N1", "-69.5004", "10.5", "HOM", "M", "30", ""],
        ["A8", "05/03/2024 10:50", "N1", "-69.6", "10.5", "HOM", "M", "30", ""],
    ]
    r = ingest_file(
        engine,
        write_csv(tmp / "p.csv", rows),
        "test_police",
        profile(),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert r.rows_accepted == 3 and r.near_duplicates == 1  # ~44 m, 20 min apart
    assert (r.report["near_duplicates"][0]["row_a"], r.report["near_duplicates"][0]["row_b"]) == (
        2,
        3,
    )


def test_quarantine_fix_resubmits_as_revision(country, engine):
    tmp, profile = country
    rows = [*GOOD, ["B1", "31/02/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", "333"]]
    r = ingest_file(
        engine,
        write_csv(tmp / "p.csv", rows),
        "test_police",
        profile(),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert r.rows_quarantined == 1
    r2 = resubmit(engine, r.batch_id, {5: {"fecha": "29/03/2024"}}, "ana", profile())
    assert (r2.outcome, r2.rows_accepted, r2.rows_quarantined) == ("loaded", 4, 0), r2.report[
        "reasons"
    ]
    assert r2.superseded_ids == (r.batch_id,)
    with engine.connect() as c:
        st = c.execute(
            text("SELECT status FROM quarantine_row WHERE batch_id = :b"), {"b": r.batch_id}
        ).scalar_one()
    assert st == "fixed"


def test_latin1_semicolon_decimal_comma(country, engine):
    tmp, profile = country
    rows = [
        ["A1", "05/03/2024", "Norte Alto", "-69,5", "10,5", "HOM", "Masculino", "30", ""],
        ["A2", "05/03/2024", "NORTE ÁLTO", "-69,25", "10,5", "HOM", "2", "30", ""],
    ]
    f = write_csv(tmp / "p.csv", rows, delimiter=";", encoding="latin-1")
    r = ingest_file(
        engine,
        f,
        "test_police",
        profile(";", ",", area_method="name"),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert (r.rows_accepted, r.report["encoding"]) == (2, "cp1252")
    with engine.connect() as c:
        got = c.execute(text("SELECT area_code, lon FROM incident ORDER BY lon")).all()
    assert got == [("N1", -69.5), ("N1", -69.25)]


def test_other_crs_reprojected_and_point_in_polygon(country, engine):
    from pyproj import Transformer

    tmp, profile = country
    x, y = Transformer.from_crs(4326, 3857, always_xy=True).transform(-69.5, 9.5)
    rows = [["A1", "05/03/2024", "", f"{x:.3f}", f"{y:.3f}", "HOM", "M", "30", ""]]
    r = ingest_file(
        engine,
        write_csv(tmp / "p.csv", rows),
        "test_police",
        profile(area_method="point", crs="EPSG:3857"),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert r.rows_accepted == 1
    with engine.connect() as c:
        area, lon, lat = c.execute(text("SELECT area_code, lon, lat FROM incident")).one()
    assert area == "S1" and abs(lon + 69.5) < 1e-6 and abs(lat - 9.5) < 1e-6


@pytest.mark.parametrize(
    "content, expect",
    [
        (b"", "empty"),
        (b"id,fecha,area,lon,lat,delito,sexo,edad,cedula\n", "no data rows"),
        (b"\x00\x01\x02garbage\xff\xfe" * 50, "binary"),
        (b"id,fecha\nA1,05/03/2024\n", "missing required column"),
        (
            b"id;fecha;area;lon;lat;delito;sexo;edad;cedula\nA1;05/03/2024;N1;1;1;HOM;M;3;1\n",
            "missing required column",
        ),
        (
            "id,fecha,area,lon,lat,delito,sexo,edad,cedula\nA1,05/03/2024,Ñandú,1,1,HOM,M,3,1\n".encode()
            + b"A2,05/03/2024,\xd1and\xfa,1,1,HOM,M,3,1\n",
            "mixes encodings",
        ),
    ],
)
def test_bad_files_clear_error_nothing_written(country, engine, content, expect):
    tmp, profile = country
    f = tmp / "bad.csv"
    f.write_bytes(content)
    with pytest.raises(DataError, match=expect) as ei:
        ingest_file(engine, f, "test_police", profile(), "ana", period="2024-03", now=NOW)
    assert "bad.csv" in str(ei.value)
    assert _count(engine, "SELECT count(*) FROM batch") == 0
    assert _count(engine, "SELECT count(*) FROM incident") == 0


def test_extra_columns_ignored_and_listed(country, engine):
    tmp, profile = country
    header = ["id", "fecha", "area", "lon", "lat", "delito", "sexo", "edad", "cedula", "notas"]
    f = write_csv(tmp / "p.csv", [[*r, "x"] for r in GOOD], header=header)
    r = ingest_file(engine, f, "test_police", profile(), "ana", period="2024-03", now=NOW)
    assert r.rows_accepted == 3 and r.report["extra_columns"] == ["notas"]


def test_mostly_bad_batch_rejected_nothing_written(country, engine):
    tmp, profile = country
    rows = [["B1", "31/02/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", ""]] * 3
    r = ingest_file(
        engine,
        write_csv(tmp / "p.csv", rows),
        "test_police",
        profile(),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert r.outcome == "rejected" and r.batch_id is None and r.rows_quarantined == 3
    assert _count(engine, "SELECT count(*) FROM batch") == 0


def test_report_html_self_contained_en_es(country, engine):
    from talaia.ingest.report import render_html

    tmp, profile = country
    rows = [*GOOD, ["B2", "05/03/2024", "N1", "-69.5", "10.5", "HOM", "M", "-3", ""]]
    r = ingest_file(
        engine,
        write_csv(tmp / "p.csv", rows),
        "test_police",
        profile(),
        "ana",
        period="2024-03",
        now=NOW,
    )
    assert r.report["reasons"][0]["rule"] == "age_out_of_range"
    assert r.report["reasons"][0]["count"] == 1
    en, es = render_html(r.report, "en"), render_html(r.report, "es")
    assert "age outside 0..120" in en and "edad fuera de 0..120" in es
    assert "<script" not in en and "http" not in en.replace('lang="en"', "")
    with engine.connect() as c:
        stored = json.loads(c.execute(text("SELECT report FROM batch")).scalar_one())
    assert stored["counts"] == {
        "read": 4,
        "accepted": 3,
        "quarantined": 1,
        "duplicate": 0,
        "near_duplicate_pairs": 0,
    }


def test_profile_validation_names_file_and_field(tmp_path):
    from talaia.errors import UserInputError
    from talaia.ingest.profile import load_profile

    p = tmp_path / "bad.yaml"
    p.write_text(
        "source: x\nprofile_version: 1\nformat: csv\nfields:\n"
        "  victim.sex: {column: s, values: {M: hombre}}\narea: {method: code}\n"
    )
    with pytest.raises(UserInputError, match=r"bad\.yaml.*victim\.sex.*not tokens") as ei:
        load_profile(p)
    assert "area" in str(ei.value)


def test_load_revise_and_idempotence_on_both_backends(country, store_engine):
    """The same flow on SQLite and PostgreSQL (store_engine is parametrized over both)."""
    tmp, profile = country
    a = write_csv(tmp / "a.csv", GOOD[:2])
    b = write_csv(tmp / "b.csv", GOOD)
    r1 = ingest_file(store_engine, a, "test_police", profile(), "ana", period="2024-03", now=NOW)
    r2 = ingest_file(store_engine, b, "test_police", profile(), "ana", period="2024-03", now=NOW)
    r3 = ingest_file(store_engine, b, "test_police", profile(), "ana", period="2024-03", now=NOW)
    assert (r1.outcome, r2.outcome, r3.outcome) == ("loaded", "loaded", "unchanged")
    assert r2.superseded_ids == (r1.batch_id,)
    cur = (
        "SELECT count(*) FROM victim v JOIN batch b ON b.id = v.batch_id "
        "WHERE b.status NOT IN ('superseded', 'rejected')"
    )
    assert _count(store_engine, cur) == 3
    assert _count(store_engine, "SELECT count(*) FROM incident") == 5  # the revision is kept
