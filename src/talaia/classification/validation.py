"""Validation of crosswalk files (issue 3, item 2).

Every finding names the file, the spreadsheet row (header = row 1) and the column. Errors reject
the whole crosswalk; warnings are shown and accepted.

Errors: ``unreadable_file``, ``empty_file``, ``missing_column``, ``duplicate_column``,
``extra_cells``, ``missing_value``, ``unknown_iccs_code``, ``invalid_mapping_type``,
``invalid_date``, ``invalid_date_range``, ``condition_syntax``, ``unknown_field``,
``unknown_token`` (conditions and sets), ``duplicate_mapping`` (the same national code mapped
twice by rows with the same condition), ``overlap`` (two conditions of one code both true for
some record), ``gap`` (no condition of a code true for some record), ``missing_code`` (a code
used in the data but absent from the crosswalk).

Warnings: ``level1_only`` (mapping to an ICCS section only), ``partial_mapping``,
``unknown_column``, ``check_too_large``.

Overlaps and gaps are decided exactly: the fields a code's conditions use have finite
vocabularies (:data:`talaia.classification.condition.FIELDS`), each with NULL added as a value
to cover, and the validity periods are cut into elementary intervals, so every combination of
field values on every day is checked once.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from talaia.classification.condition import FIELDS, ConditionError, parse_condition, parse_sets
from talaia.classification.crosswalk import (
    MAPPING_TYPES,
    Crosswalk,
    CrosswalkRow,
    Issue,
    RawCrosswalk,
    read_crosswalk,
)
from talaia.classification.iccs import Iccs, load_iccs

#: Largest number of field-value combinations enumerated for one national code.
MAX_COMBINATIONS = 200_000


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Result of validating one crosswalk file.

    Attributes
    ----------
    file, file_hash
        File name and SHA-256 of its bytes.
    issues
        All findings, errors and warnings, in row order.
    crosswalk
        The validated crosswalk, ``None`` when there is any error.
    """

    file: str
    file_hash: str
    issues: tuple[Issue, ...]
    crosswalk: Crosswalk | None

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        return not self.errors

    def kinds(self) -> tuple[str, ...]:
        """Distinct kinds of the findings, in order."""
        return tuple(dict.fromkeys(i.kind for i in self.issues))


class _Collector:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[Issue] = []

    def add(
        self, severity: str, kind: str, row: int | None, column: str | None, en: str, es: str
    ) -> None:
        self.items.append(Issue(severity, kind, self.file, row, column, en, es))  # type: ignore[arg-type]


