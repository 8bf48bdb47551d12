"""Independent readers of the demo output for the tests (not the generator's code)."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

POLICE = ("policia_nacional", "policia_metropolitana")
EVENT_SOURCES = (*POLICE, "medicina_legal")


def canonical(out: Path, source: str, name: str) -> pa.Table:
    """All months of one canonical table, with a ``month`` column."""
    parts = []
    for d in sorted((out / "canonical" / source).iterdir()):
        t = pq.read_table(d / f"{name}.parquet")
        parts.append(t.append_column("month", pa.array([d.name] * t.num_rows, pa.string())))
    return pa.concat_tables(parts)


def defects(out: Path) -> list[dict]:
    with open(out / "truth" / "defects.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@cache
def _raw_cached(path: str) -> tuple[tuple[str, ...], tuple[tuple, ...]]:
    p = Path(path)
    if p.suffix == ".csv":
        latin = "partes_" in p.name
        t = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(encoding="latin1" if latin else "utf8"),
            parse_options=pacsv.ParseOptions(delimiter=";" if latin else ","),
            convert_options=pacsv.ConvertOptions(
                column_types={},
                strings_can_be_null=True,
                auto_dict_encode=False,
                include_columns=None,
            ),
        )
        t = t.cast(pa.schema([pa.field(n, pa.string()) for n in t.column_names]))
        cols = tuple(t.column_names)
        return cols, tuple(zip(*[t.column(c).to_pylist() for c in cols], strict=True))
    if p.suffix == ".jsonl":
        rows = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
        cols = tuple(rows[0]) if rows else ()
        return cols, tuple(tuple(r.get(c) for c in cols) for r in rows)
    from openpyxl import load_workbook

    wb = load_workbook(p, read_only=True)
    rows = list(wb["Defunciones"].iter_rows(values_only=True))
    n = len(rows[0])
    return tuple(rows[0]), tuple(tuple(r) + (None,) * (n - len(r)) for r in rows[1:])


def raw_rows(path: Path) -> list[dict]:
    """Rows of a raw file as dicts; element i is file row i + 2 (CSV/XLSX) or line i + 1."""
    cols, rows = _raw_cached(str(path))
    return [dict(zip(cols, r, strict=True)) for r in rows]


def row_offset(path: Path) -> int:
    return 1 if path.suffix == ".jsonl" else 2
