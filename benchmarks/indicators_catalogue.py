"""Benchmark of the indicator engine (issue 5).

Builds a large synthetic warehouse (docs/contracts.md §6) in a temporary folder, then measures,
in the same run:

1. baseline: one bare DuckDB group-by (area_l3 x period_month x iccs_l2, COUNT(*)) over
   fact_offence;
2. the full catalogue for every level-3 area and every month of 10 years (one compute() per
   indicator, the period range 2014-01..2023-12), and its ratio to the baseline
   (target: within 20x);
3. one indicator for one area over the 10-year monthly series (target: under 100 ms; median
   of 7 runs, after one warm-up).

Usage: ``.venv/bin/python benchmarks/indicators_catalogue.py [--offences 4000000]
[--warehouse /tmp/bench.duckdb]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from talaia.indicators import catalogue, compute
from talaia.records.vocab import AGE_GROUPS, RELATIONSHIP, SITUATIONAL_CONTEXT, WEAPON

ICCS = np.array(
    [
        "0101",
        "0102",
        "020111",
        "020112",
        "020221",
        "02051",
        "02041",
        "030111",
        "030121",
        "040111",
        "040121",
        "050121",
        "050211",
        "050213",
        "050221",
        "060121",
        "070112",
    ]
)
ICCS_P = np.array([2, 1, 6, 12, 0.3, 1, 0.2, 1, 2, 14, 3, 10, 5, 3, 30, 3, 6.5])


def _choice(rng, values, n, p=None):
    values = np.asarray(values, dtype=object)
    return values[rng.choice(len(values), n, p=p)]


def build(path: Path, n_offences: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(path))
    regions, districts, munis = 5, 4, 10
    areas = []
    for r in range(regions):
        rc = f"R{r}"
        areas.append((rc, 1, None, rc, None, None))
        for d in range(districts):
            dc = f"{rc}D{d}"
            areas.append((dc, 2, rc, rc, dc, None))
            for m in range(munis):
                areas.append((f"{dc}M{m}", 3, dc, rc, dc, f"{dc}M{m}"))
    con.execute(
        "CREATE TABLE dim_area (area_code VARCHAR, name VARCHAR, level INTEGER, "
        "parent_code VARCHAR, area_l1 VARCHAR, area_l2 VARCHAR, area_l3 VARCHAR)"
    )
    con.executemany(
        "INSERT INTO dim_area VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(a[0], a[0], a[1], a[2], *a[3:]) for a in areas],
    )
    l3 = [a for a in areas if a[1] == 3]
    pop = pa.table(
        {
            "area_code": [a[0] for a in l3 for _ in range(10 * 2 * len(AGE_GROUPS))],
            "year": np.tile(np.repeat(np.arange(2014, 2024), 2 * len(AGE_GROUPS)), len(l3)),
            "sex": np.tile(np.repeat(["male", "female"], len(AGE_GROUPS)), 10 * len(l3)),
            "age_group": np.tile(AGE_GROUPS, 20 * len(l3)),
            "population": rng.integers(200, 4000, 20 * len(AGE_GROUPS) * len(l3)),
        }
    )
    con.register("pop_a", pop)
    con.execute(
        "CREATE TABLE population AS SELECT p.area_code, a.area_l1, a.area_l2, "
        "a.area_l3, p.year, p.sex, p.age_group, p.population FROM pop_a p "
        "JOIN dim_area a USING (area_code)"
    )
    sources = [("PN", "police"), ("IML", "forensic"), ("SPN", "prison")]
    con.execute(
        "CREATE TABLE source_month AS SELECT s.code AS source_code, s.code AS "
        "agency_code, s.kind AS source_kind, m::DATE AS period_month, true AS expected, "
        "NOT (s.code = 'PN' AND m = DATE '2019-04-01') AS delivered, "
        "row_number() OVER () AS batch_id, NULL::BIGINT AS rows FROM (VALUES "
        + ", ".join(f"('{c}', '{k}')" for c, k in sources)
        + ") s(code, kind), range(DATE '2014-01-01', DATE '2024-01-01', "
        "INTERVAL 1 MONTH) t(m)"
    )

    def facts(name: str, n: int, source: str, kind: str, extra: dict) -> None:
        base = {
            "source_code": np.full(n, source),
            "source_kind": np.full(n, kind),
            "day": rng.integers(0, 3652, n),
            "area_code": _choice(rng, [a[0] for a in l3], n),
            "iccs_code": ICCS[rng.choice(len(ICCS), n, p=ICCS_P / ICCS_P.sum())],
            "weapon": _choice(rng, [*WEAPON.tokens(), None], n),
            "situational_context": _choice(rng, [*SITUATIONAL_CONTEXT.tokens(), None], n),
            "location_type": _choice(rng, ["street", "residence", "commercial", None], n),
            "attempted": _choice(rng, ["completed", "attempted"], n, p=[0.9, 0.1]),
            "cyber_related": _choice(rng, [True, False, None], n, p=[0.05, 0.8, 0.15]),
            **extra,
        }
        con.register("raw_a", pa.table(base))
        con.execute(f"""
            CREATE TABLE {name} AS
            SELECT sm.batch_id, r.source_code, r.source_code AS agency_code, r.source_kind,
              d AS occurred_date, year(d) AS year, quarter(d) AS quarter, month(d) AS month,
              date_trunc('month', d)::DATE AS period_month, isoyear(d) AS iso_year,
              week(d) AS iso_week, isodow(d) AS dow, NULL::INTEGER AS hour,
              d::TIMESTAMP AS occurred_from, NULL::TIMESTAMP AS occurred_to,
              'day' AS occurred_precision, r.area_code, a.area_l1, a.area_l2, a.area_l3,
              NULL::DOUBLE AS lon, NULL::DOUBLE AS lat, r.iccs_code AS national_code,
              r.iccs_code, left(r.iccs_code, 2) AS iccs_l1,
              CASE WHEN length(r.iccs_code) >= 4 THEN left(r.iccs_code, 4) END AS iccs_l2,
              CASE WHEN length(r.iccs_code) >= 5 THEN left(r.iccs_code, 5) END AS iccs_l3,
              CASE WHEN length(r.iccs_code) >= 6 THEN left(r.iccs_code, 6) END AS iccs_l4,
              1 AS crosswalk_version, 'exact' AS mapping_type, r.location_type, r.attempted,
              r.weapon, r.situational_context, NULL AS motive, r.cyber_related,
              row_number() OVER () AS incident_id, r.* EXCLUDE (source_code, source_kind, day,
              area_code, iccs_code, weapon, situational_context, location_type, attempted,
              cyber_related)
            FROM (SELECT *, DATE '2014-01-01' + day::INTEGER AS d FROM raw_a) r
            JOIN dim_area a ON a.area_code = r.area_code
            JOIN source_month sm ON sm.source_code = r.source_code
              AND sm.period_month = date_trunc('month', r.d) AND sm.delivered
        """)
        con.unregister("raw_a")

    facts("fact_offence", n_offences, "PN", "police", {"offence_id": np.arange(n_offences)})
    nv = n_offences // 2
    person = {
        "sex": _choice(rng, ["male", "female", None], nv, p=[0.6, 0.38, 0.02]),
        "age_group": _choice(rng, [*AGE_GROUPS, None], nv),
        "relationship": _choice(rng, [*RELATIONSHIP.tokens(), None], nv),
        "citizenship": _choice(rng, ["national", "foreign"], nv),
        "outcome": _choice(rng, ["killed", "minor_injury", None], nv),
        "victim_id": np.arange(nv),
        "offence_id": np.arange(nv),
    }
    facts("fact_victim", nv, "PN", "police", person)
    nc = n_offences // 40
    facts(
        "fact_custody",
        nc,
        "SPN",
        "prison",
        {
            "custody_status": _choice(rng, ["pretrial", "sentenced", None], nc),
            "sex": _choice(rng, ["male", "female"], nc),
            "age_group": _choice(rng, AGE_GROUPS, nc),
            "citizenship": _choice(rng, ["national", "foreign"], nc),
            "custody_id": np.arange(nc),
        },
    )
    con.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--offences", type=int, default=4_000_000)
    ap.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="build the synthetic warehouse here (reused when it exists)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.warehouse or Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        if not path.exists():
            build(path, args.offences)
        con = duckdb.connect(str(path), read_only=True)
        sizes = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("fact_offence", "fact_victim", "fact_custody")
        }
        print(f"built in {time.perf_counter() - t0:.1f} s: {sizes}, 200 municipalities, 120 months")
        bare = "SELECT area_l3, period_month, iccs_l2, count(*) FROM fact_offence GROUP BY ALL"
        con.execute(bare).fetchall()  # warm-up
        t0 = time.perf_counter()
        con.execute(bare).fetchall()
        base = time.perf_counter() - t0
        print(f"baseline bare group-by over fact_offence: {base * 1000:.0f} ms")
        t0 = time.perf_counter()
        rows = 0
        per = {}
        for ind in catalogue():
            t1 = time.perf_counter()
            rows += compute(ind, period="2014-01..2023-12", level=3, warehouse=con).num_rows
            per[ind.id] = time.perf_counter() - t1
        full = time.perf_counter() - t0
        print(
            f"full catalogue ({len(per)} indicators) x 200 areas x 120 months: {full:.2f} s, "
            f"{rows} values; ratio to baseline {full / base:.1f}x (target <= 20x)"
        )
        slowest = sorted(per.items(), key=lambda kv: -kv[1])[:3]
        print("  slowest: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in slowest))
        compute("homicide_rate", area="R2D1M3", period="2014-01..2023-12", warehouse=con)
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            compute("homicide_rate", area="R2D1M3", period="2014-01..2023-12", warehouse=con)
            times.append(time.perf_counter() - t0)
        one = (
            "SELECT period_month, count(*) FROM fact_victim WHERE area_l3 = 'R2D1M3' "
            "AND iccs_l2 = '0101' AND source_kind = 'police' GROUP BY ALL"
        )
        bare_one = []
        for _ in range(7):
            t0 = time.perf_counter()
            con.execute(one).fetchall()
            bare_one.append(time.perf_counter() - t0)
        single = statistics.median(times)
        print(
            f"one indicator, one area, 120 monthly values: median {single * 1000:.0f} ms "
            f"(target < 100 ms); bare filtered group-by of the same series "
            f"{statistics.median(bare_one) * 1000:.0f} ms"
        )
        con.close()


if __name__ == "__main__":
    main()
