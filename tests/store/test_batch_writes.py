"""write_batch's bulk path: chunked inserts, foreign keys, audit events in the transaction,
rejected batches. Runs on SQLite and PostgreSQL (the ``loaded`` fixture)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from sqlalchemy import select, text
from tests.store.test_store import counts, pn_january

from talaia.errors import DataError, UserInputError
from talaia.store import batches as batches_mod
from talaia.store.batches import BatchPayload, write_batch
from talaia.store.canonical import load_canonical_tree, load_reference
from talaia.store.database import bulk_connect, is_sqlite
from talaia.store.models import Batch


@pytest.fixture
def loaded(store_engine, handmade_out):
    load_reference(store_engine, handmade_out)
    load_canonical_tree(store_engine, handmade_out)
    return store_engine


def _events(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            (r[0], r[1], r[2], json.loads(r[3]))
            for r in conn.execute(
                text("SELECT username, action, object_id, detail FROM audit_event ORDER BY id")
            )
        ]


def test_records_written_in_small_chunks_are_the_same(store_engine, handmade_out, monkeypatch):
    # chunks of 2 rows: every table spans several executemany chunks (SQLite) -- the rows and
    # the references mapped to ids must be those of the hand-made tree (4 incidents, 5 offences,
    # 3 victims, 2 perpetrators, 3 custody rows; victim V-1 aged 34 is PN-1's, offence O-1)
    monkeypatch.setattr(batches_mod, "SQLITE_CHUNK_ROWS", 2)
    load_reference(store_engine, handmade_out)
    load_canonical_tree(store_engine, handmade_out)
    n = counts(store_engine)
    assert (n["incident"], n["offence"], n["victim"], n["perpetrator"], n["custody"]) == (
        4,
        5,
        3,
        2,
        3,
    )
    with store_engine.connect() as conn:
        off = conn.execute(
            text(
                "SELECT o.external_id, i.external_id FROM offence o JOIN incident i "
                "ON i.id = o.incident_id ORDER BY o.external_id"
            )
        ).all()
    assert [tuple(r) for r in off][:3] == [("O-1", "PN-1"), ("O-10", "PN-10"), ("O-2", "PN-1")]


def test_sqlite_foreign_keys_back_on_and_intact(loaded):
    if not is_sqlite(loaded):
        pytest.skip("SQLite connection setting")
    conn = bulk_connect(loaded)
    try:
        write_batch(loaded, pn_january(), connection=conn)
        cur = conn.cursor()
        cur.execute("PRAGMA foreign_keys")
        assert cur.fetchall() == [(1,)]
        cur.execute("PRAGMA foreign_key_check")
        assert cur.fetchall() == []
        cur.close()
    finally:
        conn.close()


def test_audit_events_are_written_with_the_batch(loaded):
    with loaded.connect() as conn:
        old = conn.execute(
            select(Batch.id).where(
                Batch.source_code == "policia_nacional", Batch.period_start == dt.date(2024, 1, 1)
            )
        ).scalar_one()
    payload = pn_january()
    payload = BatchPayload(
        **{
            **payload.__dict__,
            "loaded_by": "ana",
            "audit_action": "batch.loaded",
            "audit_detail": {"file": "pn.csv"},
        }
    )
    res = write_batch(loaded, payload)
    assert _events(loaded) == [
        ("ana", "batch.loaded", str(res.batch_id), {"file": "pn.csv", "supersedes": [old]}),
        ("ana", "batch.superseded", str(old), {"by": res.batch_id}),
    ]


def test_failed_batch_leaves_no_audit_event(loaded, monkeypatch):
    real = batches_mod._ingest

    def failing(tx, name, table):
        if name == "victim":
            raise RuntimeError("disk on fire")
        return real(tx, name, table)

    monkeypatch.setattr(batches_mod, "_ingest", failing)
    payload = BatchPayload(**{**pn_january().__dict__, "audit_action": "batch.loaded"})
    before = counts(loaded)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_batch(loaded, payload)
    assert counts(loaded) == before and _events(loaded) == []


def test_rejected_batch_is_recorded_without_records(loaded):
    before = counts(loaded)
    q = pa.table(
        {
            "row_number": [2, 3],
            "raw": ['{"fecha": "31/02/2024"}', '{"fecha": "30/02/2024"}'],
            "reasons": ['[{"rule": "invalid_date"}]', '[{"rule": "invalid_date"}]'],
        }
    )
    res = write_batch(
        loaded,
        BatchPayload(
            source_code="policia_nacional",
            period_start=dt.date(2024, 1, 1),
            period_end=dt.date(2024, 1, 31),
            file_hash="bad",
            quarantine=q,
            status="rejected",
            report='{"status": "rejected"}',
        ),
    )
    assert (res.outcome, res.status, res.superseded_ids) == ("loaded", "rejected", ())
    after = counts(loaded)
    assert after["batch"] == before["batch"] + 1
    assert after["quarantine_row"] == before["quarantine_row"] + 2
    assert after["incident"] == before["incident"]
    with loaded.connect() as conn:
        rows = conn.execute(
            select(Batch.status, Batch.rows_read, Batch.rows_accepted, Batch.rows_quarantined)
            .where(Batch.source_code == "policia_nacional")
            .order_by(Batch.id)
        ).all()
    # the current January batch stays current: a rejected delivery supersedes nothing
    assert [tuple(r) for r in rows][-1] == ("rejected", 2, 0, 2)
    assert [r[0] for r in rows[:-1]] == ["validated", "validated"]
    with pytest.raises(UserInputError, match="rejected"):
        write_batch(loaded, BatchPayload(**{**pn_january().__dict__, "status": "rejected"}))


def _pn_parts() -> list[dict[str, pa.Table]]:
    """January of policia_nacional split into two self-contained parts (by incident)."""
    from tests.conftest import HANDMADE, handmade_table

    rows = HANDMADE[("policia_nacional", "2024-01")]
    out = []
    for incs in (("PN-1",), ("PN-2", "PN-3")):
        out.append(
            {
                n: handmade_table(
                    n, [r for r in rs if r.get("incident_ref", r.get("external_id")) in incs]
                )
                for n, rs in rows.items()
            }
        )
    return out


def _links(engine, batch_id: int) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT v.external_id, i.external_id, o.external_id, v.age FROM victim v "
                    "JOIN incident i ON i.id = v.incident_id "
                    "LEFT JOIN offence o ON o.id = v.offence_id WHERE v.batch_id = :b "
                    "ORDER BY v.external_id"
                ),
                {"b": batch_id},
            )
        ]


def test_batch_in_parts_equals_batch_at_once(loaded):
    whole = pn_january()
    res = write_batch(
        loaded,
        BatchPayload(**{**whole.__dict__, "tables": {}, "parts": iter(_pn_parts())}),
    )
    assert dict(res.rows) == {"incident": 3, "offence": 4, "victim": 3, "perpetrator": 2}
    # hand-made truth: V-1 (37) is PN-1's via O-2; V-2, V-3 have no offence
    assert _links(loaded, res.batch_id) == [
        ("V-1", "PN-1", "O-2", 37),
        ("V-2", "PN-1", None, 85),
        ("V-3", "PN-2", None, None),
    ]
    with loaded.connect() as conn:
        got = conn.execute(
            select(Batch.rows_accepted, Batch.rows_read).where(Batch.id == res.batch_id)
        ).one()
    assert tuple(got) == (3, 3)


def test_batch_in_parts_is_all_or_nothing(loaded):
    before = counts(loaded)
    first, second = _pn_parts()
    # the second part repeats offence O-1 of the first part (attached to PN-2, valid inside the
    # part): caught across parts before the commit, nothing written
    dup = (
        first["offence"]
        .slice(0, 1)
        .set_column(1, "incident_ref", pa.array(["PN-2"], first["offence"]["incident_ref"].type))
    )
    second = {
        **second,
        "offence": pa.concat_tables([second["offence"], dup.cast(second["offence"].schema)]),
    }
    with pytest.raises(DataError, match="offence row 5: field 'external_id' 'O-1' repeats row 1"):
        write_batch(
            loaded,
            BatchPayload(**{**pn_january().__dict__, "tables": {}, "parts": [first, second]}),
        )
    assert counts(loaded) == before
    # an incident repeated across parts: on SQLite the store's unique index meets it first
    # (the parts are copied as they come); the same error either way, nothing written
    first, second = _pn_parts()
    second = {**second, "incident": pa.concat_tables([second["incident"], first["incident"]])}
    with pytest.raises(DataError, match="incident row 4: field 'external_id' 'PN-1' repeats row 1"):
        write_batch(
            loaded,
            BatchPayload(**{**pn_january().__dict__, "tables": {}, "parts": [first, second]}),
        )
    assert counts(loaded) == before
    # a part whose reference points into another part is refused, also with nothing written
    first, second = _pn_parts()
    second = {**second, "victim": first["victim"]}
    with pytest.raises(Exception, match="incident_ref"):
        write_batch(
            loaded,
            BatchPayload(**{**pn_january().__dict__, "tables": {}, "parts": [first, second]}),
        )
    assert counts(loaded) == before


def test_load_settings_do_not_leak_into_the_connection(loaded):
    conn = bulk_connect(loaded)
    try:
        write_batch(loaded, pn_january(), connection=conn)
        cur = conn.cursor()
        if is_sqlite(loaded):
            cur.execute("PRAGMA foreign_keys")
            assert cur.fetchall() == [(1,)]
        else:  # SET LOCAL ended with the transaction
            cur.execute("SELECT current_setting('session_replication_role')")
            assert cur.fetchall() == [("origin",)]
        cur.close()
    finally:
        conn.close()


@pytest.mark.postgres
def test_postgres_role_without_superuser_loads_with_checks(loaded):
    if is_sqlite(loaded):
        pytest.skip("PostgreSQL roles")
    import uuid

    from talaia.store.database import get_engine

    role = "loader_" + uuid.uuid4().hex[:8]
    with loaded.begin() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        conn.exec_driver_sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    url = loaded.url.set(username=role).render_as_string(hide_password=False)
    engine = get_engine(url)
    try:
        before = counts(loaded)
        res = write_batch(engine, pn_january())
        # the regular (non-replica) path: same rows, same links as with a superuser
        assert dict(res.rows) == {"incident": 3, "offence": 4, "victim": 3, "perpetrator": 2}
        assert _links(loaded, res.batch_id)[0] == ("V-1", "PN-1", "O-2", 37)
        assert counts(loaded)["incident"] == before["incident"] + 3
    finally:
        engine.dispose()
        with loaded.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def test_a_batch_waits_for_the_write_lock_then_says_the_store_is_busy(loaded):
    if not is_sqlite(loaded):
        pytest.skip("SQLite's single write lock")
    import sqlite3

    from talaia.errors import StoreBusyError

    other = sqlite3.connect(loaded.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another batch holds the store's write lock
    conn = bulk_connect(loaded)
    tx = batches_mod._Tx(conn, True)
    tx.execute("PRAGMA busy_timeout=50")
    try:
        with pytest.raises(StoreBusyError, match="busy writing another batch"):
            batches_mod._begin_immediate(tx, wait_s=0.3)
        other.execute("COMMIT")
        batches_mod._begin_immediate(tx, wait_s=0.3)  # free again: taken
        with pytest.raises(Exception, match="within a transaction"):
            tx.execute("BEGIN")  # the transaction is open
        tx.execute("ROLLBACK")
    finally:
        other.close()
        conn.close()


def test_readers_go_on_and_never_see_a_batch_half_written(loaded):
    """While a batch's parts are being written (its transaction open, the writer's lock held),
    another connection reads the store, and sees it as it was before the batch."""
    before = counts(loaded)
    seen = []

    def parts():
        first, second = _pn_parts()
        yield first
        seen.append(counts(loaded))  # the first part is in the open transaction
        yield second
        seen.append(counts(loaded))

    res = write_batch(
        loaded, BatchPayload(**{**pn_january().__dict__, "tables": {}, "parts": parts()})
    )
    assert seen == [before, before]
    after = counts(loaded)
    assert after["incident"] == before["incident"] + 3 and dict(res.rows)["incident"] == 3
