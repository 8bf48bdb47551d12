"""CLI: talaia iccs show/search, talaia crosswalk validate/load/versions/coverage/suggest."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from talaia.cli.main import app
from talaia.errors import DataError, NotFoundError
from talaia.store.canonical import load_canonical_tree, load_reference
from talaia.store.database import get_engine, upgrade

HEADER = (
    "national_code,national_label,iccs_code,mapping_type,condition,sets,valid_from,valid_to,notes\n"
)
GOOD = HEADER + (
    "HOM-01,Homicidio,0101,exact,,,,,\n"
    "LES-01,Lesiones,020111,narrower,victim.outcome = serious_injury,,,,\n"
    "LES-01,Lesiones,020112,narrower,victim.outcome != serious_injury,,,,\n"
    "VIF,Violencia intrafamiliar,02,broader,,,,,\n"
    "ROB,Robo,0401,exact,,,,,\n"
)

runner = CliRunner()


def test_iccs_show_and_search():
    r = runner.invoke(app, ["iccs", "show", "020111", "--lang", "es"])
    assert r.exit_code == 0 and "Agresión grave" in r.output and "0201" in r.output
    r = runner.invoke(app, ["iccs", "show", "9999"])
    assert isinstance(r.exception, NotFoundError)
    r = runner.invoke(app, ["iccs", "search", "secuestro", "--lang", "es"])
    assert r.exit_code == 0 and "020221" in r.output
    r = runner.invoke(app, ["iccs", "search", "qwertyuiop"])
    assert r.exit_code == 1


def test_validate(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    r = runner.invoke(app, ["crosswalk", "validate", str(good)])
    assert r.exit_code == 0 and "valid" in r.output and "warning" in r.output  # level 1 only
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("0401", "0499"), encoding="utf-8")
    r = runner.invoke(app, ["crosswalk", "validate", str(bad)])
    assert isinstance(r.exception, DataError) and "unknown_iccs_code" in r.output
    r = runner.invoke(app, ["crosswalk", "validate", str(tmp_path / "absent.csv")])
    assert isinstance(r.exception, NotFoundError)


@pytest.fixture
def store_url(tmp_path, handmade_out):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    engine = get_engine(url)
    upgrade(engine)
    load_reference(engine, handmade_out)
    load_canonical_tree(engine, handmade_out)
    engine.dispose()
    return url


def test_load_versions_coverage(tmp_path, store_url):
    f = tmp_path / "pn.csv"
    f.write_text(GOOD, encoding="utf-8")
    db = ["--database-url", store_url]
    r = runner.invoke(app, ["crosswalk", "validate", str(f), "--source", "policia_nacional", *db])
    assert isinstance(r.exception, DataError) and "XX-99" in r.output  # missing_code
    r = runner.invoke(app, ["crosswalk", "load", str(f), "--source", "policia_nacional", *db])
    assert r.exit_code == 0 and "version 1" in r.output
    r = runner.invoke(app, ["crosswalk", "load", str(f), "--source", "policia_nacional", *db])
    assert "version 1" in r.output
    f.write_text(GOOD.replace("ROB,Robo,0401", "ROB,Robo,0501"), encoding="utf-8")
    r = runner.invoke(app, ["crosswalk", "load", str(f), "--source", "policia_nacional", *db])
    assert "version 2" in r.output
    r = runner.invoke(app, ["crosswalk", "versions", *db])
    assert r.exit_code == 0 and "policia_nacional" in r.output
    out = tmp_path / "cov.csv"
    r = runner.invoke(
        app,
        [
            "crosswalk",
            "coverage",
            "--source",
            "policia_nacional",
            "--version",
            "1",
            "--out",
            str(out),
            *db,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "XX-99" in r.output and "unknown_code" in r.output
    text = out.read_text()
    assert text.splitlines()[0].startswith('"source_code","period","records"')
    assert '"2024-01",4,' in text
    r = runner.invoke(app, ["crosswalk", "coverage", "--source", "nope", *db])
    assert isinstance(r.exception, NotFoundError)


def test_suggest_then_load(tmp_path, store_url):
    f = tmp_path / "codes.csv"
    f.write_text(
        "national_code,national_label\nA1,Robo a mano armada\nA2,Furto de veículo\n",
        encoding="utf-8",
    )
    out = tmp_path / "review.csv"
    r = runner.invoke(app, ["crosswalk", "suggest", str(f), "--out", str(out)])
    assert r.exit_code == 0 and "0401" in r.output and out.exists()
    text = out.read_text(encoding="utf-8")
    assert "A2,Furto de veículo,050211," in text
    accepted = text.replace("0401,,", "0401,exact,").replace("050211,,", "050211,exact,")
    out.write_text(accepted, encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "crosswalk",
            "load",
            str(out),
            "--source",
            "policia_nacional",
            "--database-url",
            store_url,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "version 1" in r.output
