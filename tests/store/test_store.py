"""The store on SQLite and PostgreSQL: migrations, batches, supersession, integrity, status."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from sqlalchemy import func, select, text
from tests.conftest import HANDMADE, handmade_table

from talaia.errors import DataError, NotFoundError
from talaia.store import batches as batches_mod
from talaia.store.batches import BatchPayload, write_batch
from talaia.store.canonical import folder_payload, load_canonical_tree, load_reference
from talaia.store.database import (
    current_revision,
    get_engine,
    head_revision,
    table_names,
    upgrade,
)
from talaia.store.models import Batch, Incident, Role, Source
from talaia.store.status import source_months

TABLES = {
    "agency",
    "app_user",
    "area",
    "audit_event",
    "batch",
    "crosswalk_row",
    "crosswalk_version",
    "custody",
    "incident",
    "offence",
    "perpetrator",
    "population",
    "quarantine_row",
    "role",
    "source",
    "victim",
}
RECORDS = ("incident", "offence", "victim", "perpetrator", "custody", "quarantine_row", "batch")


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in RECORDS}


def pn_january(**changes) -> BatchPayload:
    tables = {
        n: handmade_table(n, rows) for n, rows in HANDMADE[("policia_nacional", "2024-01")].items()
    }
    tables.update(changes)
    return BatchPayload(
        source_code="policia_nacional",
        period_start=dt.date(2024, 1, 1),
        period_end=dt.date(2024, 1, 31),
        tables=tables,
        file_name="pn-2024-01.csv",
        file_hash="h-" + str(sorted(changes)),
    )


@pytest.fixture
def loaded(store_engine, handmade_out):
    load_reference(store_engine, handmade_out)
    load_canonical_tree(store_engine, handmade_out)
    return store_engine


def test_migrations_reach_head_with_roles(store_url):
    engine = get_engine(store_url)
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    assert set(table_names(engine)) >= TABLES
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        roles = {r.code: (r.name_en, r.name_es) for r in conn.execute(select(Role))}
    assert roles == {
        "administrator": ("Administrator", "Administrador"),
        "analyst": ("Analyst", "Analista"),
        "steward": ("Data steward", "Responsable de datos"),
        "viewer": ("Viewer", "Consulta"),
    }
    engine.dispose()


def test_sqlite_engine_is_wal_with_foreign_keys(tmp_path):
    path = tmp_path / "new" / "folder" / "talaia.sqlite"
    engine = get_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 65536  # a new store
    assert path.parent.is_dir()
    engine.dispose()


def test_sqlite_existing_store_keeps_its_page_size(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as c:  # a store made with SQLite's default page size
        c.execute("PRAGMA page_size=4096")
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("CREATE TABLE t(x)")
        c.execute("INSERT INTO t VALUES (1)")
    engine = get_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
        assert conn.exec_driver_sql("SELECT x FROM t").scalar() == 1
    engine.dispose()


def test_reference_load_is_idempotent(store_engine, handmade_out):
    first = load_reference(store_engine, handmade_out)
    second = load_reference(store_engine, handmade_out)
    assert first == second
    assert (first.areas, first.population, first.agencies, first.sources) == (7, 12, 2, 2)
    with store_engine.connect() as conn:
        n_area = conn.execute(text("SELECT count(*) FROM area")).scalar_one()
        n_pop = conn.execute(text("SELECT sum(population) FROM population")).scalar_one()
        src = conn.execute(select(Source.__table__).where(Source.code == "penitenciario")).one()
    assert n_area == 7
    assert n_pop == sum(1000 + 10 * k for k in range(12))
    assert (src.expected_from, src.expected_to) == (dt.date(2024, 1, 1), None)
    assert json.loads(src.profile or "{}") == {"raw_format": "jsonl"}


def test_tree_load_maps_references_to_ids(loaded):
    n = counts(loaded)
    assert n["batch"] == 4
    assert n["incident"] == 4 and n["offence"] == 5 and n["victim"] == 3
    assert n["perpetrator"] == 2 and n["custody"] == 3
    with loaded.connect() as conn:
        off = conn.execute(
            text(
                "SELECT o.external_id, i.external_id FROM offence o JOIN incident i "
                "ON i.id = o.incident_id ORDER BY o.external_id"
            )
        ).all()
        vic = conn.execute(
            text(
                "SELECT v.external_id, i.external_id, o.external_id, v.age FROM victim v "
                "JOIN incident i ON i.id = v.incident_id "
                "LEFT JOIN offence o ON o.id = v.offence_id "
                "ORDER BY v.external_id"
            )
        ).all()
        inc = conn.execute(select(Incident.__table__).where(Incident.external_id == "PN-3")).one()
    assert off == [
        ("O-1", "PN-1"),
        ("O-10", "PN-10"),
        ("O-2", "PN-1"),
        ("O-3", "PN-2"),
        ("O-4", "PN-3"),
    ]
    assert [tuple(r) for r in vic] == [
        ("V-1", "PN-1", "O-2", 37),
        ("V-2", "PN-1", None, 85),
        ("V-3", "PN-2", None, None),
    ]
    assert inc.occurred_to == dt.datetime(2024, 1, 21, 6, 0)
    assert inc.cyber_related is False and inc.occurred_precision == "range"


def test_reloading_the_same_tree_changes_nothing(loaded, handmade_out):
    before = counts(loaded)
    again = load_canonical_tree(loaded, handmade_out)
    assert [r.outcome for r in again] == ["unchanged"] * 4
    assert counts(loaded) == before


def test_new_batch_supersedes_and_keeps_earlier_records(loaded):
    with loaded.connect() as conn:
        old_id = conn.execute(
            select(Batch.id).where(
                Batch.source_code == "policia_nacional", Batch.period_start == dt.date(2024, 1, 1)
            )
        ).scalar_one()
    inc = handmade_table("incident", HANDMADE[("policia_nacional", "2024-01")]["incident"][:2])
    rows = HANDMADE[("policia_nacional", "2024-01")]
    res = write_batch(
        loaded,
        pn_january(
            incident=inc,
            offence=handmade_table("offence", rows["offence"][:3]),
            victim=handmade_table("victim", rows["victim"]),
            perpetrator=handmade_table("perpetrator", rows["perpetrator"]),
        ),
    )
    assert res.outcome == "loaded" and res.superseded_ids == (old_id,)
    with loaded.connect() as conn:
        old = conn.execute(select(Batch.__table__).where(Batch.id == old_id)).one()
        new = conn.execute(select(Batch.__table__).where(Batch.id == res.batch_id)).one()
        current = conn.execute(
            text(
                "SELECT count(*) FROM incident i JOIN batch b ON b.id = i.batch_id "
                "WHERE b.status NOT IN ('superseded', 'rejected') "
                "AND i.source_code = 'policia_nacional'"
            )
        ).scalar_one()
        kept = conn.execute(
            select(func.count()).select_from(Incident).where(Incident.batch_id == old_id)
        ).scalar_one()
    assert old.status == "superseded"
    assert (new.status, new.supersedes_id, new.rows_accepted) == ("validated", old_id, 2)
    assert kept == 3 and current == 2 + 1

    jan = [m for m in source_months(loaded, "policia_nacional") if m.period_month.month == 1]
    assert (jan[0].batch_id, jan[0].rows) == (res.batch_id, 2)
    # a later ORM insert does not collide with the ids reserved by write_batch
    with loaded.begin() as conn:
        bid = conn.execute(
            Batch.__table__.insert().values(
                source_code="penitenciario",
                period_start=dt.date(2023, 1, 1),
                period_end=dt.date(2023, 1, 31),
                status="rejected",
                rows_read=0,
                rows_accepted=0,
                rows_quarantined=0,
                rows_duplicate=0,
            )
        ).inserted_primary_key[0]
    assert bid == res.batch_id + 1


def test_failure_mid_batch_writes_nothing(loaded, monkeypatch):
    before = counts(loaded)
    real = batches_mod._ingest

    def failing(tx, name, table):
        if name == "victim":
            raise RuntimeError("disk on fire")
        return real(tx, name, table)

    monkeypatch.setattr(batches_mod, "_ingest", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_batch(loaded, pn_january())
    assert counts(loaded) == before
    with loaded.connect() as conn:
        statuses = (
            conn.execute(select(Batch.status).where(Batch.source_code == "policia_nacional"))
            .scalars()
            .all()
        )
    assert statuses == ["validated", "validated"]  # the earlier batch was not superseded
    monkeypatch.setattr(batches_mod, "_ingest", real)
    res = write_batch(loaded, pn_january())
    assert res.outcome == "loaded" and res.batch_id == before["batch"] + 1


def test_quarantine_rows_are_kept_with_the_batch(loaded):
    q = pa.table(
        {
            "row_number": [7, 9],
            "raw": ['{"fecha": "31/02/2024"}', '{"codigo": "ZZ"}'],
            "reasons": pa.array([["bad date"], ["unknown code", "no area"]]),
        }
    )
    res = write_batch(
        loaded,
        BatchPayload(
            source_code="penitenciario",
            period_start=dt.date(2024, 3, 1),
            period_end=dt.date(2024, 3, 31),
            quarantine=q,
            file_hash="q",
            rows_duplicate=1,
        ),
    )
    with loaded.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT row_number, raw, reasons, status FROM quarantine_row WHERE batch_id = "
                f"{res.batch_id} ORDER BY row_number"
            )
        ).all()
        b = conn.execute(select(Batch.__table__).where(Batch.id == res.batch_id)).one()
    assert [(r[0], json.loads(r[1]), json.loads(r[2]), r[3]) for r in rows] == [
        (7, {"fecha": "31/02/2024"}, ["bad date"], "open"),
        (9, {"codigo": "ZZ"}, ["unknown code", "no area"], "open"),
    ]
    assert (b.rows_read, b.rows_accepted, b.rows_quarantined, b.rows_duplicate) == (3, 0, 2, 1)


def _rows(name, **edit):
    rows = [dict(r) for r in HANDMADE[("policia_nacional", "2024-01")][name]]
    for key, value in edit.items():
        i, field = key.split("__")
        rows[int(i)][field] = value
    return handmade_table(name, rows)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda: {"incident": _rows("incident", **{"1__area_code": "99"})},
            "incident row 2 (external_id 'PN-2'): field 'area_code' '99' is not a known area",
        ),
        (
            lambda: {"offence": _rows("offence", **{"2__incident_ref": "PN-404"})},
            "offence row 3 (external_id 'O-3'): field 'incident_ref' 'PN-404'",
        ),
        (
            lambda: {"victim": _rows("victim", **{"0__offence_ref": "O-404"})},
            "victim row 1 (external_id 'V-1'): field 'offence_ref' 'O-404'",
        ),
        (
            lambda: {"perpetrator": _rows("perpetrator", **{"1__offence_ref": "O-1"})},
            "perpetrator row 2 (external_id 'P-2'): field 'offence_ref' 'O-1' belongs to another",
        ),
        (
            lambda: {"offence": _rows("offence", **{"3__external_id": "O-1"})},
            "offence row 4: field 'external_id' 'O-1' repeats row 1",
        ),
        (
            lambda: {"offence": _rows("offence", **{"1__national_code": None})},
            "offence row 2 (external_id 'O-2'): field 'national_code' is empty",
        ),
    ],
)
def test_referential_errors_name_table_row_and_field(loaded, change, message):
    before = counts(loaded)
    with pytest.raises(DataError) as err:
        write_batch(loaded, pn_january(**change()))
    assert message in str(err.value)
    assert counts(loaded) == before


def test_unknown_source_is_not_found(loaded):
    with pytest.raises(NotFoundError, match="'nope'"):
        write_batch(loaded, BatchPayload("nope", dt.date(2024, 1, 1), dt.date(2024, 1, 31)))


def test_status_shows_missing_month_as_missing_not_zero(loaded, handmade_out):
    got = [
        (m.source_code, m.period_month.isoformat(), m.state, m.rows) for m in source_months(loaded)
    ]
    assert got == [
        ("penitenciario", "2024-01-01", "delivered", 2),
        ("penitenciario", "2024-02-01", "delivered", 1),
        ("policia_nacional", "2024-01-01", "delivered", 3),
        ("policia_nacional", "2024-02-01", "missing", None),
        ("policia_nacional", "2024-03-01", "delivered", 1),
    ]
    # a delivery outside the expected range is listed as unexpected
    write_batch(
        loaded,
        folder_payload(
            "policia_nacional", "2024-05", handmade_out / "canonical/policia_nacional/2024-03"
        ),
    )
    may = source_months(loaded, "policia_nacional")[-1]
    assert (may.period_month, may.state, may.rows) == (dt.date(2024, 5, 1), "unexpected", 1)


def test_concurrent_batches_get_disjoint_ids(store_engine, handmade_out):
    from concurrent.futures import ThreadPoolExecutor

    load_reference(store_engine, handmade_out)
    months = [f"2023-{m:02d}" for m in range(1, 9)]
    folder = handmade_out / "canonical/policia_nacional/2024-01"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda m: write_batch(store_engine, folder_payload("policia_nacional", m, folder)),
                months,
            )
        )
    assert sorted(r.batch_id for r in results) == list(range(1, 9))
    with store_engine.connect() as conn:
        per_batch = conn.execute(
            text(
                "SELECT i.batch_id, count(*), count(DISTINCT o.id) FROM incident i "
                "JOIN offence o ON o.incident_id = i.id AND o.batch_id = i.batch_id "
                "GROUP BY i.batch_id ORDER BY i.batch_id"
            )
        ).all()
    # every batch's offences point to incidents of the same batch: id ranges never interleave
    assert [tuple(r) for r in per_batch] == [(b, 4, 4) for b in range(1, 9)]


def _record_indexes(engine) -> dict[str, set[tuple[str, tuple[str, ...], bool]]]:
    from sqlalchemy import inspect

    insp = inspect(engine)
    out = {}
    for t in ("incident", "offence", "victim", "perpetrator", "custody"):
        idx = {
            (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)
        }
        # a unique constraint is reported as a constraint (PostgreSQL) or an index (SQLite)
        idx |= {(u["name"], tuple(u["column_names"]), True) for u in insp.get_unique_constraints(t)}
        out[t] = {i for i in idx if not i[0].startswith("sqlite_autoindex")}
    return out


def test_lean_record_indexes_migrate_both_ways(store_url):
    """0004 leaves one index per record table (by batch; unique with the external id for
    incidents and custody) and its downgrade restores the 0003 indexes, data kept."""
    from alembic import command

    from talaia.store.database import _alembic_config

    engine = get_engine(store_url)
    upgrade(engine)
    lean = {
        "incident": {("ux_incident_batch_id_external_id", ("batch_id", "external_id"), True)},
        "offence": {("ix_offence_batch_id", ("batch_id",), False)},
        "victim": {("ix_victim_batch_id", ("batch_id",), False)},
        "perpetrator": {("ix_perpetrator_batch_id", ("batch_id",), False)},
        "custody": {("ux_custody_batch_id_external_id", ("batch_id", "external_id"), True)},
    }
    assert _record_indexes(engine) == lean
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    old = _record_indexes(engine)
    assert ("ix_offence_iccs_code", ("iccs_code",), False) in old["offence"]
    assert ("ix_perpetrator_person_key", ("person_key",), False) in old["perpetrator"]
    assert {i[1] for i in old["incident"] if i[2]} == {("source_code", "external_id", "batch_id")}
    upgrade(engine)
    assert _record_indexes(engine) == lean
    engine.dispose()


def test_empty_store_keeps_schema_and_roles(store_engine, handmade_out):
    from talaia.store.database import current_revision, empty_store, head_revision, table_names

    load_reference(store_engine, handmade_out)
    load_canonical_tree(store_engine, handmade_out)
    with store_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM incident")).scalar_one() > 0
    emptied = empty_store(store_engine)
    assert "incident" in emptied and "role" not in emptied
    with store_engine.connect() as c:
        for t in emptied:
            assert c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() == 0, t
        assert c.execute(text("SELECT count(*) FROM role")).scalar_one() == 4
    assert current_revision(store_engine) == head_revision()
    assert set(emptied) | {"role", "alembic_version"} == set(table_names(store_engine))
    load_reference(store_engine, handmade_out)  # ids start again, loads as new
    load_canonical_tree(store_engine, handmade_out)
    with store_engine.connect() as c:
        assert c.execute(text("SELECT min(id) FROM batch")).scalar_one() == 1
