"""``talaia demo``, the main job, end to end through the CLI: generate, ingest the raw files with
their defects, refresh, publish, create the demo accounts, report — compared with the
generator's ground truth (``truth/defects.csv``, ``truth/victims.parquet``, the canonical tree)
— and serve the portal (a real uvicorn process on a free port)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from talaia.cli.main import app

from .readers import canonical, defects, raw_rows, row_offset

pytestmark = pytest.mark.slow

SOURCES = ("policia_nacional", "policia_metropolitana", "medicina_legal", "penitenciario")
ARGS = ["--scale", "0.02", "--seed", "11", "--years", "2021-2022"]
#: defect kind -> the ingestion rule that must quarantine it
RULE = {
    "impossible_date": "invalid_date",
    "unknown_code": "unknown_code",
    "outside_country": "coordinates_outside_country",
    "swapped_latlon": "coordinates_swapped",
}
#: raw id column of each source (the record's external id)
RAW_ID = {
    "policia_nacional": "numero_denuncia",
    "policia_metropolitana": "NRO_PARTE",
    "medicina_legal": "Protocolo",
    "penitenciario": "id_ingreso",
}
UNIT = {s: "custody" if s == "penitenciario" else "incident" for s in SOURCES}


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALAIA_")}
    env.update(TALAIA_DATA_DIR=str(data), TALAIA_LANGUAGE="en", COLUMNS="250")
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    from talaia.settings import get_settings

    data = tmp_path_factory.mktemp("main") / "data"
    mp = pytest.MonkeyPatch()
    for k in list(os.environ):
        if k.startswith("TALAIA_"):
            mp.delenv(k)
    for k, v in _env(data).items():
        if k.startswith("TALAIA_") or k == "COLUMNS":
            mp.setenv(k, v)
    get_settings.cache_clear()
    res = CliRunner().invoke(app, ["demo", "--no-serve", *ARGS])
    yield data, data / "demo", res
    mp.undo()
    get_settings.cache_clear()


def _table(output: str, first: str) -> dict[str, list[str]]:
    """Rows of the Rich table whose first cell is a source code: source -> cells."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if cells and cells[0] in SOURCES and first in line:
            rows[cells[0]] = cells
    return rows


def _n(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_demo_reports_what_ingestion_did_per_source(installed):
    _data, out, res = installed
    assert res.exit_code == 0, res.output
    part = res.output.split("What ingestion did")[1].split("Top quarantine reasons")[0]
    table = _table(part, "│")
    assert set(table) == set(SOURCES), res.output
    by_source: dict[str, list[dict]] = {s: [] for s in SOURCES}
    for d in defects(out):
        by_source[d["source_code"]].append(d)
    for s in SOURCES:
        cells = table[s]
        read, accepted, quar, dup, near = (_n(c) for c in cells[2:7])
        ds = by_source[s]
        kinds = Counter(d["kind"] for d in ds)
        canon = canonical(out, s, UNIT[s]).num_rows
        assert quar == sum(kinds[k] for k in RULE), s
        assert dup == kinds["exact_duplicate"], s
        assert read == canon + sum(d["action"] == "drop" for d in ds), s
        # near duplicates are kept and flagged for review, for every source (police by
        # distance; forensic and custody, without coordinates, by area, code and person)
        assert accepted == canon + kinds["near_duplicate"], s
        assert near == kinds["near_duplicate"], s
        assert read == accepted + quar + dup
    # the reasons it ranks are the injected defects, rule by rule
    from talaia.cli.demo import intake
    from talaia.store.database import get_engine

    for i in intake(get_engine()):
        got = Counter()
        for rule, _field, n in i.reasons:
            got[rule] += n
        want = Counter(RULE[d["kind"]] for d in by_source[i.source_code] if d["kind"] in RULE)
        assert got == want, i.source_code
    missing = [line for line in res.output.splitlines() if "policia_metropolitana" in line]
    assert any("2021-07" in line for line in missing)


def test_status_shows_the_undelivered_month_as_missing(installed):
    from talaia.store.database import get_engine
    from talaia.store.status import source_months

    res = CliRunner().invoke(app, ["status", "--source", "policia_metropolitana", "--missing"])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if "2021-07" in line]
    assert lines and "missing" in lines[0] and "—" in lines[0]
    months = {m.period_month.strftime("%Y-%m"): m for m in source_months(get_engine())}
    pm = [m for m in source_months(get_engine(), "policia_metropolitana")]
    assert [m.period_month.strftime("%Y-%m") for m in pm if m.state == "missing"] == ["2021-07"]
    gap = next(m for m in pm if m.period_month.strftime("%Y-%m") == "2021-07")
    assert gap.rows is None and gap.batch_id is None  # no data, never 0
    assert all(m.state == "delivered" for k, m in months.items() if k != "2021-07")


