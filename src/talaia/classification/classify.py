"""Classification of national offence codes to ICCS with a crosswalk version (issue 3, item 3).

One vectorized call over Arrow columns: :func:`classify` looks every record's national code up
in the crosswalk (``pyarrow.compute.index_in``), resolves codes that have a single
unconditional row with a NumPy gather, and evaluates the conditions of split codes only over
the records of those codes (:meth:`Condition.mask`, ``pyarrow.compute``). Python loops run
over crosswalk rows (metadata), never over records.

Every record gets a reason when it is not classified:

``missing_code``
    the record has no national code;
``unknown_code``
    its national code is not in the crosswalk;
``not_valid_on_date``
    no row of its code is valid on the record's date (a NULL date only matches rows without
    validity limits);
``no_condition_matched``
    rows are valid on that date but none of their conditions holds (possible only for a
    crosswalk that did not pass validation's gap check).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from talaia.classification.crosswalk import Crosswalk
from talaia.classification.iccs import Iccs, load_iccs

REASONS: tuple[str, ...] = (
    "missing_code",
    "unknown_code",
    "not_valid_on_date",
    "no_condition_matched",
)
_EPOCH = dt.date(1970, 1, 1)
_LO = np.iinfo(np.int64).min
_HI = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class Classification:
    """Result of :func:`classify`: one row per input record, in input order.

    ``table`` columns: ``national_code``, ``iccs_code``, ``iccs_l1`` .. ``iccs_l4``,
    ``mapping_type``, ``crosswalk_version`` (int32, null where not classified), ``sets`` (the
    canonical ``sets`` text applied), one ``set_<variable>`` column per event variable the
    crosswalk sets, ``crosswalk_row`` (spreadsheet row number that classified the record) and
    ``reason`` (null when classified).
    """

    crosswalk_code: str
    crosswalk_version: int
    table: pa.Table

    @property
    def num_records(self) -> int:
        return self.table.num_rows

    def classified_count(self) -> int:
        return self.table.num_rows - self.table.column("iccs_code").null_count

    def reason_counts(self) -> dict[str, int]:
        """Number of unclassified records per reason (reasons with none omitted)."""
        vc = pc.value_counts(self.table.column("reason").drop_null()).to_pylist()
        return {d["values"]: d["counts"] for d in vc}

    def unclassified(self) -> pa.Table:
        """The records that could not be classified, with their reason."""
        return self.table.filter(pc.is_valid(self.table.column("reason")))


def _days(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Days since 1970-01-01 as int64, nulls as a masked sentinel (returned separately)."""
    if pa.types.is_timestamp(values.type):
        values = pc.cast(pc.floor_temporal(values, unit="day"), pa.timestamp("s"))
        values = pc.cast(values, pa.date32())
    elif not pa.types.is_date32(values.type):  # ISO text or other date types
        values = pc.cast(values, pa.date32())
    ints = pc.cast(values, pa.int32())
    return np.asarray(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _date_days(d: dt.date | None, default: int) -> int:
    return default if d is None else (d - _EPOCH).days


def _combine(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        return a.combine_chunks() if a.num_chunks else pa.array([], a.type)
    return a


def classify(
    records: pa.Table,
    crosswalk: Crosswalk,
    version: int,
    *,
    code_column: str = "national_code",
    date_column: str | None = "date",
    iccs: Iccs | None = None,
) -> Classification:
    """Classify records with one crosswalk version, vectorized.

    Parameters
    ----------
    records
        One row per record: ``code_column`` (string), ``date_column`` (date32, timestamp or
        ISO string; the date that decides validity) and one column per condition field the
        crosswalk uses, named like the field (``incident.weapon``, ``victim.outcome``); build
        it from canonical tables with :func:`offence_inputs`.
    crosswalk
        A validated crosswalk.
    version
        Its version number in the store; written on every classified record.
    date_column
        ``None`` when there is no date: then only rows without validity limits apply.

    Raises
    ------
    KeyError
        When a column the crosswalk's conditions need is missing.
    """
    iccs = iccs or load_iccs()
    n = records.num_rows
    missing = [f for f in crosswalk.fields() if f not in records.column_names]
    if missing:
        raise KeyError(f"records lack the column(s) the conditions need: {', '.join(missing)}")
    nc = _combine(records.column(code_column)).cast(pa.string())
    rows = crosswalk.rows
    codes = crosswalk.national_codes()
    code_pos = {c: k for k, c in enumerate(codes)}
    by_code: list[list[int]] = [[] for _ in codes]
    for i, r in enumerate(rows):
        by_code[code_pos[r.national_code]].append(i)
    lo = np.array([_date_days(r.valid_from, _LO) for r in rows] + [_HI], dtype=np.int64)
    hi = np.array([_date_days(r.valid_to, _HI) for r in rows] + [_LO], dtype=np.int64)

    cidx = pc.index_in(nc, value_set=pa.array(codes, pa.string()))
    cidx_np = np.asarray(pc.fill_null(cidx, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    if date_column is None:
        day = np.zeros(n, dtype=np.int64)
        day_null = np.ones(n, dtype=bool)
    else:
        dcol = _combine(records.column(date_column))
        day = _days(dcol)
        day_null = np.asarray(pc.is_null(dcol).to_numpy(zero_copy_only=False), dtype=bool)

    def date_ok(row_ids: np.ndarray, d: np.ndarray, dnull: np.ndarray) -> np.ndarray:
        a, b = lo[row_ids], hi[row_ids]
        unlimited = (a == _LO) & (b == _HI)
        return np.where(dnull, unlimited, (d >= a) & (d <= b))

    # codes with one unconditional row: a gather; others: condition evaluation per code
    simple = np.full(len(codes) + 1, -1, dtype=np.int64)  # last slot: unknown code
    complex_codes = []
    for k, rids in enumerate(by_code):
        if len(rids) == 1 and crosswalk.conditions[rids[0]].always:
            simple[k] = rids[0]
        else:
            complex_codes.append(k)
    chosen = simple[cidx_np]  # -1 for unknown (index -1 -> last slot) and complex codes
    any_valid = np.zeros(n, dtype=bool)
    has_simple = chosen >= 0
    ok = date_ok(np.where(has_simple, chosen, len(rows)), day, day_null)
    any_valid |= has_simple & ok
    chosen = np.where(has_simple & ok, chosen, -1)

    if complex_codes:
        is_complex = np.zeros(len(codes) + 1, dtype=bool)
        is_complex[complex_codes] = True
        sel = np.nonzero(is_complex[cidx_np])[0]
        order = np.argsort(cidx_np[sel], kind="stable")
        sel = sel[order]
        sel_codes = cidx_np[sel]
        bounds = np.searchsorted(sel_codes, [*complex_codes, len(codes)])
        fields = list(crosswalk.fields())
        for j, k in enumerate(complex_codes):
            sub = sel[bounds[j] : bounds[j + 1]]
            if not len(sub):
                continue
            subt = records.select(fields).take(pa.array(sub)) if fields else None
            pick = np.full(len(sub), -1, dtype=np.int64)
            for rid in by_code[k]:
                dmask = date_ok(np.full(len(sub), rid), day[sub], day_null[sub])
                any_valid[sub] |= dmask
                cond = crosswalk.conditions[rid]
                if cond.always or subt is None:
                    cmask = np.ones(len(sub), dtype=bool)
                else:
                    cmask = np.asarray(cond.mask(subt).to_numpy(zero_copy_only=False), dtype=bool)
                hit = dmask & cmask & (pick < 0)
                pick[hit] = rid
            chosen[sub] = pick

    # outputs by gathering from per-row arrays
    idx = pa.array(chosen, mask=chosen < 0, type=pa.int64())
    iccs_code = pc.take(pa.array([r.iccs_code for r in rows], pa.string()), idx)
    mapping = pc.take(pa.array([r.mapping_type for r in rows], pa.string()), idx)
    sets_txt = pc.take(pa.array([r.sets for r in rows], pa.string()), idx)
    row_no = pc.take(pa.array([r.row_number for r in rows], pa.int32()), idx)
    version_arr = pc.if_else(
        pc.is_valid(idx), pa.scalar(version, pa.int32()), pa.scalar(None, pa.int32())
    )
    l1, l2, l3, l4 = iccs.path_arrays(iccs_code)

    # reason index into (None, *REASONS); later assignments win
    reason = np.zeros(n, dtype=np.int8)
    nc_null = np.asarray(pc.is_null(nc).to_numpy(zero_copy_only=False), dtype=bool)
    unclassified = chosen < 0
    known = cidx_np >= 0
    reason[unclassified & known & any_valid] = 1 + REASONS.index("no_condition_matched")
    reason[unclassified & known & ~any_valid] = 1 + REASONS.index("not_valid_on_date")
    reason[unclassified & ~known] = 1 + REASONS.index("unknown_code")
    reason[nc_null] = 1 + REASONS.index("missing_code")

    cols: dict[str, pa.Array] = {
        "national_code": nc,
        "iccs_code": iccs_code,
        "iccs_l1": l1,
        "iccs_l2": l2,
        "iccs_l3": l3,
        "iccs_l4": l4,
        "mapping_type": mapping,
        "crosswalk_version": version_arr,
        "sets": sets_txt,
    }
    for var in crosswalk.set_variables():
        vals = [dict(s).get(var) for s in crosswalk.sets]
        cols[f"set_{var}"] = pc.take(pa.array(vals, pa.string()), idx)
    cols["crosswalk_row"] = row_no
    cols["reason"] = pc.take(pa.array([None, *REASONS], pa.string()), pa.array(reason))
    return Classification(crosswalk.code, version, pa.table(cols))


def _first_by(table: pa.Table, key: str, columns: Sequence[str]) -> pa.Table:
    """First row per ``key`` after sorting by (key, external_id): one victim per key."""
    t = table.filter(pc.is_valid(table.column(key))).sort_by(
        [(key, "ascending"), ("external_id", "ascending")]
    )
    agg = t.group_by(key, use_threads=False).aggregate([(c, "first") for c in columns])
    return pa.table({**{c: agg.column(f"{c}_first") for c in columns}, key: agg.column(key)})


def offence_inputs(
    offence: pa.Table,
    incident: pa.Table,
    victim: pa.Table | None = None,
    fields: Sequence[str] = (),
) -> pa.Table:
    """Build :func:`classify`'s input from canonical tables (records/schema.py), in offence order.

    Columns: ``national_code``, ``date`` (the incident's ``occurred_from`` as a date) and one
    column per condition field. ``incident.*`` fields come from the offence's incident
    (``incident_ref`` = incident ``external_id``). ``victim.*`` fields come from the victim
    pointing at the offence (``offence_ref``); when none does, from a victim of the incident
    with no ``offence_ref``; several candidates: the lowest victim ``external_id``. No victim:
    NULL (not known).

    Raises
    ------
    ValueError
        When incident ``external_id`` s are not unique.
    """
    inc_fields = [f.split(".", 1)[1] for f in fields if f.startswith("incident.")]
    vic_fields = [f.split(".", 1)[1] for f in fields if f.startswith("victim.")]
    ids = incident.column("external_id")
    if pc.count_distinct(ids).as_py() != len(ids):
        raise ValueError("incident external_id values are not unique")
    base = pa.table(
        {
            "__i": pa.array(np.arange(offence.num_rows, dtype=np.int64)),
            "__off": offence.column("external_id"),
            "__inc": offence.column("incident_ref"),
            "national_code": offence.column("national_code"),
        }
    )
    inc = incident.select(["external_id", "occurred_from", *inc_fields])
    inc = inc.rename_columns(["__inc", "__occ", *[f"incident.{c}" for c in inc_fields]])
    t = base.join(inc, "__inc", join_type="left outer")
    if vic_fields:
        if victim is None:
            for c in vic_fields:
                t = t.append_column(f"victim.{c}", pa.nulls(t.num_rows, pa.string()))
        else:
            by_off = _first_by(victim, "offence_ref", vic_fields)
            by_off = by_off.rename_columns([f"__vo.{c}" for c in vic_fields] + ["__off"])
            no_ref = victim.filter(pc.is_null(victim.column("offence_ref")))
            by_inc = _first_by(no_ref, "incident_ref", vic_fields)
            by_inc = by_inc.rename_columns([f"__vi.{c}" for c in vic_fields] + ["__inc"])
            t = t.join(by_off, "__off", join_type="left outer")
            t = t.join(by_inc, "__inc", join_type="left outer")
            for c in vic_fields:
                t = t.append_column(
                    f"victim.{c}", pc.coalesce(t.column(f"__vo.{c}"), t.column(f"__vi.{c}"))
                )
    t = t.sort_by("__i")
    occ = t.column("__occ")
    date = pc.cast(occ, pa.date32()) if pa.types.is_timestamp(occ.type) else occ
    cols = {"national_code": t.column("national_code"), "date": date}
    for f in fields:
        cols[f] = t.column(f)
    return pa.table(cols)
