"""Access control of the portal and API on SQLite and PostgreSQL: login, sessions, CSRF, rate
limit, role boundaries, audit log, tokens, problem+json errors and pagination."""

from __future__ import annotations

import json

from sqlalchemy import select
from tests.web.conftest import PASSWORD, csrf_of, login

from talaia.store.models import AuditEvent, QuarantineRow


def _csrf_header(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"X-CSRF-Token": csrf_of(client)}


def test_login_sets_secure_httponly_session_and_logout_revokes_it(client):
    r = login(client, "admin")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("talaia_session="))
    attrs = {a.strip().lower() for a in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax"} <= attrs
    me = client.get("/api/v1/me").json()
    assert me["username"] == "admin" and me["role"] == "administrator" and me["via"] == "session"
    old = client.cookies.get("talaia_session")
    r = client.post("/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").json()["authenticated"] is False
    # replaying the old cookie after logout does not bring the session back
    client.cookies.set("talaia_session", old, domain="testserver")
    assert client.get("/api/v1/me").json()["authenticated"] is False


def test_wrong_password_is_refused(client):
    r = login(client, "admin", "not the password")
    assert r.status_code == 401
    assert "Wrong username or password" in r.text
    assert client.get("/api/v1/me").json()["role"] == "public"


def test_session_expires(client, app, monkeypatch):
    import itsdangerous.timed

    real = itsdangerous.timed.time.time
    # issue the cookie as if 9 hours ago (sessions last 8 hours)
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() - 9 * 3600)
    assert login(client, "admin").status_code == 303
    monkeypatch.setattr(itsdangerous.timed.time, "time", real)
    assert client.get("/api/v1/me").json()["authenticated"] is False
    assert login(client, "admin").status_code == 303
    assert client.get("/api/v1/me").json()["authenticated"] is True


