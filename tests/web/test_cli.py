"""``talaia users`` commands against a real SQLite store in a temporary data folder."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from talaia.cli.main import app


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    from talaia.settings import get_settings

    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TALAIA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_create_admin_then_list_and_login(data_dir):
    runner = CliRunner()
    r = runner.invoke(app, ["users", "create-admin", "chief", "--password", "a-long-password"])
    assert r.exit_code == 0, r.output
    assert "created administrator chief" in r.output
    r = runner.invoke(app, ["users", "list"])
    assert r.exit_code == 0 and "chief" in r.output and "administrator" in r.output
    # a short password and an unknown role are refused with one clear line
    r = runner.invoke(app, ["users", "create", "bob", "--role", "viewer", "--password", "short"])
    assert r.exit_code != 0
    r = runner.invoke(app, ["users", "create", "bob", "--role", "boss", "--password", "x" * 12])
    assert r.exit_code != 0
    # the account works with the store the CLI wrote
    from talaia.store.database import get_engine
    from talaia.web.services.users import authenticate

    engine = get_engine(f"sqlite:///{data_dir / 'talaia.sqlite'}")
    try:
        user = authenticate(engine, "chief", "a-long-password")
        assert user is not None and user.role == "administrator"
        assert authenticate(engine, "chief", "wrong-password") is None
    finally:
        engine.dispose()


def test_token_create_list_revoke(data_dir):
    from talaia.store.database import get_engine
    from talaia.web.services.tokens import resolve_token

    runner = CliRunner()
    r = runner.invoke(app, ["users", "create-admin", "chief", "--password", "a-long-password"])
    assert r.exit_code == 0, r.output
    # a client account api:etl with its own role, and a token issued to an existing person
    r = runner.invoke(app, ["users", "token", "etl", "--role", "analyst", "--expires-days", "30"])
    assert r.exit_code == 0, r.output
    etl = r.output.strip().splitlines()[-1]
    r = runner.invoke(app, ["users", "token", "laptop", "--user", "chief"])
    assert r.exit_code == 0, r.output
    chief = r.output.strip().splitlines()[-1]
    assert etl.startswith("tla_") and chief.startswith("tla_") and etl != chief
    r = runner.invoke(app, ["users", "token", "x", "--user", "nobody"])
    assert r.exit_code != 0 and "nobody" in r.output + str(r.exception)
    r = runner.invoke(app, ["users", "tokens"])
    assert r.exit_code == 0 and "etl" in r.output and "laptop" in r.output
    assert etl not in r.output and chief not in r.output
    engine = get_engine(f"sqlite:///{data_dir / 'talaia.sqlite'}")
    try:
        a, b = resolve_token(engine, etl), resolve_token(engine, chief)
        assert (a.username, a.role) == ("api:etl", "analyst")
        assert (b.username, b.role) == ("chief", "administrator")
        from talaia.web.services.tokens import list_tokens

        laptop = next(k for k in list_tokens(engine) if k.name == "laptop")
        r = runner.invoke(app, ["users", "revoke-token", str(laptop.id)])
        assert r.exit_code == 0 and "revoked" in r.output
        assert resolve_token(engine, chief) is None
        assert resolve_token(engine, etl) is not None
    finally:
        engine.dispose()
