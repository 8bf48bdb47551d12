"""Staging and Arrow reads on SQLite (talaia.store.staging): values and types exactly as stored,
the scratch files gone afterwards, the store file never opened by the second SQLite library."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pyarrow as pa
import pytest

from talaia.store.staging import Stage, read_sqlite


@pytest.fixture
def conn(tmp_path):
    c = sqlite3.connect(tmp_path / "store.sqlite", isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, batch_id INT, a TEXT, b INT, c REAL, d)")
    yield c
    c.close()


def test_read_sqlite_types_every_value_not_the_first_rows(conn, tmp_path):
    rows = [(i, None, None, None, None) for i in range(1, 3001)]
    rows += [(3001, "x", 1, 2.5, None), (3002, "y", 2, 3, None)]
    conn.executemany("INSERT INTO t (id, a, b, c, d) VALUES (?, ?, ?, ?, ?)", rows)
    got = read_sqlite(conn, "SELECT id, a, b, c, d FROM t ORDER BY id")
    assert got.schema.types == [pa.int64(), pa.string(), pa.int64(), pa.float64(), pa.null()]
    assert got.slice(3000).to_pylist() == [
        {"id": 3001, "a": "x", "b": 1, "c": 2.5, "d": None},
        {"id": 3002, "a": "y", "b": 2, "c": 3.0, "d": None},
    ]
    assert got.num_rows == 3002
    assert not list(tmp_path.glob(".talaia-read-*"))  # the scratch folder is gone


def test_read_sqlite_refuses_inside_a_transaction(conn):
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(RuntimeError, match="transaction"):
        read_sqlite(conn, "SELECT * FROM t")
    conn.execute("ROLLBACK")


def test_staged_rows_are_copied_with_the_id_bases(conn, tmp_path):
    stage = Stage(tmp_path)
    table = pa.table(
        {
            "id": pa.array([0, 1], pa.int64()),
            "a": ["p", None],
            "b": pa.array([True, False]),
            "c": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("s")),
            "d": pa.array([None, None], pa.string()),  # all null: left out, stays NULL
        }
    )
    staged = stage.add("t", table)
    assert staged.columns == ("id", "a", "b", "c") and staged.num_rows == 2
    conn.execute("BEGIN IMMEDIATE")
    stage.attach(conn.cursor())
    ins = staged.insert(7, {"t": 100})
    conn.execute(ins.sql)
    conn.execute("COMMIT")
    stage.detach(conn.cursor())
    stage.remove()
    got = conn.execute("SELECT * FROM t ORDER BY id").fetchall()
    assert got == [
        (100, 7, "p", 1, "2024-01-02 03:04:05.000000", None),
        (101, 7, None, 0, None, None),
    ]
    assert not list(tmp_path.glob(".talaia-stage-*"))


@pytest.mark.parametrize(
    ("expected", "files"),
    [
        (None, [1, 1, 1, 1, 1, 1, 1, 13]),
        (20, [3, 3, 3, 3, 3, 3, 2]),
        (5, [1, 1, 1, 1, 1, 1, 1, 13]),
    ],
)
def test_parts_are_grouped_within_the_attach_limit(conn, tmp_path, expected, files):
    from talaia.store.staging import MAX_STAGES, StagedCopy

    def insert(target, ins):
        conn.execute(ins.sql)
        return ins.num_rows

    conn.execute("BEGIN IMMEDIATE")
    cur = conn.cursor()
    copy = StagedCopy(tmp_path, insert, cur, 3, {"t": 10}, expected_parts=expected)
    per_file = []
    for k in range(20):  # 20 parts of 2 rows, ids relative to the batch
        n = len(copy.stages)
        part = pa.table({"id": pa.array([2 * k, 2 * k + 1], pa.int64()), "a": [f"r{k}", None]})
        copy.add([("t", part)])
        if len(copy.stages) > n:
            per_file.append(0)
        per_file[-1] += 1
    copy.flush()
    conn.execute("COMMIT")
    copy.detach()
    copy.remove()
    # never more staging files attached than SQLite allows, every part copied once
    assert len(copy.stages) <= MAX_STAGES and per_file == files
    assert copy.rows == {"t": 40}
    got = conn.execute("SELECT min(id), max(id), count(*), count(DISTINCT id) FROM t").fetchone()
    assert got == (10, 49, 40, 40)
    assert conn.execute("SELECT a FROM t WHERE id = 10 + 2 * 17").fetchone() == ("r17",)
    assert not list(tmp_path.glob(".talaia-stage-*"))
    assert [r[1] for r in conn.execute("PRAGMA database_list")] == ["main"]
