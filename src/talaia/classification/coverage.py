"""Coverage of a classification per source and period (issue 3, item 4).

For each group (by default source and period) and each ICCS level k = 1..4:

- record share: records whose ICCS code is at level k or deeper / all records;
- code share: distinct national codes all of whose records in the group are classified at
  level k or deeper / distinct national codes in the group (records without a national code
  count in the record share only).

A record not classified counts as not mapped at any level. Unmapped national codes are ranked
by how many records they hold. All aggregation is done with Arrow ``group_by``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from talaia.classification.iccs import Iccs, load_iccs


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """Coverage of one group.

    ``mapped_records[k-1]`` / ``mapped_codes[k-1]``: records / distinct codes mapped at ICCS
    level k or deeper.
    """

    group: tuple[object, ...]
    records: int
    codes: int
    mapped_records: tuple[int, int, int, int]
    mapped_codes: tuple[int, int, int, int]

    def record_share(self, level: int = 1) -> float | None:
        """Share of records mapped at ``level`` or deeper (``None`` when no records)."""
        return self.mapped_records[level - 1] / self.records if self.records else None

    def code_share(self, level: int = 1) -> float | None:
        """Share of distinct codes mapped at ``level`` or deeper (``None`` when no codes)."""
        return self.mapped_codes[level - 1] / self.codes if self.codes else None


@dataclass(frozen=True, slots=True)
class UnmappedCode:
    """A national code with records that were not classified."""

    group: tuple[object, ...]
    national_code: str | None
    national_label: str | None
    records: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class CoverageReport:
    """Coverage per group and the unmapped codes ranked by records (most first)."""

    by: tuple[str, ...]
    rows: tuple[CoverageRow, ...]
    unmapped: tuple[UnmappedCode, ...]

    def to_arrow(self) -> pa.Table:
        """One row per group: group columns, records, codes, and per level k
        ``records_mapped_lk``, ``record_share_lk``, ``codes_mapped_lk``, ``code_share_lk``."""
        cols: dict[str, list] = {b: [r.group[i] for r in self.rows] for i, b in enumerate(self.by)}
        cols["records"] = [r.records for r in self.rows]
        cols["codes"] = [r.codes for r in self.rows]
        for k in (1, 2, 3, 4):
            cols[f"records_mapped_l{k}"] = [r.mapped_records[k - 1] for r in self.rows]
            cols[f"record_share_l{k}"] = [r.record_share(k) for r in self.rows]
            cols[f"codes_mapped_l{k}"] = [r.mapped_codes[k - 1] for r in self.rows]
            cols[f"code_share_l{k}"] = [r.code_share(k) for r in self.rows]
        return pa.table(cols)

    def unmapped_to_arrow(self) -> pa.Table:
        """Unmapped codes: group columns, national_code, national_label, records, reason."""
        cols: dict[str, list] = {
            b: [u.group[i] for u in self.unmapped] for i, b in enumerate(self.by)
        }
        cols["national_code"] = [u.national_code for u in self.unmapped]
        cols["national_label"] = [u.national_label for u in self.unmapped]
        cols["records"] = [u.records for u in self.unmapped]
        cols["reason"] = [u.reason for u in self.unmapped]
        return pa.table(cols)


def month_period(dates: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``YYYY-MM`` text of dates or timestamps (null stays null)."""
    if pa.types.is_date32(dates.type):
        dates = pc.cast(dates, pa.timestamp("s"))
    return pc.strftime(dates, format="%Y-%m")


def coverage(
    table: pa.Table,
    by: Sequence[str] = ("source_code", "period"),
    *,
    iccs: Iccs | None = None,
) -> CoverageReport:
    """Coverage report of classified records.

    Parameters
    ----------
    table
        One row per record with ``national_code``, ``iccs_code`` (null = not classified), the
        ``by`` columns, and optionally ``national_label`` and ``reason`` (as produced by
        :func:`talaia.classification.classify.classify`, with the group columns appended).
    by
        Grouping columns (may be empty: one overall row).
    """
    iccs = iccs or load_iccs()
    by = tuple(by)
    level = pc.fill_null(iccs.level_array(table.column("iccs_code")), 0)
    work = {b: table.column(b) for b in by}
    work["__code"] = table.column("national_code")
    work["__n"] = (
        pa.array([1] * table.num_rows, pa.int64()) if table.num_rows else pa.array([], pa.int64())
    )
    for k in (1, 2, 3, 4):
        work[f"__m{k}"] = pc.cast(pc.greater_equal(level, k), pa.int64())
    work["__lvl"] = level
    t = pa.table(work)
    keys = list(by)
    rec = t.group_by(keys, use_threads=False).aggregate(
        [("__n", "sum")] + [(f"__m{k}", "sum") for k in (1, 2, 3, 4)]
    )
    codes = (
        t.filter(pc.is_valid(t.column("__code")))
        .group_by([*keys, "__code"], use_threads=False)
        .aggregate([("__lvl", "min")])
    )
    cw = {b: codes.column(b) for b in by}
    cw["__c"] = (
        pa.array([1] * codes.num_rows, pa.int64()) if codes.num_rows else pa.array([], pa.int64())
    )
    for k in (1, 2, 3, 4):
        cw[f"__cm{k}"] = pc.cast(pc.greater_equal(codes.column("__lvl_min"), k), pa.int64())
    cagg = (
        pa.table(cw)
        .group_by(keys, use_threads=False)
        .aggregate([("__c", "sum")] + [(f"__cm{k}", "sum") for k in (1, 2, 3, 4)])
    )
    code_stats = {tuple(r[b] for b in by): r for r in cagg.to_pylist()}
    rows = []
    for r in rec.to_pylist():
        g = tuple(r[b] for b in by)
        c = code_stats.get(g, {})
        rows.append(
            CoverageRow(
                group=g,
                records=r["__n_sum"],
                codes=c.get("__c_sum", 0) or 0,
                mapped_records=tuple(r[f"__m{k}_sum"] for k in (1, 2, 3, 4)),
                mapped_codes=tuple(c.get(f"__cm{k}_sum", 0) or 0 for k in (1, 2, 3, 4)),  # type: ignore[arg-type]
            )
        )
    rows.sort(key=lambda r: tuple("" if v is None else str(v) for v in r.group))

    um = {b: table.column(b) for b in by}
    um["national_code"] = table.column("national_code")
    label = (
        table.column("national_label")
        if "national_label" in table.column_names
        else pa.nulls(table.num_rows, pa.string())
    )
    reason = (
        table.column("reason")
        if "reason" in table.column_names
        else pa.nulls(table.num_rows, pa.string())
    )
    um["national_label"] = label
    um["reason"] = reason
    um["__n"] = work["__n"]
    ut = pa.table(um).filter(pc.equal(level, 0))
    uagg = ut.group_by([*keys, "national_code"], use_threads=False).aggregate(
        [("__n", "sum"), ("national_label", "first"), ("reason", "first")]
    )
    unmapped = [
        UnmappedCode(
            group=tuple(r[b] for b in by),
            national_code=r["national_code"],
            national_label=r["national_label_first"],
            records=r["__n_sum"],
            reason=r["reason_first"],
        )
        for r in uagg.to_pylist()
    ]
    unmapped.sort(key=lambda u: (-u.records, str(u.group), u.national_code or ""))
    return CoverageReport(by, tuple(rows), tuple(unmapped))
