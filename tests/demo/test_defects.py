"""Every defect kind is present in the raw files, as listed, and absent from canonical."""

import csv
from collections import Counter
from datetime import datetime

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from .readers import POLICE, canonical, defects, raw_rows, row_offset

ALL_KINDS = {
    "exact_duplicate",
    "near_duplicate",
    "impossible_date",
    "unknown_code",
    "outside_country",
    "swapped_latlon",
    "missing_sex",
    "missing_age",
}
NO_XY = ALL_KINDS - {"outside_country", "swapped_latlon"}
DATE = {
    "policia_nacional": ("fecha_hecho", "%Y-%m-%d"),
    "policia_metropolitana": ("FECHA_HORA", "%d/%m/%Y %H:%M"),
    "medicina_legal": ("Fecha del hecho", "%d/%m/%Y"),
    "penitenciario": ("fecha_ingreso", "%Y-%m-%dT%H:%M:%S"),
}
CODE = {
    "policia_nacional": "codigo_delito",
    "policia_metropolitana": "ARTICULO",
    "medicina_legal": "Manera de muerte",
    "penitenciario": "delito_codigo",
}
XY = {"policia_nacional": ("longitud", "latitud"), "policia_metropolitana": ("COORD_X", "COORD_Y")}


def _country(out):
    t = pq.read_table(out / "reference" / "areas.parquet").to_pylist()
    return shapely.union_all([shapely.from_geojson(r["geometry"]) for r in t if r["level"] == 1])


def _crosswalk_codes(out, source):
    with open(out / "crosswalks" / f"{source}.csv", encoding="utf-8") as fh:
        return {r["national_code"] for r in csv.DictReader(fh)}


def _xy(row, source):
    x, y = (row[c] for c in XY[source])
    return float(x.replace(",", ".")), float(y.replace(",", "."))


def test_every_kind_present(out):
    kinds = {}
    for d in defects(out):
        kinds.setdefault(d["source_code"], set()).add(d["kind"])
    for s in POLICE:
        assert kinds[s] == ALL_KINDS
    assert kinds["medicina_legal"] == NO_XY
    assert kinds["penitenciario"] == NO_XY


def test_defects_are_in_the_raw_rows_listed(out):
    country = _country(out)
    for d in defects(out):
        s = d["source_code"]
        path = out / d["file"]
        rows = raw_rows(path)
        off = row_offset(path)
        row = rows[int(d["row"]) - off]
        kind = d["kind"]
        first_col = next(iter(row))
        assert row[first_col] == d["external_id"]
        if kind == "exact_duplicate":
            assert row == rows[int(d["original_row"]) - off]
        elif kind == "near_duplicate":
            orig = rows[int(d["original_row"]) - off]
            assert row[CODE[s]] == orig[CODE[s]] and row[first_col] != orig[first_col]
        elif kind == "impossible_date":
            col, fmt = DATE[s]
            value = row[col] if isinstance(row[col], str) else None
            assert value is not None
            with pytest.raises(ValueError):
                datetime.strptime(value, fmt)
        elif kind == "unknown_code":
            assert row[CODE[s]] not in _crosswalk_codes(out, s)
        elif kind == "outside_country":
            x, y = _xy(row, s)
            assert not shapely.intersects_xy(country, x, y)
        elif kind == "swapped_latlon":
            x, y = _xy(row, s)
            assert not shapely.intersects_xy(country, x, y)
            assert shapely.intersects_xy(country, y, x)
        elif kind in ("missing_sex", "missing_age"):
            assert row[d["field"]] in (None, "")
        else:  # pragma: no cover
            raise AssertionError(kind)


@pytest.mark.parametrize("source", (*POLICE, "medicina_legal", "penitenciario"))
def test_canonical_is_clean(out, source):
    codes = _crosswalk_codes(out, source)
    if source == "penitenciario":
        c = canonical(out, source, "custody")
        ids = c.column("external_id").to_pylist()
        assert set(c.column("national_code").to_pylist()) <= codes
        assert c.column("sex").null_count == 0 and c.column("age").null_count == 0
    else:
        inc = canonical(out, source, "incident")
        off = canonical(out, source, "offence")
        vic = canonical(out, source, "victim")
        ids = inc.column("external_id").to_pylist()
        assert set(off.column("national_code").to_pylist()) <= codes
        assert vic.column("sex").null_count == 0 and vic.column("age").null_count == 0
        if source in POLICE:
            lon = inc.column("lon").to_numpy()
            lat = inc.column("lat").to_numpy()
            assert shapely.intersects_xy(_country(out), lon, lat).all()
        # near duplicates (same code, area, within 10 minutes, ~10 m) are gone
        t = inc.column("occurred_from").to_numpy().astype("datetime64[s]").astype(np.int64)
        key = Counter(
            zip(
                off.column("national_code").to_pylist(),
                inc.column("area_code").to_pylist(),
                t // 600,
                strict=True,
            )
        )
        assert max(key.values()) <= 3
    assert len(ids) == len(set(ids))
