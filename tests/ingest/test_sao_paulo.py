"""The real São Paulo homicides file loads with its shipped profile (docs/examples/sao_paulo)."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from talaia.ingest.service import ingest_file

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "data" / "real"  # shared/ stands beside the repository
XLSX = REAL / "sao_paulo_homicides.xlsx"
MUNI = REAL / "sao_paulo_muni.geojson"
PROFILE = ROOT / "docs/examples/sao_paulo/profile.yaml"


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).lower().split())


def _independent_counts() -> Counter:
    """Counts by (municipality code, YYYY-MM) read with openpyxl and plain Python."""
    import openpyxl

    names = {}
    for f in json.loads(MUNI.read_text())["features"]:
        names[_fold(f["properties"]["name_muni"])] = f"BR-{int(f['properties']['code_muni'])}"
    names[_fold("Embu das Artes")] = names[_fold("Embu")]
    names[_fold("Biritiba Mirim")] = names[_fold("Biritiba-Mirim")]
    wb = openpyxl.load_workbook(XLSX, read_only=True)
    out: Counter = Counter()
    for row in wb.worksheets[0].iter_rows(min_row=2, values_only=True):
        out[(names[_fold(row[2])], row[1].strftime("%Y-%m"))] += 1
    wb.close()
    return out


@pytest.mark.slow
def test_sao_paulo_loads_counts_by_municipality_and_month(tmp_path, monkeypatch):
    from talaia.settings import get_settings
    from talaia.store.database import get_engine, upgrade

    monkeypatch.setenv("TALAIA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    engine = get_engine(f"sqlite:///{tmp_path / 's.sqlite'}")
    upgrade(engine)
    r = ingest_file(engine, XLSX, "ssp_sp_homicides", PROFILE, "tester")
    assert (r.outcome, r.rows_read, r.rows_accepted, r.rows_quarantined) == (
        "loaded",
        6214,
        6214,
        0,
    )
    with engine.connect() as c:
        got = Counter(
            {
                (a, m): n
                for a, m, n in c.execute(
                    text(
                        "SELECT i.area_code, strftime('%Y-%m', i.occurred_from), count(*) "
                        "FROM incident i GROUP BY 1, 2"
                    )
                )
            }
        )
        iccs = c.execute(text("SELECT iccs_code, count(*) FROM offence GROUP BY 1")).all()
        sex = dict(
            c.execute(
                text("SELECT coalesce(sex, 'unknown'), count(*) FROM victim GROUP BY 1")
            ).all()
        )
    assert got == _independent_counts()
    assert iccs == [("0101", 6214)]
    assert sex == {"male": 5514, "female": 520, "unknown": 180}
    again = ingest_file(engine, XLSX, "ssp_sp_homicides", PROFILE, "tester")
    assert again.outcome == "unchanged"
    get_settings.cache_clear()