def test_csrf_required_on_every_unsafe_request(client, seeded):
    _, seed = seeded
    # login form without / with a forged token
    r = client.post(
        "/login", data={"username": "admin", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    r = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": "0" * 64},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert client.get("/api/v1/me").json()["authenticated"] is False
    assert login(client, "admin").status_code == 303
    # a cookie-authenticated API write without the header is refused, with it accepted
    url = f"/api/v1/quarantine/{seed.pn_rows[0]}"
    body = {"fields": {"fecha": "2024-01-13"}}
    r = client.patch(url, json=body)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    r = client.patch(url, json=body, headers=_csrf_header(client))
    assert r.status_code == 200, r.text
    assert r.json()["raw"]["fecha"] == "2024-01-13"


def test_login_rate_limit_per_username_and_ip(client):
    for _ in range(3):  # login_max_failures=3 in the fixture
        assert login(client, "ana", "wrong").status_code == 401
    r = login(client, "ana")  # right password, but locked
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert client.get("/api/v1/me").json()["authenticated"] is False
    # another username from the same address is not affected
    assert login(client, "viewer").status_code == 303


def test_steward_sees_only_own_agency(client, seeded):
    _, seed = seeded
    assert login(client, "pn_steward").status_code == 303
    listed = client.get("/api/v1/batches").json()
    assert sorted(b["id"] for b in listed["items"]) == sorted(seed.pn_batches)
    assert {s["agency_code"] for s in client.get("/api/v1/sources").json()} == {"PN"}
    assert client.get(f"/api/v1/batches/{seed.pn_batches[0]}").status_code == 200
    # guessing another agency's batch id answers exactly like a batch that does not exist
    other = client.get(f"/api/v1/batches/{seed.pm_batches[0]}")
    missing = client.get("/api/v1/batches/999999")
    assert other.status_code == missing.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["title"] == missing.json()["title"] == "Not found"
    assert client.get(f"/api/v1/batches/{seed.pm_batches[0]}/quarantine").status_code == 404
    assert client.get(f"/data/batches/{seed.pm_batches[0]}").status_code == 404
    r = client.patch(
        f"/api/v1/quarantine/{seed.pm_rows[0]}",
        json={"fields": {"codigo": "X"}},
        headers=_csrf_header(client),
    )
    assert r.status_code == 404
    # its own rows are there
    q = client.get(f"/api/v1/batches/{seed.pn_batches[0]}/quarantine").json()
    assert sorted(r["id"] for r in q["items"]) == sorted(seed.pn_rows)
    # a steward may not publish
    r = client.post(
        f"/api/v1/batches/{seed.pn_batches[1]}/status",
        json={"status": "published"},
        headers=_csrf_header(client),
    )
    assert r.status_code == 403


def test_analyst_sees_all_agencies(client, seeded):
    _, seed = seeded
    assert login(client, "ana").status_code == 303
    ids = {b["id"] for b in client.get("/api/v1/batches").json()["items"]}
    assert ids == set(seed.pn_batches) | set(seed.pm_batches)
    assert client.get(f"/api/v1/batches/{seed.pm_batches[0]}").status_code == 200


def test_viewer_and_public_have_no_data_access(client, seeded):
    _, seed = seeded
    r = client.get("/api/v1/batches")
    assert r.status_code == 401 and r.json()["status"] == 401
    r = client.get("/data", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert login(client, "viewer").status_code == 303
    assert client.get("/api/v1/batches").status_code == 403
    assert client.get(f"/api/v1/batches/{seed.pn_batches[0]}").status_code == 403
    assert client.get("/data").status_code == 403
    assert client.get("/admin").status_code == 403
    assert client.get("/api/v1/users").status_code == 403
    # the navigation offers neither Data nor Administration to a viewer
    home = client.get("/").text
    assert 'href="/data"' not in home and 'href="/admin"' not in home


def test_writes_are_audited(client, seeded):
    engine, seed = seeded
    assert login(client, "ana").status_code == 303
    row = seed.pm_rows[1]
    r = client.post(
        f"/data/quarantine/{row}",
        data={"csrf_token": csrf_of(client), "field:codigo": "HOM-01", "action": "correct"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/api/v1/batches/{seed.pn_batches[1]}/status",
        json={"status": "published"},
        headers=_csrf_header(client),
    )
    assert r.status_code == 200 and r.json()["status"] == "published"
    with engine.connect() as conn:
        raw = conn.execute(select(QuarantineRow.raw).where(QuarantineRow.id == row)).scalar_one()
        events = conn.execute(
            select(AuditEvent.username, AuditEvent.action, AuditEvent.object_id, AuditEvent.detail)
            .where(AuditEvent.action != "login")
            .order_by(AuditEvent.id)
        ).all()
    assert json.loads(raw)["codigo"] == "HOM-01"
    writes = [(u, a, o) for u, a, o, _ in events if a in ("quarantine.correct", "batch.status")]
    assert writes == [
        ("ana", "quarantine.correct", str(row)),
        ("ana", "batch.status", str(seed.pn_batches[1])),
    ]
    detail = json.loads(events[-1][3])
    assert detail == {"from": "approved", "to": "published"}
    correction = json.loads(next(d for _, a, _, d in events if a == "quarantine.correct"))
    assert correction == {"codigo": {"from": "ZZZ", "to": "HOM-01"}}


def test_admin_creates_users_and_tokens(client, seeded):
    engine, _ = seeded
    assert login(client, "admin").status_code == 303
    h = _csrf_header(client)
    r = client.post(
        "/api/v1/users",
        json={"username": "newbie", "password": "x" * 12, "role": "viewer"},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["role"] == "viewer"
    r = client.post(
        "/api/v1/users",
        json={"username": "st2", "password": "x" * 12, "role": "steward"},
        headers=h,
    )
    assert r.status_code == 422 and "agency" in r.json()["detail"]
    r = client.post(
        "/api/v1/tokens", json={"name": "etl", "role": "steward", "agency_code": "PM"}, headers=h
    )
    assert r.status_code == 201
    body = r.json()
    token = body["token"]
    assert body["client"]["username"] == "api:etl" and body["info"]["revoked_at"] is None
    # the token is stored only as its SHA-256; the client account has no password
    import hashlib

    from talaia.store.models import ApiToken, AppUser

    with engine.connect() as conn:
        stored = conn.execute(select(ApiToken.token_hash)).scalars().all()
        pw = conn.execute(
            select(AppUser.password_hash).where(AppUser.username == "api:etl")
        ).scalar_one()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()] and pw is None
    # a fresh client with only the bearer token: steward of PM, no CSRF needed
    from fastapi.testclient import TestClient

    with TestClient(client.app, base_url="https://testserver") as bot:
        auth = {"Authorization": f"Bearer {token}"}
        me = bot.get("/api/v1/me", headers=auth).json()
        assert (me["role"], me["agency_code"], me["via"]) == ("steward", "PM", "token")
        assert {
            b["source_code"] for b in bot.get("/api/v1/batches", headers=auth).json()["items"]
        } == {"policia_metropolitana"}
        bad = {"Authorization": "Bearer " + token[:-2] + "xx"}
        assert bot.get("/api/v1/batches", headers=bad).status_code == 401
        # an API client cannot use the login form with its token
        assert login(bot, "api:etl", token).status_code == 401
    with engine.connect() as conn:
        actions = [a for (a,) in conn.execute(select(AuditEvent.action))]
    assert "user.create" in actions and "token.create" in actions


def test_problem_json_and_pagination(client):
    r = client.get("/api/v1/areas/NOPE")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["instance"] == "/api/v1/areas/NOPE"
    r = client.get("/api/v1/areas?limit=0")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "limit"
    p1 = client.get("/api/v1/areas?limit=2").json()
    assert p1["total"] == 3 and len(p1["items"]) == 2 and p1["next"]
    p2 = client.get(p1["next"]).json()
    assert [a["code"] for a in p1["items"] + p2["items"]] == ["XC", "XC01", "XC02"]
    assert p2["next"] is None
    geo = client.get("/api/v1/areas.geojson?level=2").json()
    assert [f["id"] for f in geo["features"]] == ["XC01", "XC02"]
    assert geo["features"][0]["geometry"]["type"] == "Polygon"


def test_openapi_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for p in (
        "/api/v1/indicators/{indicator_id}/values",
        "/api/v1/areas",
        "/api/v1/batches",
        "/api/v1/batches/{batch_id}/quarantine",
        "/api/v1/iccs",
        "/api/v1/sources",
        "/api/v1/uploads",
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
        "/api/v1/analysis/hotspots",
        "/api/v1/analysis/near-repeat",
        "/api/v1/analysis/concentration",
        "/api/v1/analysis/time",
    ):
        assert p in paths, p
    assert (
        "application/problem+json"
        in paths["/api/v1/batches/{batch_id}"]["get"]["responses"]["404"]["content"]
    )
    # no page of the API documentation loads assets from a CDN: the UI pages are off
    assert client.get("/docs").status_code == 404


def test_administration_pages(client, seeded):
    engine, _ = seeded
    from talaia.store.models import AppUser

    assert login(client, "admin").status_code == 303
    page = client.get("/admin").text
    for name in ("pn_steward", "Policía Metropolitana", "Data steward", "Audit log"):
        assert name in page
    r = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_of(client),
            "kind": "person",
            "username": "clerk",
            "password": "p" * 12,
            "role": "steward",
            "agency_code": "PM",
            "full_name": "Clerk",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with engine.connect() as conn:
        uid, role, agency = conn.execute(
            select(AppUser.id, AppUser.role_code, AppUser.agency_code).where(
                AppUser.username == "clerk"
            )
        ).one()
        admin_id = conn.execute(select(AppUser.id).where(AppUser.username == "admin")).scalar()
    assert (role, agency) == ("steward", "PM")
    # deactivate (checkbox absent) and make viewer
    r = client.post(
        f"/admin/users/{uid}",
        data={"csrf_token": csrf_of(client), "role": "viewer", "agency_code": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with engine.connect() as conn:
        active, role = conn.execute(
            select(AppUser.active, AppUser.role_code).where(AppUser.id == uid)
        ).one()
    assert (bool(active), role) == (False, "viewer")
    # an administrator cannot remove their own access
    r = client.post(
        f"/admin/users/{admin_id}",
        data={"csrf_token": csrf_of(client), "role": "viewer", "active": "1"},
    )
    assert r.status_code == 422
    r = client.post(
        "/admin/agencies",
        data={
            "csrf_token": csrf_of(client),
            "code": "FIS",
            "name": "Fiscalía",
            "kind": "prosecution",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and "Fiscalía" in client.get("/admin").text
    with engine.connect() as conn:
        actions = [
            a
            for (a,) in conn.execute(
                select(AuditEvent.action).where(AuditEvent.username == "admin")
            )
        ]
    assert {"user.create", "user.update", "agency.create"} <= set(actions)