def _homicide_truth(out: Path) -> Counter:
    """True intentional-homicide victims per (source, year), plus the victims of the injected
    near duplicates of homicides, which ingestion keeps (flagged or not) and so counts."""
    want: Counter = Counter()
    for v in pq.read_table(out / "truth" / "victims.parquet").to_pylist():
        if v["iccs_code"].startswith("0101"):
            want[(v["source_code"], int(v["month"][:4]))] += v["count"]
    near = [d for d in defects(out) if d["kind"] == "near_duplicate"]
    for s in ("policia_nacional", "policia_metropolitana", "medicina_legal"):
        mine = [d for d in near if d["source_code"] == s]
        if not mine:
            continue
        off = canonical(out, s, "offence").to_pylist()
        hom = {o["incident_ref"] for o in off if o["iccs_code"].startswith("0101")}
        victims = Counter(v["incident_ref"] for v in canonical(out, s, "victim").to_pylist())
        for d in mine:
            path = out / d["file"]
            orig = raw_rows(path)[int(d["original_row"]) - row_offset(path)][RAW_ID[s]]
            if orig in hom:
                want[(s, int(path.stem.rsplit("_", 1)[1][:4]))] += victims[orig]
    return want


def test_warehouse_homicides_equal_the_truth(installed):
    data, out, _ = installed
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        got = Counter(
            {
                (s, int(y)): int(n)
                for s, y, n in con.execute(
                    "SELECT source_code, year, count(*) FROM fact_victim "
                    "WHERE iccs_l2 = '0101' GROUP BY 1, 2"
                ).fetchall()
            }
        )
    finally:
        con.close()
    want = _homicide_truth(out)
    assert sum(want.values()) > 20
    assert got == want


def test_demo_accounts_log_in_and_the_public_sees_published_values(installed):
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from talaia.store.database import get_engine
    from talaia.web.app import create_app
    from talaia.web.services.users import DEMO_USERS

    _data, out, res = installed
    engine = get_engine()
    with engine.connect() as c:
        status = Counter(s for (s,) in c.execute(text("SELECT status FROM batch")))
        audited = c.execute(
            text("SELECT count(*) FROM audit_event WHERE action = 'batch.status'")
        ).scalar()
    assert set(status) == {"published"}
    assert audited == 2 * status["published"]  # validated -> approved -> published
    web = create_app()
    for username, role, _agency, password in DEMO_USERS:
        with TestClient(web, base_url="https://testserver") as client:
            html = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)
            r = client.post(
                "/login",
                data={"username": username, "password": password, "csrf_token": token, "next": "/"},
                follow_redirects=False,
            )
            assert r.status_code in (302, 303), (username, r.status_code)
            me = client.get("/api/v1/me").json()
            assert me["role"] == role and me["username"] == username
    police = _homicide_truth(out)
    want = police[("policia_nacional", 2022)] + police[("policia_metropolitana", 2022)]
    with TestClient(web, base_url="https://testserver") as anon:
        r = anon.get("/api/v1/indicators/homicide_rate/values", params={"period": "2022"})
        assert r.status_code == 200, r.text
        row = r.json()["items"][0]
    assert row["disclosure"] == "ok" and row["coverage"] == "ok"
    assert row["numerator"] == want and row["value"] is not None and row["value"] > 0
    # the headline the command printed (indicator engine) says the same
    line = next(x for x in res.output.splitlines() if "2022 — police" in x)
    assert re.search(rf"{row['value']:.1f} \[[0-9.]+–[0-9.]+\] \({want:,}\) ok", line), line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_the_portal(installed):
    data, _out, _ = installed
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "talaia.cli.main", "demo", "--serve", "--port", str(port), *ARGS],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        for _ in range(600):  # up to ~5 min on a loaded machine; usually seconds
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert body == "ok", proc.stdout.read() if proc.poll() is not None else "no answer"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        try:
            output = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    # the second run kept the generated country and the loaded batches
    assert "already generated" in output
    assert f"http://127.0.0.1:{port}/" in output
