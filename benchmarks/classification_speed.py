"""Speed of crosswalk classification: 1M records in one vectorized call.

Usage::

    .venv/bin/python benchmarks/classification_speed.py [--records 1000000] [--repeat 3]

Builds a synthetic crosswalk of 60 national codes (one of them split by a condition on
``victim.outcome``, one split on ``incident.weapon`` with ``sets``, one valid only from a date)
and N records drawn from those codes plus 1% unknown codes, then times

- ``talaia.classification.classify.classify`` (one call, all records), and
- a bare DuckDB equi-join of the same records to a one-row-per-code mapping table
  (``LEFT JOIN ... USING (national_code)``, fetched as Arrow): the baseline, same run, same data.

Prints records/s of both and the ratio (classify time / join time), best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

import duckdb
import numpy as np
import pyarrow as pa

from talaia.classification.crosswalk import Crosswalk, CrosswalkRow
from talaia.classification.iccs import load_iccs


def build_crosswalk() -> Crosswalk:
    iccs = [c.code for c in load_iccs() if c.level >= 3][:57]
    rows = []
    n = 2
    for i, code in enumerate(iccs):
        rows.append(
            CrosswalkRow(
                row_number=n, national_code=f"C{i:03d}", iccs_code=code, mapping_type="exact"
            )
        )
        n += 1
    rows += [
        CrosswalkRow(
            row_number=n,
            national_code="LES",
            iccs_code="020111",
            mapping_type="narrower",
            condition="victim.outcome = serious_injury",
        ),
        CrosswalkRow(
            row_number=n + 1,
            national_code="LES",
            iccs_code="020112",
            mapping_type="narrower",
            condition="victim.outcome != serious_injury",
        ),
        CrosswalkRow(
            row_number=n + 2,
            national_code="HOM",
            iccs_code="0101",
            mapping_type="exact",
            condition="incident.weapon = firearm",
            sets="situational_context=organized_crime",
        ),
        CrosswalkRow(
            row_number=n + 3,
            national_code="HOM",
            iccs_code="0101",
            mapping_type="exact",
            condition="incident.weapon != firearm",
        ),
        CrosswalkRow(
            row_number=n + 4,
            national_code="NEW",
            iccs_code="0502",
            mapping_type="exact",
            valid_from=dt.date(2022, 1, 1),
        ),
    ]
    return Crosswalk.from_rows("bench", rows)


def build_records(n: int, cw: Crosswalk, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    codes = np.array([*cw.national_codes(), "UNKNOWN"], dtype=object)
    p = np.full(len(codes), 0.99 / (len(codes) - 1))
    p[-1] = 0.01
    outcome = np.array(["killed", "serious_injury", "minor_injury", "unharmed", None], dtype=object)
    weapon = np.array(["firearm", "sharp_object", "other", None], dtype=object)
    days = rng.integers(0, 5 * 365, n)
    return pa.table(
        {
            "national_code": pa.array(rng.choice(codes, n, p=p), pa.string()),
            "date": pa.array(
                np.datetime64("2019-01-01") + days.astype("timedelta64[D]"), pa.date32()
            ),
            "victim.outcome": pa.array(rng.choice(outcome, n), pa.string()),
            "incident.weapon": pa.array(rng.choice(weapon, n), pa.string()),
        }
    )


def main(argv: list[str] | None = None) -> int:
    from talaia.classification.classify import classify

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    cw = build_crosswalk()
    records = build_records(args.records, cw)
    mapping = pa.table(
        {
            "national_code": pa.array(list(cw.national_codes()), pa.string()),
            "iccs_code": pa.array(
                [
                    next(r.iccs_code for r in cw.rows if r.national_code == c)
                    for c in cw.national_codes()
                ],
                pa.string(),
            ),
        }
    )
    con = duckdb.connect()
    con.register("records", records)
    con.register("mapping", mapping)
    t_cls, t_join = [], []
    result = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = classify(records, cw, 1)
        t_cls.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        joined = con.sql(
            "SELECT r.*, m.iccs_code FROM records r LEFT JOIN mapping m USING (national_code)"
        ).to_arrow_table()
        t_join.append(time.perf_counter() - t0)
        assert joined.num_rows == records.num_rows
    assert result is not None
    best_c, best_j = min(t_cls), min(t_join)
    n = records.num_rows
    print(
        f"records: {n:,}; crosswalk rows: {len(cw.rows)} ({len(cw.national_codes())} codes, "
        f"2 split by conditions, 1 dated)"
    )
    print(f"classified: {result.classified_count():,}; reasons: {result.reason_counts()}")
    print(f"classify (one vectorized call): {best_c:.3f} s  -> {n / best_c:,.0f} records/s")
    print(f"bare DuckDB join (baseline):    {best_j:.3f} s  -> {n / best_j:,.0f} records/s")
    print(f"ratio classify / join: {best_c / best_j:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
