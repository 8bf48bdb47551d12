"""Crosswalk files: national offence codes -> ICCS (docs/contracts.md §5).

A crosswalk is a CSV (UTF-8, ``,`` or ``;`` separated) or XLSX sheet with the columns
``national_code, national_label, iccs_code, mapping_type, condition, sets, valid_from, valid_to,
notes``. This module reads such a file into :class:`RawRow` s (row numbers as a spreadsheet shows
them: the header is row 1), and defines the validated, immutable :class:`CrosswalkRow` (a
pydantic model) and :class:`Crosswalk`. Validation itself lives in
:mod:`talaia.classification.validation`; reading never raises on bad content, it only reports
:class:`Issue` s (a file that cannot be read at all is one ``unreadable_file`` error).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from talaia.classification.condition import Condition, parse_condition, parse_sets

COLUMNS: tuple[str, ...] = (
    "national_code",
    "national_label",
    "iccs_code",
    "mapping_type",
    "condition",
    "sets",
    "valid_from",
    "valid_to",
    "notes",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("national_code", "iccs_code", "mapping_type")
MAPPING_TYPES: tuple[str, ...] = ("exact", "broader", "narrower", "partial")
MappingType = Literal["exact", "broader", "narrower", "partial"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One validation finding.

    Attributes
    ----------
    severity
        ``error`` (the crosswalk is rejected whole) or ``warning`` (shown, accepted).
    kind
        Machine-readable kind, e.g. ``unknown_iccs_code``, ``overlap``, ``gap``.
    file
        File name the finding is about.
    row
        Spreadsheet row number (header = 1), ``None`` for findings about the whole file.
    column
        Column name, ``None`` when not about one column.
    message, message_es
        Explanation in English and Spanish.
    """

    severity: Severity
    kind: str
    file: str
    row: int | None
    column: str | None
    message: str
    message_es: str

    def where(self) -> str:
        """``file:row:column`` as far as known."""
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(self.column)
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}"


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row as read: cell texts by column (stripped; ``None`` when empty)."""

    row: int
    cells: tuple[tuple[str, str | None], ...]

    def get(self, column: str) -> str | None:
        for k, v in self.cells:
            if k == column:
                return v
        return None


@dataclass(frozen=True, slots=True)
class RawCrosswalk:
    """A crosswalk file as read, before validation."""

    file: str
    file_hash: str
    columns: tuple[str, ...]
    rows: tuple[RawRow, ...]
    issues: tuple[Issue, ...]


class CrosswalkRow(BaseModel):
    """A validated crosswalk row (immutable).

    ``condition`` and ``sets`` hold the canonical text (parsed and re-printed), so that two
    files that differ only in spacing give equal rows.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    row_number: int = Field(ge=1)
    national_code: str = Field(min_length=1, max_length=200)
    national_label: str | None = None
    iccs_code: str = Field(pattern=r"^[0-9]{2,8}$")
    mapping_type: MappingType
    condition: str | None = None
    sets: str | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    notes: str | None = None

    @field_validator("valid_from", "valid_to", mode="before")
    @classmethod
    def _iso_date(cls, v: object) -> object:
        if isinstance(v, str):
            return dt.date.fromisoformat(v.strip())  # strict ISO 8601 (YYYY-MM-DD)
        return v

    def parsed_condition(self) -> Condition:
        return parse_condition(self.condition)

    def parsed_sets(self) -> tuple[tuple[str, str], ...]:
        return parse_sets(self.sets)


@dataclass(frozen=True, slots=True)
class Crosswalk:
    """A validated crosswalk: its rows, with parsed conditions and sets.

    Only :func:`talaia.classification.validation.validate` builds one from a file; build it
    directly from rows already validated (e.g. read back from the store) with
    :meth:`from_rows`.
    """

    code: str
    rows: tuple[CrosswalkRow, ...]
    conditions: tuple[Condition, ...]
    sets: tuple[tuple[tuple[str, str], ...], ...]

    @classmethod
    def from_rows(cls, code: str, rows: Sequence[CrosswalkRow]) -> Crosswalk:
        rows = tuple(rows)
        return cls(
            code=code,
            rows=rows,
            conditions=tuple(r.parsed_condition() for r in rows),
            sets=tuple(r.parsed_sets() for r in rows),
        )

    def national_codes(self) -> tuple[str, ...]:
        """Distinct national codes in row order."""
        return tuple(dict.fromkeys(r.national_code for r in self.rows))

    def fields(self) -> tuple[str, ...]:
        """Every condition field used (what classification needs joined in)."""
        return tuple(dict.fromkeys(f for c in self.conditions for f in c.fields()))

    def set_variables(self) -> tuple[str, ...]:
        """Every event variable some row sets."""
        return tuple(dict.fromkeys(k for s in self.sets for k, _ in s))


def _issue(
    severity: Severity, kind: str, file: str, row: int | None, column: str | None, en: str, es: str
) -> Issue:
    return Issue(severity, kind, file, row, column, en, es)


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        v = v.date() if v.time() == dt.time() else v
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = str(v).strip()
    return s or None