def _check_row(
    raw_get: Callable[[str], str | None], rownum: int, iccs: Iccs, out: _Collector
) -> dict[str, object] | None:
    """Check one row's cells; return the field dict for the pydantic model, or None on error."""
    ok = True
    values: dict[str, object] = {"row_number": rownum}
    code = raw_get("national_code")
    if code is None:
        out.add(
            "error",
            "missing_value",
            rownum,
            "national_code",
            "national_code is empty",
            "national_code está vacío",
        )
        ok = False
    values["national_code"] = code
    values["national_label"] = raw_get("national_label")
    values["notes"] = raw_get("notes")
    iccs_code = raw_get("iccs_code")
    if iccs_code is None:
        out.add(
            "error",
            "missing_value",
            rownum,
            "iccs_code",
            "iccs_code is empty",
            "iccs_code está vacío",
        )
        ok = False
    elif not iccs.is_code(iccs_code):
        hint = ""
        if iccs_code.isdigit() and iccs.is_code("0" + iccs_code):
            hint = f" (leading zero lost? {'0' + iccs_code} exists; format the column as text)"
        out.add(
            "error",
            "unknown_iccs_code",
            rownum,
            "iccs_code",
            f"{iccs_code!r} is not an ICCS v1.0 code{hint}",
            f"{iccs_code!r} no es un código ICCS v1.0{hint}",
        )
        ok = False
    else:
        values["iccs_code"] = iccs_code
        if iccs.level(iccs_code) == 1:
            out.add(
                "warning",
                "level1_only",
                rownum,
                "iccs_code",
                f"mapped to ICCS section {iccs_code} (level 1) only",
                f"asignado solo a la sección ICCS {iccs_code} (nivel 1)",
            )
    mtype = (raw_get("mapping_type") or "").lower()
    if mtype not in MAPPING_TYPES:
        out.add(
            "error",
            "invalid_mapping_type",
            rownum,
            "mapping_type",
            f"mapping_type {raw_get('mapping_type')!r} is not one of {', '.join(MAPPING_TYPES)}",
            f"mapping_type {raw_get('mapping_type')!r} no es uno de {', '.join(MAPPING_TYPES)}",
        )
        ok = False
    else:
        values["mapping_type"] = mtype
        if mtype == "partial":
            out.add(
                "warning",
                "partial_mapping",
                rownum,
                "mapping_type",
                "partial mapping: the national and ICCS categories only overlap",
                "correspondencia parcial: las categorías nacional e ICCS solo se solapan",
            )
    dates: dict[str, dt.date | None] = {}
    for col in ("valid_from", "valid_to"):
        text = raw_get(col)
        dates[col] = None
        if text is not None:
            try:
                dates[col] = dt.date.fromisoformat(text)
                if len(text) != 10:
                    raise ValueError
            except ValueError:
                out.add(
                    "error",
                    "invalid_date",
                    rownum,
                    col,
                    f"{text!r} is not an ISO date (YYYY-MM-DD)",
                    f"{text!r} no es una fecha ISO (AAAA-MM-DD)",
                )
                ok = False
        values[col] = dates[col]
    if dates["valid_from"] and dates["valid_to"] and dates["valid_from"] > dates["valid_to"]:
        out.add(
            "error",
            "invalid_date_range",
            rownum,
            "valid_to",
            "valid_to is before valid_from",
            "valid_to es anterior a valid_from",
        )
        ok = False
    for col in ("condition", "sets"):
        text = raw_get(col)
        try:
            if col == "condition":
                values[col] = parse_condition(text).text() or None
            else:
                values[col] = _sets_canon(parse_sets(text))
        except ConditionError as exc:
            out.add(
                "error",
                exc.kind,
                rownum,
                col,
                f"{exc.message} (at character {exc.position + 1} of {text!r})",
                f"{exc.message} (en el carácter {exc.position + 1} de {text!r})",
            )
            ok = False
    return values if ok else None


def _sets_canon(pairs: tuple[tuple[str, str], ...]) -> str | None:
    return "; ".join(f"{k}={v}" for k, v in pairs) or None


def _active_sets(rows: list[CrosswalkRow]) -> list[list[int]]:
    """Index sets of rows valid together on some day (elementary validity intervals)."""
    points = {dt.date.min}
    for r in rows:
        if r.valid_from:
            points.add(r.valid_from)
        if r.valid_to and r.valid_to < dt.date.max:
            points.add(r.valid_to + dt.timedelta(days=1))
    found: dict[tuple[int, ...], None] = {}
    for p in sorted(points):
        act = tuple(
            i
            for i, r in enumerate(rows)
            if (r.valid_from is None or r.valid_from <= p)
            and (r.valid_to is None or p <= r.valid_to)
        )
        if act:
            found[act] = None
    return [list(a) for a in found]


def _fmt_assignment(fields: tuple[str, ...], combo: tuple[str | None, ...]) -> str:
    return (
        ", ".join(f"{f}={'NULL' if v is None else v}" for f, v in zip(fields, combo, strict=True))
        or "always"
    )


