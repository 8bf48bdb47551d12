"""The data commands of the CLI: init, db upgrade, warehouse refresh/rebuild, status."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from talaia.cli.main import app
from talaia.settings import get_settings
from talaia.store.canonical import load_canonical_tree, load_reference
from talaia.store.database import get_engine


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TALAIA_DATABASE_URL", raising=False)
    monkeypatch.delenv("TALAIA_WAREHOUSE_PATH", raising=False)
    monkeypatch.setenv("TALAIA_LANGUAGE", "en")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_init_status_and_warehouse(data_dir, handmade_out, monkeypatch):
    runner = CliRunner()
    res = runner.invoke(app, ["init"])
    assert res.exit_code == 0, res.output
    assert (data_dir / "talaia.sqlite").exists() and (data_dir / "warehouse.duckdb").exists()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = get_engine()
    load_reference(engine, handmade_out)
    load_canonical_tree(engine, handmade_out)
    res = runner.invoke(app, ["status"])
    assert res.exit_code == 0, res.output
    lines = {re.sub(r"\s+", " ", ln.strip("│ ")) for ln in res.output.splitlines()}
    assert any(ln.startswith("policia_nacional │ 2024-02 │ missing │ —") for ln in lines), lines
    assert "policia_nacional: 2 delivered, 1 missing" in res.output
    res = runner.invoke(app, ["warehouse", "refresh"])
    assert res.exit_code == 0 and "fact_incident: 4" in res.output, res.output
    res = runner.invoke(app, ["warehouse", "rebuild"])
    assert res.exit_code == 0 and "fact_custody: 3" in res.output, res.output
    monkeypatch.setenv("TALAIA_LANGUAGE", "es")
    get_settings.cache_clear()
    res = runner.invoke(app, ["status", "--missing"])
    assert "faltante" in res.output and "entregado │" not in res.output
