"""Integration: a small generated demo country, loaded into the store and the warehouse, keeps
every canonical record, and its coverage months agree with the demo's manifest."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow.parquet as pq
import pytest

from talaia.store.canonical import load_canonical_tree, load_reference
from talaia.store.status import source_months
from talaia.warehouse import rebuild

FACT = {
    "incident": "fact_incident",
    "offence": "fact_offence",
    "victim": "fact_victim",
    "perpetrator": "fact_perpetrator",
    "custody": "fact_custody",
}


def _months(a: str, b: str) -> list[dt.date]:
    y, m = int(a[:4]), int(a[5:7])
    out = []
    while (y, m) <= (int(b[:4]), int(b[5:7])):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@pytest.mark.slow
def test_small_demo_round_trip(store_engine, tmp_path):
    from talaia.demo import generate

    out = tmp_path / "demo"
    generate(out, seed=7, scale=0.01, years=(2023,))
    load_reference(store_engine, out)
    results = load_canonical_tree(store_engine, out)
    assert all(r.outcome == "loaded" for r in results)
    wh = tmp_path / "w.duckdb"
    rebuild(store_engine, wh)

    # every canonical row of every month folder is one fact row
    truth: dict[str, int] = dict.fromkeys(FACT, 0)
    for path in (out / "canonical").glob("*/*/*.parquet"):
        truth[path.stem] += pq.read_metadata(path).num_rows
    con = duckdb.connect(str(wh), read_only=True)
    got = {k: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for k, t in FACT.items()}
    assert got == truth
    assert truth["incident"] > 0 and truth["custody"] > 0
    # no fact row lost its area path or its period keys
    for t in FACT.values():
        assert (
            con.execute(
                f"SELECT count(*) FROM {t} WHERE area_l1 IS NULL OR period_month IS NULL"
            ).fetchone()[0]
            == 0
        )
    # coverage: expected months from the manifest; delivered = the month folders
    manifest = json.loads((out / "manifest.json").read_text())
    delivered = {
        (p.parent.name, dt.date(int(p.name[:4]), int(p.name[5:7]), 1))
        for p in (out / "canonical").glob("*/*")
    }
    expected = {
        (s["code"], m)
        for s in manifest["sources"]
        for m in _months(s["expected_from"], s["expected_to"] or s["expected_from"])
    }
    sm = con.execute(
        "SELECT source_code, period_month, expected, delivered, rows FROM source_month"
    ).fetchall()
    con.close()
    assert {(s, m) for s, m, e, d, _ in sm if d} == delivered
    assert {(s, m) for s, m, e, d, _ in sm if e} >= expected
    assert all(r is None for _, _, _, d, r in sm if not d)
    status = {
        (m.source_code, m.period_month, m.delivered, m.rows) for m in source_months(store_engine)
    }
    assert status == {(s, m, d, r) for s, m, _, d, r in sm}
