"""``talaia demo generate`` and the full ``talaia demo`` (real SQLite store, real DuckDB)."""

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from talaia.cli.main import app

from .readers import canonical


def test_demo_generate_command(tmp_path):
    res = CliRunner().invoke(
        app, ["demo", "generate", "--out", str(tmp_path / "d"), "--seed", "3", "--scale", "0.005"]
    )
    assert res.exit_code == 0, res.output
    man = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert man["seed"] == 3 and man["scale"] == 0.005
    bad = CliRunner().invoke(
        app, ["demo", "generate", "--out", str(tmp_path / "e"), "--scale", "0"]
    )
    assert bad.exit_code != 0


@pytest.mark.slow
def test_demo_end_to_end_headline_matches_truth(tmp_path, monkeypatch):
    from talaia.cli.demo import run_demo
    from talaia.settings import get_settings

    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TALAIA_DATABASE_URL", raising=False)
    monkeypatch.delenv("TALAIA_WAREHOUSE_PATH", raising=False)
    get_settings.cache_clear()
    try:
        head = run_demo(None, seed=5, scale=0.01, fresh=True, canonical=True).headline
    finally:
        get_settings.cache_clear()
    out = tmp_path / "data" / "demo"
    assert head.year == 2024
    assert head.missing == (("policia_metropolitana", "2021-07"),)
    vic = pq.read_table(out / "truth" / "victims.parquet").to_pylist()
    exp = {"police": 0, "forensic": 0}
    for v in vic:
        if v["iccs_code"] == "0101" and v["month"].startswith("2024"):
            kind = "forensic" if v["source_code"] == "medicina_legal" else "police"
            exp[kind] += v["count"]
    assert dict(head.homicide_victims) == exp
    pop = pq.read_table(out / "reference" / "population.parquet").to_pylist()
    assert head.population == sum(p["population"] for p in pop if p["year"] == 2024)
    fem = 0
    for s in ("policia_nacional", "policia_metropolitana"):
        off = canonical(out, s, "offence").to_pylist()
        fem += sum(
            1
            for o in off
            if o["national_code"] in ("FEM", "121-A") and o["month"].startswith("2024")
        )
    assert head.femicides == fem


def test_years_option_parses_consecutive_years():
    from talaia.cli.demo import parse_years
    from talaia.demo import DEFAULT_YEARS
    from talaia.errors import UserInputError

    assert parse_years("2021-2022") == (2021, 2022)
    assert parse_years("2019..2021") == (2019, 2020, 2021)
    assert parse_years("2023") == (2023,)
    assert parse_years(None) == tuple(DEFAULT_YEARS)
    for bad in ("2022-2021", "x", "2021-2022-2023"):
        with pytest.raises(UserInputError):
            parse_years(bad)


def test_an_existing_demo_is_kept_only_when_the_manifest_matches(out):
    from talaia.cli.demo import _same_manifest
    from talaia.demo import DEFAULT_YEARS

    from .conftest import SCALE, SEED

    assert _same_manifest(out, SEED, SCALE, tuple(DEFAULT_YEARS))
    assert not _same_manifest(out, SEED + 1, SCALE, tuple(DEFAULT_YEARS))
    assert not _same_manifest(out, SEED, SCALE * 2, tuple(DEFAULT_YEARS))
    assert not _same_manifest(out, SEED, SCALE, (2023, 2024))
    assert not _same_manifest(out / "nowhere", SEED, SCALE, tuple(DEFAULT_YEARS))


def test_demo_help_names_the_serve_options():
    res = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for opt in ("--serve", "--no-serve", "--port", "--host", "--canonical", "--years", "--fresh"):
        assert opt in res.output, opt


@pytest.mark.slow
@pytest.mark.postgres
def test_demo_fresh_empties_a_demo_only_postgres_store(tmp_path, monkeypatch, pg_url):
    """``--fresh`` on PostgreSQL: a store holding only the demo is emptied and loaded again
    (counts equal a first load, nothing doubled); one holding anything else is left whole."""
    from sqlalchemy import text

    from talaia.cli.demo import run_demo
    from talaia.errors import UserInputError
    from talaia.settings import get_settings
    from talaia.store.database import get_engine

    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TALAIA_DATABASE_URL", pg_url)
    monkeypatch.delenv("TALAIA_WAREHOUSE_PATH", raising=False)
    engine = get_engine(pg_url)

    def counts() -> tuple[int, ...]:
        with engine.connect() as c:
            return tuple(
                c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("batch", "incident", "app_user", "audit_event", "role")
            )

    get_settings.cache_clear()
    try:
        run_demo(None, seed=5, scale=0.005, fresh=True, canonical=True, years=(2024,))
        first = counts()
        assert first[0] > 0 and first[1] > 0 and first[4] == 4
        marker = "SELECT count(*) FROM audit_event WHERE action = 'test.marker'"
        with engine.begin() as c:  # a row only a real emptying removes
            c.execute(
                text(
                    "INSERT INTO audit_event (at, username, action) "
                    "VALUES (now(), 'admin', 'test.marker')"
                )
            )
        run_demo(None, seed=5, scale=0.005, fresh=True, canonical=True, years=(2024,))
        assert counts() == first  # emptied, then loaded again: nothing doubled
        with engine.connect() as c:
            assert c.execute(text(marker)).scalar_one() == 0
        with engine.begin() as c:  # something that is not the demo's
            c.execute(
                text(
                    "INSERT INTO app_user (username, role_code, active) "
                    "VALUES ('maria', 'analyst', true)"
                )
            )
        before = counts()
        with pytest.raises(UserInputError, match="user maria"):
            run_demo(None, seed=5, scale=0.005, fresh=True, canonical=True, years=(2024,))
        assert counts() == before  # nothing deleted
        assert (tmp_path / "data" / "demo" / "manifest.json").exists()  # files kept too
    finally:
        get_settings.cache_clear()
        engine.dispose()