def _read_csv_rows(data: bytes, name: str) -> tuple[list[list[str]], list[Issue]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [
            _issue(
                "error",
                "unreadable_file",
                name,
                None,
                None,
                f"not UTF-8 text (byte {exc.start}); save the file as UTF-8",
                f"no es texto UTF-8 (byte {exc.start}); guarde el archivo en UTF-8",
            )
        ]
    if "\x00" in text:
        return [], [
            _issue(
                "error",
                "unreadable_file",
                name,
                None,
                None,
                "binary content (NUL bytes): not a CSV file",
                "contenido binario (bytes NUL): no es un archivo CSV",
            )
        ]
    first = text.split("\n", 1)[0]
    delim = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True))
    except csv.Error as exc:
        return [], [
            _issue(
                "error",
                "unreadable_file",
                name,
                None,
                None,
                f"malformed CSV: {exc}",
                f"CSV mal formado: {exc}",
            )
        ]
    return rows, []


def _read_xlsx_rows(data: bytes, name: str) -> tuple[list[list[str | None]], list[Issue]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on corrupt files
        return [], [
            _issue(
                "error",
                "unreadable_file",
                name,
                None,
                None,
                f"not a readable XLSX workbook ({type(exc).__name__})",
                f"no es un libro XLSX legible ({type(exc).__name__})",
            )
        ]
    try:
        ws = wb.worksheets[0]
        rows = [[_cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    return rows, []


def read_crosswalk(source: str | Path | bytes, name: str | None = None) -> RawCrosswalk:
    """Read a crosswalk CSV or XLSX file (path or bytes) without validating its content.

    Parameters
    ----------
    source
        Path of the file, or its bytes (then ``name`` gives the file name and, by its suffix,
        the format; bytes starting with the ZIP signature are read as XLSX).
    name
        File name used in issues (defaults to the path's name).
    """
    if isinstance(source, bytes):
        data = source
        name = name or "crosswalk"
    else:
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            issue = _issue(
                "error",
                "unreadable_file",
                name,
                None,
                None,
                f"cannot read the file: {exc.strerror}",
                f"no se puede leer el archivo: {exc.strerror}",
            )
            return RawCrosswalk(name, "", (), (), (issue,))
    file_hash = hashlib.sha256(data).hexdigest()
    is_xlsx = name.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04"
    table: list[list[str | None]]
    if is_xlsx:
        table, issues = _read_xlsx_rows(data, name)
    else:
        csv_rows, issues = _read_csv_rows(data, name)
        table = [list(r) for r in csv_rows]
    if issues:
        return RawCrosswalk(name, file_hash, (), (), tuple(issues))
    # drop fully empty rows, remembering their numbers
    numbered = [
        (i + 1, r) for i, r in enumerate(table) if any(_cell_text(c) is not None for c in r)
    ]
    if not numbered:
        issue = _issue(
            "error",
            "empty_file",
            name,
            None,
            None,
            "the file has no header row",
            "el archivo no tiene fila de encabezado",
        )
        return RawCrosswalk(name, file_hash, (), (), (issue,))
    _, header_cells = numbered[0]
    header = [(_cell_text(c) or "").lower().replace(" ", "_") for c in header_cells]
    issues = []
    for col in REQUIRED_COLUMNS:
        if col not in header:
            issues.append(
                _issue(
                    "error",
                    "missing_column",
                    name,
                    1,
                    col,
                    f"required column {col!r} is missing",
                    f"falta la columna obligatoria {col!r}",
                )
            )
    seen: set[str] = set()
    for col in header:
        if col in seen and col:
            issues.append(
                _issue(
                    "error",
                    "duplicate_column",
                    name,
                    1,
                    col,
                    f"column {col!r} appears twice",
                    f"la columna {col!r} aparece dos veces",
                )
            )
        seen.add(col)
        if col and col not in COLUMNS:
            issues.append(
                _issue(
                    "warning",
                    "unknown_column",
                    name,
                    1,
                    col,
                    f"column {col!r} is not part of the format; ignored",
                    f"la columna {col!r} no es parte del formato; se ignora",
                )
            )
    rows = []
    for rownum, cells in numbered[1:]:
        if len(cells) > len(header) and any(_cell_text(c) for c in cells[len(header) :]):
            issues.append(
                _issue(
                    "error",
                    "extra_cells",
                    name,
                    rownum,
                    None,
                    f"{len(cells)} cells but the header has {len(header)}",
                    f"{len(cells)} celdas pero el encabezado tiene {len(header)}",
                )
            )
        vals = {h: _cell_text(c) for h, c in zip(header, cells, strict=False) if h in COLUMNS}
        rows.append(RawRow(rownum, tuple((c, vals.get(c)) for c in COLUMNS)))
    return RawCrosswalk(name, file_hash, tuple(header), tuple(rows), tuple(issues))


def write_crosswalk_csv(rows: Sequence[CrosswalkRow], path: str | Path) -> None:
    """Write rows in the contract's CSV format (UTF-8, comma separated)."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow(["" if (v := getattr(r, c)) is None else str(v) for c in COLUMNS])
