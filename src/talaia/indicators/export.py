"""Export indicator results to CSV and to XLSX with a metadata sheet (openpyxl)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pyarrow as pa
from openpyxl import Workbook

from talaia.indicators.definitions import Indicator
from talaia.indicators.engine import provenance

_LIST_COLUMNS = ("batch_ids", "sources", "crosswalk_versions")


def _cell(v: object) -> object:
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _rows(table: pa.Table) -> list[list[object]]:
    cols = [table.column(c).to_pylist() for c in table.column_names]
    return [[_cell(v) for v in row] for row in zip(*cols, strict=True)]


def to_csv(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` as UTF-8 CSV (lists joined by spaces; missing values empty)."""
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(table.column_names)
        w.writerows(_rows(table))
    return path


def metadata_rows(ind: Indicator, table: pa.Table) -> list[tuple[str, str, str]]:
    """(field, English, Spanish) rows describing the indicator and the result's provenance."""
    prov = provenance(table)
    ref = ind.reference
    return [
        ("id", ind.id, ind.id),
        ("version", str(ind.version), str(ind.version)),
        ("name / nombre", ind.name.en, ind.name.es),
        ("definition / definición", ind.definition.en, ind.definition.es),
        ("unit / unidad", ind.unit, ind.unit),
        ("counting unit / unidad de conteo", ind.counting_unit, ind.counting_unit),
        ("SDG / ODS", ref.sdg or "", ref.sdg or ""),
        ("SDG series / serie ODS", ref.sdg_series or "", ref.sdg_series or ""),
        ("UN-CTS", ref.uncts or "", ref.uncts or ""),
        ("method note / nota metodológica", ind.method_note.en, ind.method_note.es),
        (
            "coverage / cobertura",
            "ok: every expected source-month delivered; partial: some missing (completeness %); "
            "no_data: nothing delivered (never 0)",
            "ok: todos los meses-fuente esperados entregados; partial: faltan algunos "
            "(completitud %); no_data: nada entregado (nunca 0)",
        ),
        ("batches / lotes", " ".join(map(str, prov.get("batch_ids", []))), ""),
        (
            "crosswalk versions / versiones de correspondencia",
            " ".join(map(str, prov.get("crosswalk_versions", []))),
            "",
        ),
    ]


def to_xlsx(table: pa.Table, ind: Indicator, path: str | Path) -> Path:
    """Write ``table`` to an XLSX workbook: sheet ``data`` and sheet ``metadata``."""
    path = Path(path)
    wb = Workbook(write_only=True)
    data = wb.create_sheet("data")
    data.append(table.column_names)
    for row in _rows(table):
        data.append(row)
    meta = wb.create_sheet("metadata")
    meta.append(["field / campo", "English", "Español"])
    for r in metadata_rows(ind, table):
        meta.append(list(r))
    wb.save(path)
    return path


def export(table: pa.Table, ind: Indicator, path: str | Path) -> Path:
    """CSV or XLSX according to the file extension."""
    p = Path(path)
    if p.suffix.lower() == ".xlsx":
        return to_xlsx(table, ind, p)
    return to_csv(table, p)