def _check_group(code: str, rows: list[CrosswalkRow], out: _Collector) -> None:
    conds = [parse_condition(r.condition) for r in rows]
    reported_pairs: set[tuple[int, int]] = set()
    gap_reported = False
    for active in _active_sets(rows):
        if len(active) == 1 and conds[active[0]].always:
            continue
        fields = tuple(dict.fromkeys(f for i in active for f in conds[i].fields()))
        domains = [(*FIELDS[f], None) for f in fields]
        size = 1
        for d in domains:
            size *= len(d)
        if size > MAX_COMBINATIONS:
            out.add(
                "warning",
                "check_too_large",
                rows[active[0]].row_number,
                "condition",
                f"{code}: {size} value combinations, overlaps and gaps not checked",
                f"{code}: {size} combinaciones, solapamientos y vacíos no verificados",
            )
            continue
        gaps: list[tuple[str | None, ...]] = []
        for combo in itertools.product(*domains):
            assignment = dict(zip(fields, combo, strict=True))
            hits = [i for i in active if conds[i].matches(assignment)]
            if not hits:
                gaps.append(combo)
            for a, b in itertools.combinations(hits, 2):
                if (a, b) in reported_pairs:
                    continue
                reported_pairs.add((a, b))
                ra, rb = rows[a], rows[b]
                same = conds[a] == conds[b]
                kind = "duplicate_mapping" if same else "overlap"
                what = (
                    f"national code {code!r} is mapped twice (rows {ra.row_number} and "
                    f"{rb.row_number}) without disjoint conditions"
                )
                what_es = (
                    f"el código nacional {code!r} está asignado dos veces (filas "
                    f"{ra.row_number} y {rb.row_number}) sin condiciones disjuntas"
                )
                if not same:
                    ex = _fmt_assignment(fields, combo)
                    what += f"; both conditions hold for {ex}"
                    what_es += f"; ambas condiciones se cumplen para {ex}"
                out.add("error", kind, rb.row_number, "condition", what, what_es)
        if gaps and not gap_reported:
            gap_reported = True
            ex = _fmt_assignment(fields, gaps[0])
            rn = rows[active[0]].row_number
            out.add(
                "error",
                "gap",
                rn,
                "condition",
                f"the conditions of national code {code!r} leave {len(gaps)} value "
                f"combination(s) unmapped, e.g. {ex} (NULL = not known counts)",
                f"las condiciones del código nacional {code!r} dejan {len(gaps)} "
                f"combinación(es) sin asignar, p. ej. {ex} (NULL = no se sabe, cuenta)",
            )


def validate(
    raw: RawCrosswalk,
    *,
    code: str | None = None,
    data_codes: Mapping[str, int] | Iterable[str] | None = None,
    iccs: Iccs | None = None,
) -> ValidationReport:
    """Validate a crosswalk read by :func:`~talaia.classification.crosswalk.read_crosswalk`.

    Parameters
    ----------
    raw
        The file as read (its reading issues are kept).
    code
        Crosswalk code of the result (default: the file name without suffix).
    data_codes
        National codes used in the data (optionally with record counts): each one absent
        from the crosswalk is a ``missing_code`` error.
    iccs
        The classification (default: ICCS v1.0 from the package).
    """
    iccs = iccs or load_iccs()
    out = _Collector(raw.file)
    out.items.extend(raw.issues)
    good: list[CrosswalkRow] = []
    bad_codes: set[str] = set()
    if not any(i.kind in ("unreadable_file", "empty_file", "missing_column") for i in raw.issues):
        for r in raw.rows:
            values = _check_row(r.get, r.row, iccs, out)
            if values is None:
                if r.get("national_code"):
                    bad_codes.add(r.get("national_code"))  # type: ignore[arg-type]
                continue
            try:
                good.append(CrosswalkRow.model_validate(values))
            except ValidationError as exc:
                for e in exc.errors():
                    col = str(e["loc"][0]) if e["loc"] else None
                    out.add("error", "invalid_value", r.row, col, e["msg"], e["msg"])
        if not raw.rows:
            out.add(
                "error",
                "empty_file",
                None,
                None,
                "the crosswalk has no rows",
                "la tabla de correspondencia no tiene filas",
            )
        groups: dict[str, list[CrosswalkRow]] = {}
        for row in good:
            groups.setdefault(row.national_code, []).append(row)
        for ncode, rows in groups.items():
            if ncode not in bad_codes:
                _check_group(ncode, rows, out)
        if data_codes is not None:
            known = {r.get("national_code") for r in raw.rows}
            counts = data_codes if isinstance(data_codes, Mapping) else dict.fromkeys(data_codes)
            for dc in sorted(c for c in counts if c not in known):
                n = counts[dc]
                extra = f" ({n} records)" if n is not None else ""
                extra_es = f" ({n} registros)" if n is not None else ""
                out.add(
                    "error",
                    "missing_code",
                    None,
                    "national_code",
                    f"code {dc!r} is used in the data{extra} but missing from the crosswalk",
                    f"el código {dc!r} se usa en los datos{extra_es} pero falta en la tabla",
                )
    issues = tuple(sorted(out.items, key=lambda i: (i.row is not None, i.row or 0)))
    ok = not any(i.severity == "error" for i in issues)
    name = code or raw.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    cw = Crosswalk.from_rows(name, good) if ok else None
    return ValidationReport(raw.file, raw.file_hash, issues, cw)


def validate_file(path: str | Path, **kwargs: Any) -> ValidationReport:
    """Read and validate a crosswalk file (see :func:`validate` for the keyword arguments)."""
    return validate(read_crosswalk(path), **kwargs)
