"""The batch lifecycle counts what it should: rejecting a batch (portal, API or CLI) refreshes
the warehouse at once, so that indicators stop counting it; publishing changes no fact; a reject
needs a confirmation step; a failed refresh is reported, never silent (real store, real
warehouse; SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from tests.conftest import handmade_table
from tests.web.conftest import csrf_of, insert_accounts, login

from talaia.settings import Settings
from talaia.store.batches import BatchPayload, write_batch
from talaia.store.canonical import load_reference
from talaia.store.models import NOT_CURRENT, Agency, AuditEvent, Batch, Offence
from talaia.warehouse import rebuild
from talaia.web.config import WebSettings

D = dt.date
#: Drug trafficking offences (ICCS 06012) delivered by the police per month of 2024.
DELIVERED = {1: 3, 2: 2}


def _batch_tables(month: int, n: int) -> dict:
    incidents = [
        dict(
            external_id=f"PN-{month}-{k}",
            occurred_from=f"2024-{month:02d}-{10 + k} 12:00:00",
            occurred_precision="minute",
            area_code="010101" if k % 2 else "020101",
        )
        for k in range(n)
    ]
    offences = [
        dict(
            external_id=f"O-{month}-{k}",
            incident_ref=f"PN-{month}-{k}",
            national_code="DRG-01",
            national_label="Tráfico de estupefacientes",
            iccs_code="06012",
            crosswalk_version=1,
            mapping_type="exact",
        )
        for k in range(n)
    ]
    return {
        "incident": handmade_table("incident", incidents),
        "offence": handmade_table("offence", offences),
        "victim": handmade_table("victim", []),
        "perpetrator": handmade_table("perpetrator", []),
    }


@dataclass(frozen=True)
class Life:
    engine: Engine
    warehouse: Path
    batches: dict[int, int]  # month -> batch id
    app: object


def _accounts(engine: Engine) -> None:
    now = dt.datetime(2024, 3, 5, 10, 0)
    with engine.begin() as conn:
        conn.execute(insert(Agency).values(code="PM", name="Policía Metropolitana", kind="police"))
        insert_accounts(conn, now)


@pytest.fixture
def life(store_engine: Engine, handmade_out: Path, tmp_path: Path) -> Life:
    load_reference(store_engine, handmade_out)
    _accounts(store_engine)
    batches = {}
    for month, n in DELIVERED.items():
        res = write_batch(
            store_engine,
            BatchPayload(
                source_code="policia_nacional",
                period_start=D(2024, month, 1),
                period_end=D(2024, month, 28),
                tables=_batch_tables(month, n),
                file_name=f"pn-2024-{month:02d}.csv",
                file_hash=f"{month:02d}" * 32,
            ),
        )
        batches[month] = res.batch_id
    wh = tmp_path / "warehouse.duckdb"
    rebuild(store_engine, wh)
    from talaia.web.app import create_app

    settings = Settings(
        data_dir=tmp_path, secret_key="test-secret-" + "l" * 20, warehouse_path=str(wh)
    )
    app = create_app(settings, WebSettings(), store_engine)
    return Life(store_engine, wh, batches, app)


@pytest.fixture
def life_client(life: Life) -> Iterator:
    from fastapi.testclient import TestClient

    with TestClient(life.app, base_url="https://testserver") as c:
        yield c


def _store_count(engine: Engine) -> int:
    """Drug trafficking offences of current batches, counted in the store (not the warehouse)."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(Offence)
                .join(Batch, Batch.id == Offence.batch_id)
                .where(Offence.iccs_code.like("06012%"), Batch.status.not_in(NOT_CURRENT))
            ).scalar_one()
        )


def _national(client, period: str) -> dict:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/indicators/drug_trafficking_rate/values", params={"period": period})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 1, items
    return items[0]


def _status(engine: Engine, batch_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(Batch.status).where(Batch.id == batch_id)).scalar_one()


