"""Fixtures of the web tests: a migrated store (SQLite and PostgreSQL, from tests/conftest.py)
seeded with two agencies, their sources, batches and quarantined rows, one account per role,
and the portal built around it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pytest
from sqlalchemy import Engine, insert

from talaia.settings import Settings
from talaia.store.models import Agency, AppUser, Area, Batch, QuarantineRow, Source
from talaia.web.config import WebSettings
from talaia.web.security import hash_password

PASSWORD = "correct horse battery"
ACCOUNTS = {
    "admin": ("administrator", None),
    "ana": ("analyst", None),
    "pn_steward": ("steward", "PN"),
    "pm_steward": ("steward", "PM"),
    "viewer": ("viewer", None),
}


@lru_cache
def _password_hash() -> str:
    """One real Argon2id hash of PASSWORD for every seeded account (hashing costs ~0.5 s)."""
    return hash_password(PASSWORD)


def insert_accounts(conn, now: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """One account per role of :data:`ACCOUNTS`, all with :data:`PASSWORD`."""
    conn.execute(
        insert(AppUser),
        [
            {
                "username": username,
                "full_name": username.title(),
                "role_code": role,
                "agency_code": agency,
                "active": True,
                "password_hash": _password_hash(),
                "created_at": now,
            }
            for username, (role, agency) in ACCOUNTS.items()
        ],
    )


def _square(x: float, y: float, d: float = 1.0) -> str:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


@dataclass(frozen=True)
class Seed:
    """Ids of what :func:`seed_store` wrote."""

    pn_batches: tuple[int, ...]
    pm_batches: tuple[int, ...]
    pn_rows: tuple[int, ...]
    pm_rows: tuple[int, ...]


def seed_store(engine: Engine) -> Seed:
    """Two agencies (PN, PM), one source each, 3 PN batches and 1 PM batch, quarantined rows,
    a country with two regions (square polygons), and one account per role."""
    now = dt.datetime(2024, 3, 5, 10, 0)
    with engine.begin() as conn:
        conn.execute(
            insert(Area),
            [
                {
                    "code": "XC",
                    "name": "Country",
                    "level": 1,
                    "parent_code": None,
                    "geometry": _square(-70, 10, 2),
                },
            ],
        )
        conn.execute(
            insert(Area),
            [
                {
                    "code": "XC01",
                    "name": "Norte",
                    "level": 2,
                    "parent_code": "XC",
                    "geometry": _square(-70, 11),
                },
                {
                    "code": "XC02",
                    "name": "Sur",
                    "level": 2,
                    "parent_code": "XC",
                    "geometry": _square(-70, 10),
                },
            ],
        )
        conn.execute(
            insert(Agency),
            [
                {"code": "PN", "name": "Policía Nacional", "kind": "police"},
                {"code": "PM", "name": "Policía Metropolitana", "kind": "police"},
            ],
        )
        conn.execute(
            insert(Source),
            [
                {
                    "code": "policia_nacional",
                    "agency_code": "PN",
                    "kind": "police",
                    "name": "Policía Nacional",
                    "expected_from": dt.date(2024, 1, 1),
                },
                {
                    "code": "policia_metropolitana",
                    "agency_code": "PM",
                    "kind": "police",
                    "name": "Policía Metropolitana",
                    "expected_from": dt.date(2024, 1, 1),
                },
            ],
        )
        ids = {}
        for key, source, month, status in [
            ("pn1", "policia_nacional", 1, "published"),
            ("pn2", "policia_nacional", 2, "approved"),
            ("pn3", "policia_nacional", 3, "received"),
            ("pm1", "policia_metropolitana", 1, "received"),
        ]:
            ids[key] = conn.execute(
                insert(Batch)
                .values(
                    source_code=source,
                    file_name=f"{source}_2024-{month:02d}.csv",
                    file_hash="ab" * 32,
                    period_start=dt.date(2024, month, 1),
                    period_end=dt.date(2024, month, 28),
                    status=status,
                    rows_read=10,
                    rows_accepted=8,
                    rows_quarantined=2,
                    rows_duplicate=0,
                    received_at=now,
                    loaded_at=now,
                    loaded_by="loader",
                    report=json.dumps({"rows_read": 10}),
                )
                .returning(Batch.id)
            ).scalar_one()
        rows: dict[str, list[int]] = {"pn": [], "pm": []}
        for key, prefix in (("pn1", "pn"), ("pm1", "pm")):
            for n, (field, value) in enumerate([("fecha", "2024-13-01"), ("codigo", "ZZZ")]):
                raw = {"id": f"{prefix}-{n}", "fecha": "2024-01-05", "codigo": "HOM-01"}
                raw[field] = value
                rows[prefix].append(
                    conn.execute(
                        insert(QuarantineRow)
                        .values(
                            batch_id=ids[key],
                            row_number=n + 2,
                            raw=json.dumps(raw),
                            reasons=json.dumps([f"{field}: invalid value {value!r}"]),
                            status="open",
                        )
                        .returning(QuarantineRow.id)
                    ).scalar_one()
                )
    with engine.begin() as conn:
        insert_accounts(conn, now)
    return Seed(
        (ids["pn1"], ids["pn2"], ids["pn3"]), (ids["pm1"],), tuple(rows["pn"]), tuple(rows["pm"])
    )


@pytest.fixture
def seeded(store_engine: Engine) -> tuple[Engine, Seed]:
    return store_engine, seed_store(store_engine)


@pytest.fixture
def app(seeded, tmp_path):  # type: ignore[no-untyped-def]
    from talaia.web.app import create_app

    engine, _ = seeded
    settings = Settings(data_dir=tmp_path, secret_key="test-secret-" + "x" * 20)
    return create_app(settings, WebSettings(login_max_failures=3, login_window_s=600), engine)


@pytest.fixture
def client(app) -> Iterator:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    # https base URL: the cookies are Secure, as in production
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def csrf_of(client) -> str:  # type: ignore[no-untyped-def]
    """The CSRF token the login page carries for this client's cookie."""
    html = client.get("/login").text
    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert m, "login page has no CSRF token"
    return m.group(1)


