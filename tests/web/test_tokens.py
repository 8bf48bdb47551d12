"""API tokens in the ``api_token`` table: hashed, shown once, revocable, expiring, audited;
the migration creates the same table as the model on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.web.conftest import login

from talaia.store.models import ApiToken, AppUser, AuditEvent
from talaia.web.services import tokens


def _uid(engine, username: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(AppUser.id).where(AppUser.username == username)).scalar_one()


def test_migration_matches_the_model(store_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from talaia.store.models import Base

    with store_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        cols = {c["name"] for c in __import__("sqlalchemy").inspect(conn).get_columns("api_token")}
    assert [d for d in diff if "api_token" in repr(d)] == []
    assert cols == {
        "id",
        "user_id",
        "name",
        "token_hash",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    }


def _problem_401(bot: TestClient, token: str) -> None:
    r = bot.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    r2 = bot.get("/api/v1/batches", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401  # a token that is not valid is refused, not taken as public
    assert r2.status_code == 401
    assert r2.headers["content-type"] == "application/problem+json"
    assert r2.json()["status"] == 401


def test_token_lifecycle(client, seeded):
    engine, _ = seeded
    token, info = tokens.create_token(engine, _uid(engine, "pn_steward"), "nightly", actor="t")
    assert token.startswith("tla_") and info.state() == "active" and info.last_used_at is None
    with engine.connect() as conn:
        row = conn.execute(select(ApiToken.token_hash)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash
    with TestClient(client.app, base_url="https://testserver") as bot:
        auth = {"Authorization": f"Bearer {token}"}
        me = bot.get("/api/v1/me", headers=auth).json()
        assert (me["username"], me["role"], me["via"]) == ("pn_steward", "steward", "token")
        # a steward's token sees only its own agency's batches
        sources = {
            b["source_code"] for b in bot.get("/api/v1/batches", headers=auth).json()["items"]
        }
        assert sources == {"policia_nacional"}
        assert tokens.get_token(engine, info.id).last_used_at is not None
        tokens.revoke_token(engine, info.id, actor="t")
        _problem_401(bot, token)
    assert tokens.get_token(engine, info.id).state() == "revoked"
    with engine.connect() as conn:
        events = conn.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.detail).where(
                AuditEvent.object_type == "api_token"
            )
        ).all()
    assert [(a, o) for a, o, _ in events] == [
        ("token.create", str(info.id)),
        ("token.revoke", str(info.id)),
    ]
    assert json.loads(events[0][2])["user"] == "pn_steward"


def test_expired_token_and_deactivated_user_are_refused(client, seeded):
    engine, _ = seeded
    uid = _uid(engine, "ana")
    token, info = tokens.create_token(engine, uid, "short", actor="t", expires_in_days=1)
    assert info.expires_at is not None
    with TestClient(client.app, base_url="https://testserver") as bot:
        auth = {"Authorization": f"Bearer {token}"}
        assert bot.get("/api/v1/batches", headers=auth).status_code == 200
        past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
        with engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == info.id).values(expires_at=past))
        _problem_401(bot, token)
        assert tokens.get_token(engine, info.id).state() == "expired"
        token2, _ = tokens.create_token(engine, uid, "other", actor="t")
        assert (
            bot.get("/api/v1/batches", headers={"Authorization": f"Bearer {token2}"}).status_code
            == 200
        )
        with engine.begin() as conn:
            conn.execute(update(AppUser).where(AppUser.id == uid).values(active=False))
        _problem_401(bot, token2)


def test_admin_api_lists_and_revokes_tokens(client, seeded):
    _engine, _ = seeded
    assert login(client, "admin").status_code == 303
    from tests.web.test_access import _csrf_header

    h = _csrf_header(client)
    r = client.post(
        "/api/v1/tokens",
        json={"name": "etl", "username": "viewer", "expires_in_days": 30},
        headers=h,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client"]["username"] == "viewer" and body["info"]["expires_at"]
    listed = client.get("/api/v1/tokens").json()
    assert [(k["name"], k["username"]) for k in listed] == [("etl", "viewer")]
    assert "token" not in listed[0] and "token_hash" not in listed[0]
    with TestClient(client.app, base_url="https://testserver") as bot:
        auth = {"Authorization": f"Bearer {body['token']}"}
        assert bot.get("/api/v1/me", headers=auth).json()["username"] == "viewer"
        # a viewer's token may not manage tokens
        assert bot.get("/api/v1/tokens", headers=auth).status_code == 403
        assert client.delete(f"/api/v1/tokens/{body['info']['id']}", headers=h).status_code == 204
        _problem_401(bot, body["token"])
    assert client.delete("/api/v1/tokens/999999", headers=h).status_code == 404
    # the admin page lists it as revoked
    assert "etl" in client.get("/admin").text