def test_rejected_batch_is_no_longer_counted(life: Life, life_client):
    c, engine, b = life_client, life.engine, life.batches
    assert login(c, "ana").status_code == 303
    year = _national(c, "2024")
    assert year["numerator"] == _store_count(engine) == 5
    assert sorted(year["batch_ids"]) == [b[1], b[2]]
    feb = _national(c, "2024-02")
    assert feb["numerator"] == 2 and feb["batch_ids"] == [b[2]]

    # the steward's confirmation page, then the confirmed reject (a portal form)
    page = c.get(f"/data/batches/{b[2]}/reject")
    assert page.status_code == 200 and 'name="confirm"' in page.text
    r = c.post(
        f"/data/batches/{b[2]}/status",
        data={"csrf_token": csrf_of(c), "status": "rejected", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/data/batches/{b[2]}?saved=1"
    assert _status(engine, b[2]) == "rejected"

    expected = _store_count(engine)
    assert expected == DELIVERED[1] == 3
    year = _national(c, "2024")
    assert year["numerator"] == expected
    assert year["batch_ids"] == [b[1]]
    feb = _national(c, "2024-02")
    assert b[2] not in (feb["batch_ids"] or [])
    assert feb["numerator"] is None  # the month is no longer delivered: no data, not zero
    pn = next(s for s in c.get("/api/v1/sources").json() if s["code"] == "policia_nacional")
    assert pn["batches"] == 1 and pn["last_period"] == "2024-01-01"


def test_reject_without_confirmation_changes_nothing(life: Life, life_client):
    c, engine, b = life_client, life.engine, life.batches
    assert login(c, "pn_steward").status_code == 303
    before = _store_count(engine)
    r = c.post(
        f"/data/batches/{b[1]}/status",
        data={"csrf_token": csrf_of(c), "status": "rejected"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/data/batches/{b[1]}/reject"
    r = c.post(
        f"/data/batches/{b[1]}/status",
        data={"csrf_token": csrf_of(c), "status": "rejected", "confirm": "no"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/reject")
    # without the CSRF token, even a confirmed reject is refused
    r = c.post(
        f"/data/batches/{b[1]}/status",
        data={"status": "rejected", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert _status(engine, b[1]) == "validated"
    assert _store_count(engine) == before
    with engine.connect() as conn:
        events = conn.execute(
            select(func.count()).where(AuditEvent.action == "batch.status")
        ).scalar_one()
    assert events == 0
    # the batch page offers the reject as a step to the confirmation page, not a direct post
    html = c.get(f"/data/batches/{b[1]}").text
    assert f'href="/data/batches/{b[1]}/reject"' in html
    assert 'name="status" value="rejected"' not in html
    confirm = c.get(f"/data/batches/{b[1]}/reject").text
    assert 'name="confirm" value="yes" required' in confirm and 'name="csrf_token"' in confirm


def test_publishing_changes_no_fact_and_needs_no_refresh(life: Life, life_client, monkeypatch):
    from talaia.web.services import data as data_service

    calls = []
    monkeypatch.setattr(data_service, "refresh_warehouse", lambda *a, **k: calls.append(a))
    c, b = life_client, life.batches
    assert login(c, "ana").status_code == 303
    h = {"X-CSRF-Token": csrf_of(c)}
    for step in ("approved", "published", "approved"):
        r = c.post(f"/api/v1/batches/{b[1]}/status", json={"status": step}, headers=h)
        assert r.status_code == 200 and r.json()["status"] == step
    assert calls == []
    r = c.post(f"/api/v1/batches/{b[1]}/status", json={"status": "rejected"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert len(calls) == 1


def test_failed_refresh_is_reported_not_silent(life: Life, life_client, monkeypatch):
    import talaia.warehouse

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("warehouse file is locked")

    monkeypatch.setattr(talaia.warehouse, "refresh", broken)
    c, engine, b = life_client, life.engine, life.batches
    assert login(c, "ana").status_code == 303
    h = {"X-CSRF-Token": csrf_of(c)}
    r = c.post(f"/api/v1/batches/{b[2]}/status", json={"status": "rejected"}, headers=h)
    assert r.status_code == 503
    detail = r.json()["detail"]
    assert "could not be refreshed" in detail and "talaia warehouse refresh" in detail
    assert _status(engine, b[2]) == "rejected"  # the decision stands; the warning says so
    with engine.connect() as conn:
        failed = conn.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "warehouse.refresh_failed")
        ).scalar_one()
    assert "locked" in json.loads(failed)["error"]
    # the portal form says so on the batch page
    r = c.post(
        f"/data/batches/{b[1]}/status",
        data={"csrf_token": csrf_of(c), "status": "rejected", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/data/batches/{b[1]}?stale=1"
    html = c.get(r.headers["location"] + "&lang=es").text
    assert "notice-warn" in html and "no pudo actualizarse" in html
    # the next refresh that succeeds repairs the warehouse (it drops non-current batches)
    monkeypatch.undo()
    talaia.warehouse.refresh(engine, life.warehouse)
    assert _national(c, "2024")["numerator"] is None or _national(c, "2024")["batch_ids"] == []


def test_cli_reject_refreshes_the_warehouse(life: Life, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from talaia.cli.main import app
    from talaia.settings import get_settings

    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TALAIA_DATABASE_URL", life.engine.url.render_as_string(False))
    monkeypatch.setenv("TALAIA_WAREHOUSE_PATH", str(life.warehouse))
    get_settings.cache_clear()
    try:
        b = life.batches
        r = CliRunner().invoke(app, ["batches", "reject", str(b[1]), "--user", "ana", "--yes"])
        assert r.exit_code == 0, r.output
    finally:
        get_settings.cache_clear()
    assert _status(life.engine, b[1]) == "rejected"
    import duckdb

    con = duckdb.connect(str(life.warehouse), read_only=True)
    try:
        ids = {r[0] for r in con.execute("SELECT DISTINCT batch_id FROM fact_offence").fetchall()}
        delivered = con.execute(
            "SELECT delivered FROM source_month WHERE period_month = DATE '2024-01-01'"
            " AND source_code = 'policia_nacional'"
        ).fetchone()
    finally:
        con.close()
    assert ids == {b[2]}
    assert delivered == (False,)


def test_reject_waits_for_a_reader_of_the_warehouse(life: Life, life_client):
    """A request reading the warehouse holds it open read-only, which keeps a writer of this
    process out: the refresh tries again for a few seconds instead of leaving stale facts."""
    import threading

    import duckdb

    c, b = life_client, life.batches
    assert login(c, "ana").status_code == 303
    reader = duckdb.connect(str(life.warehouse), read_only=True)
    closer = threading.Timer(0.3, reader.close)
    closer.start()
    try:
        r = c.post(
            f"/api/v1/batches/{b[1]}/status",
            json={"status": "rejected"},
            headers={"X-CSRF-Token": csrf_of(c)},
        )
    finally:
        closer.join()
    assert r.status_code == 200, r.text
    year = _national(c, "2024")
    assert year["numerator"] == _store_count(life.engine) == DELIVERED[2]
    assert year["batch_ids"] == [b[2]]