def login(client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_of(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )


def seed_indicator_store(engine: Engine) -> None:
    """The store behind tests/indicators/warehouse_fixture.py: its areas (unit squares), its
    three sources and their 72 monthly batches with the same ids, all published except
    PN 2023-12 (batch 24, approved only); plus the accounts of :data:`ACCOUNTS`."""
    from tests.indicators import warehouse_fixture as wf

    now = dt.datetime(2024, 3, 5, 10, 0)
    xs = {"M1": 0, "M2": 1, "M3": 3}
    with engine.begin() as conn:
        for code, level, parent, *_ in wf.AREAS:
            kids = [a[0] for a in wf.AREAS if a[3 + level - 1] == code and a[1] == 3]
            x = min(xs[k] for k in kids)
            w = max(xs[k] for k in kids) - x + 1
            ring = [[x, 0], [x + w, 0], [x + w, 1], [x, 1], [x, 0]]
            conn.execute(
                insert(Area).values(
                    code=code,
                    name=f"Area {code}",
                    level=level,
                    parent_code=parent,
                    geometry=json.dumps({"type": "Polygon", "coordinates": [ring]}),
                )
            )
        conn.execute(
            insert(Agency),
            [
                {"code": "PN", "name": "Policía Nacional", "kind": "police"},
                {"code": "PM", "name": "Policía Metropolitana", "kind": "police"},
                {"code": "IML", "name": "Medicina Legal", "kind": "forensic"},
                {"code": "SPN", "name": "Penitenciario", "kind": "prison"},
            ],
        )
        conn.execute(
            insert(Source),
            [
                {
                    "code": s,
                    "agency_code": a,
                    "kind": k,
                    "name": s,
                    "expected_from": dt.date(2022, 1, 1),
                }
                for s, (a, k) in wf.SOURCES.items()
            ],
        )
        conn.execute(
            insert(Batch),
            [
                {
                    "id": bid,
                    "source_code": s,
                    "file_name": f"{s}-{m:%Y-%m}.csv",
                    "period_start": m,
                    "period_end": m,
                    "rows_read": 1,
                    "rows_accepted": 1,
                    "rows_quarantined": 0,
                    "rows_duplicate": 0,
                    "received_at": now,
                    "status": "approved" if (s, m) == ("PN", dt.date(2023, 12, 1)) else "published",
                }
                for (s, m), bid in wf._BATCH.items()
            ],
        )
        insert_accounts(conn, now)


@pytest.fixture
def ind_client(store_engine: Engine, tmp_path) -> Iterator:  # type: ignore[no-untyped-def]
    """A portal over the hand-made warehouse of the indicator tests and its store."""
    from fastapi.testclient import TestClient
    from tests.indicators import warehouse_fixture as wf

    from talaia.web.app import create_app

    seed_indicator_store(store_engine)
    wh = wf.build(tmp_path / "warehouse.duckdb")
    settings = Settings(
        data_dir=tmp_path, secret_key="test-secret-" + "y" * 20, warehouse_path=str(wh)
    )
    app = create_app(settings, WebSettings(suppression_threshold=5), store_engine)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def build_analysis_warehouse(path) -> list[dict]:  # type: ignore[no-untyped-def]
    """The hand-made incident warehouse of tests/analysis (planted near-repeat pairs, 125
    incidents around 60°W 20°S), every month delivered (so that STL runs), plus
    ``dim_area_geometry``: five vertical strips (the level-3 areas) over the incidents' extent."""
    import duckdb
    from tests.analysis.test_service_cli import L3, _build

    from talaia.warehouse.build import DDL

    rows = _build(path)["rows"]
    con = duckdb.connect(str(path))
    con.execute("UPDATE source_month SET delivered = TRUE")
    con.execute(f"CREATE TABLE dim_area_geometry ({DDL['dim_area_geometry']})")
    lon0, lat0, w = -60.01, -20.01, 0.07
    for k, code in enumerate(L3):
        x = lon0 + k * w
        ring = [[x, lat0], [x + w, lat0], [x + w, lat0 + 0.3], [x, lat0 + 0.3], [x, lat0]]
        geom = json.dumps({"type": "Polygon", "coordinates": [ring]})
        con.execute("INSERT INTO dim_area_geometry VALUES (?, 3, ?)", [code, geom])
    con.close()
    return rows  # type: ignore[return-value]


@pytest.fixture
def an_portal(seeded, tmp_path):  # type: ignore[no-untyped-def]
    """(app, warehouse path, fact rows): the portal over the analysis warehouse."""
    from talaia.web.app import create_app

    engine, _ = seeded
    wh = tmp_path / "analysis.duckdb"
    rows = build_analysis_warehouse(wh)
    settings = Settings(
        data_dir=tmp_path, secret_key="test-secret-" + "z" * 20, warehouse_path=str(wh)
    )
    return create_app(settings, WebSettings(), engine), wh, rows


@pytest.fixture
def an_client(an_portal) -> Iterator:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(an_portal[0], base_url="https://testserver") as c:
        yield c
