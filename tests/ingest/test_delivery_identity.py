"""Delivery identity (source, period, file hash), ``talaia sources list|set-expected`` and
``talaia batches approve|publish``, through typer's CliRunner on a fresh SQLite store."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from tests.ingest.conftest import GOOD, HEADER, write_csv
from typer.testing import CliRunner

from talaia.cli.main import app

NOW = dt.datetime(2024, 6, 1)


@pytest.fixture
def cli(country, monkeypatch):
    """The country of conftest with a profile that accepts header-only deliveries."""
    from talaia.store.database import get_engine

    monkeypatch.setenv("COLUMNS", "250")  # wide tables, cells not truncated
    tmp, profile = country
    prof = profile()
    prof.write_text(prof.read_text() + "allow_empty: true\n")
    runner = CliRunner()

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args))

    yield tmp, prof, run, get_engine


def _lines(output: str, needle: str) -> list[str]:
    return [line for line in output.splitlines() if needle in line]


def test_identical_header_only_files_for_two_months_are_two_deliveries(cli):
    tmp, prof, run, get_engine = cli
    jan = write_csv(tmp / "jan.csv", [])
    feb = write_csv(tmp / "feb.csv", [])
    assert jan.read_bytes() == feb.read_bytes() == (",".join(HEADER) + "\n").encode()
    r = run("ingest", str(jan), "--profile", str(prof), "--period", "2024-01")
    assert r.exit_code == 0, r.output
    r = run("ingest", str(feb), "--profile", str(prof), "--period", "2024-02")
    assert r.exit_code == 0, r.output
    assert "unchanged" not in r.output
    # the same bytes for the same source and period: a no-op, said so
    r = run("ingest", str(feb), "--profile", str(prof), "--period", "2024-02")
    assert r.exit_code == 0 and "unchanged" in r.output, r.output
    engine = get_engine()
    with engine.connect() as c:
        batches = c.execute(
            text("SELECT period_start, rows_read, rows_accepted FROM batch ORDER BY id")
        ).all()
    assert [(str(a), n, m) for a, n, m in batches] == [
        ("2024-01-01", 0, 0),
        ("2024-02-01", 0, 0),
    ]
    # January to March are due: two real zeros (delivered, nothing reported), March missing
    r = run("sources", "set-expected", "test_police", "--from", "2024-01", "--to", "2024-03")
    assert r.exit_code == 0, r.output
    r = run("status", "--source", "test_police")
    assert r.exit_code == 0, r.output
    for month in ("2024-01", "2024-02"):
        (line,) = _lines(r.output, month)
        cells = [c.strip() for c in line.split("│") if c.strip()]
        assert cells[2:4] == ["delivered", "0"], line
    (line,) = _lines(r.output, "2024-03")
    cells = [c.strip() for c in line.split("│") if c.strip()]
    assert cells[2:4] == ["missing", "—"], line
    assert "test_police: 2 delivered, 1 missing" in r.output


def test_sources_list_and_set_expected_audited(cli):
    tmp, prof, run, get_engine = cli
    from talaia.store.database import upgrade

    r = run("sources", "list")  # no store yet: one line saying what to do
    assert r.exit_code != 0 and "talaia init" in str(r.exception)
    upgrade(get_engine())
    r = run("sources", "list")
    assert r.exit_code == 0 and "No sources registered" in r.output, r.output
    f = write_csv(tmp / "m.csv", GOOD)
    assert run("ingest", str(f), "--profile", str(prof), "--period", "2024-03").exit_code == 0
    r = run("sources", "list")
    assert r.exit_code == 0, r.output
    (line,) = _lines(r.output, "test_police")
    cells = [c.strip() for c in line.split("│") if c.strip()]
    assert cells == ["test_police", "TP", "police", "—", "1"]
    r = run("sources", "set-expected", "test_police", "--from", "2024-02", "--user", "ana")
    assert r.exit_code == 0, r.output
    (line,) = _lines(run("sources", "list").output, "test_police")
    assert "2024-02 – open" in line
    # open-ended: due from February to the latest delivered month (March)
    r = run("status", "--source", "test_police")
    assert [m for m in ("2024-02", "2024-03") if _lines(r.output, m)] == ["2024-02", "2024-03"]
    assert "missing" in _lines(r.output, "2024-02")[0]
    assert "delivered" in _lines(r.output, "2024-03")[0]
    with get_engine().connect() as c:
        ev = c.execute(
            text(
                "SELECT username, object_id, detail FROM audit_event "
                "WHERE action = 'source.expected'"
            )
        ).all()
    assert [(u, o) for u, o, _ in ev] == [("ana", "test_police")]
    assert json.loads(ev[0][2]) == {"from": [None, None], "to": ["2024-02-01", None]}
    # errors: unknown source, bad month, --to before --from
    r = run("sources", "set-expected", "nope", "--from", "2024-01")
    assert r.exit_code != 0 and "nope" in str(r.exception)
    r = run("sources", "set-expected", "test_police", "--from", "2024-13")
    assert r.exit_code != 0 and "2024-13" in str(r.exception)
    r = run("sources", "set-expected", "test_police", "--from", "2024-05", "--to", "2024-01")
    assert r.exit_code != 0 and "before" in str(r.exception)


def test_batches_approve_and_publish_through_the_portal_service(cli):
    from talaia.web.services.users import create_user

    tmp, prof, run, get_engine = cli
    april = [["C1", "07/04/2024 09:00", "S1", "-69.5", "9.5", "ROB", "F", "41", ""]]
    for month, rows in (("2024-03", GOOD), ("2024-04", april)):
        f = write_csv(tmp / f"{month}.csv", rows)
        r = run("ingest", str(f), "--profile", str(prof), "--period", month)
        assert r.exit_code == 0, r.output
    engine = get_engine()
    create_user(engine, "ana", "a-long-password-1", "analyst", actor="test")
    create_user(engine, "vic", "a-long-password-2", "viewer", actor="test")

    def status() -> dict[int, str]:
        with engine.connect() as c:
            return dict(c.execute(text("SELECT id, status FROM batch ORDER BY id")).all())

    assert status() == {1: "validated", 2: "validated"}  # ingestion validated them
    r = run("batches", "approve", "1", "--user", "vic")  # a viewer may not
    assert r.exit_code != 0 and "vic" in str(r.exception)
    r = run("batches", "approve", "1", "--user", "nobody")
    assert r.exit_code != 0 and "nobody" in str(r.exception)
    assert status() == {1: "validated", 2: "validated"}
    r = run("batches", "approve", "1", "--user", "ana")
    assert r.exit_code == 0, r.output
    assert status() == {1: "approved", 2: "validated"}
    r = run("batches", "publish", "1", "2", "--user", "ana")
    assert r.exit_code == 0, r.output
    assert status() == {1: "published", 2: "published"}
    r = run("batches", "approve", "1", "--user", "ana")  # published: not back by approve
    assert r.exit_code != 0 and "published" in str(r.exception)
    r = run("batches", "publish", "9", "--user", "ana")
    assert r.exit_code != 0 and "9" in str(r.exception)
    with engine.connect() as c:
        ev = c.execute(
            text(
                "SELECT username, object_id, detail FROM audit_event "
                "WHERE action = 'batch.status' ORDER BY id"
            )
        ).all()
    steps = [(u, o, json.loads(d)["to"]) for u, o, d in ev]
    assert steps == [
        ("ana", "1", "approved"),
        ("ana", "1", "published"),
        ("ana", "2", "approved"),
        ("ana", "2", "published"),
    ]
    # the listing still works without a sub-command
    r = run("batches")
    assert r.exit_code == 0 and r.output.count("published") == 2, r.output
