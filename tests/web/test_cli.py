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
