"""Streaming ingestion: accepted rows spilled chunk by chunk and written part by part must give
exactly what the in-memory path gives (hand-computed truth below)."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import text
from tests.ingest.conftest import GOOD, write_csv

from talaia.ingest import service
from talaia.ingest.pipeline import prepare
from talaia.ingest.service import ingest_file

NOW = dt.datetime(2024, 6, 1)
ROWS = [
    *GOOD,  # rows 2-4: A1, A2, A3
    GOOD[0],  # row 5: duplicate of row 2
    ["B1", "31/02/2024", "N1", "-69.5", "10.5", "HOM", "M", "30", "333"],  # row 6: bad date
    ["A9", "05/03/2024 10:50", "N1", "-69.5004", "10.5", "HOM", "M", "30", ""],  # row 7: ~44 m
]


def test_one_row_chunks_give_the_same_batch(country, engine, monkeypatch):
    tmp, profile = country
    monkeypatch.setattr(service, "prepare", functools.partial(prepare, chunk_rows=1))
    r = ingest_file(
        engine, write_csv(tmp / "s.csv", ROWS), "test_police", profile(), "ana", now=NOW
    )
    assert (r.outcome, r.rows_read, r.rows_accepted, r.rows_quarantined, r.rows_duplicate) == (
        "loaded",
        6,
        4,
        1,
        1,
    )
    # the period is inferred across chunks; the near duplicate pairs rows of different chunks
    assert (r.period_start, r.period_end) == (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    assert r.near_duplicates == 1
    assert (r.report["near_duplicates"][0]["row_a"], r.report["near_duplicates"][0]["row_b"]) == (
        2,
        7,
    )
    assert r.report["duplicates"][0]["row_number"] == 5
    assert r.report["tables"]["incident"] == 4 and r.report["tables"]["victim"] == 4
    with engine.connect() as c:
        got = c.execute(
            text(
                "SELECT i.external_id, o.national_code, o.iccs_code, v.sex, v.age "
                "FROM incident i JOIN offence o ON o.incident_id = i.id "
                "JOIN victim v ON v.incident_id = i.id AND v.offence_id = o.id "
                "ORDER BY i.external_id"
            )
        ).all()
        batch = c.execute(
            text("SELECT rows_read, rows_accepted, rows_quarantined, rows_duplicate FROM batch")
        ).one()
        q = c.execute(text("SELECT row_number FROM quarantine_row")).scalars().all()
    assert [tuple(g) for g in got] == [
        ("A1", "HOM", "0101", "male", 30),
        ("A2", "ROB", "0401", "female", 41),
        ("A3", "ROB", "0401", "male", None),
        ("A9", "HOM", "0101", "male", 30),
    ]
    assert tuple(batch) == (6, 4, 1, 1) and q == [6]
    # the spill folder is gone
    assert not list((tmp / "data").glob("talaia-ingest-*"))
