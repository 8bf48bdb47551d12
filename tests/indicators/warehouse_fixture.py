"""A small hand-made warehouse (docs/contracts.md §6) whose indicator values are worked out by
hand in the tests. Areas: R1 > D1 > {M1 (100,000 inhabitants), M2 (50,000)}; R2 > D2 > M3
(200,000); half women, half men, ages 20-24 and 25-29. Sources: PN (police, every month of
2022-2023 expected, 2023-03 never delivered), IML (forensic, all delivered), SPN (prison).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

AREAS = [  # code, level, parent, l1, l2, l3
    ("R1", 1, None, "R1", None, None),
    ("D1", 2, "R1", "R1", "D1", None),
    ("M1", 3, "D1", "R1", "D1", "M1"),
    ("M2", 3, "D1", "R1", "D1", "M2"),
    ("R2", 1, None, "R2", None, None),
    ("D2", 2, "R2", "R2", "D2", None),
    ("M3", 3, "D2", "R2", "D2", "M3"),
]
POP = {"M1": 100_000, "M2": 50_000, "M3": 200_000}
SOURCES = {"PN": ("PN", "police"), "IML": ("IML", "forensic"), "SPN": ("SPN", "prison")}
MONTHS = [date(y, m, 1) for y in (2022, 2023) for m in range(1, 13)]
MISSING = {("PN", date(2023, 3, 1))}

COMMON = [
    ("batch_id", pa.int64()),
    ("source_code", pa.string()),
    ("agency_code", pa.string()),
    ("source_kind", pa.string()),
    ("occurred_date", pa.date32()),
    ("year", pa.int32()),
    ("quarter", pa.int32()),
    ("month", pa.int32()),
    ("period_month", pa.date32()),
    ("iso_year", pa.int32()),
    ("iso_week", pa.int32()),
    ("dow", pa.int32()),
    ("hour", pa.int32()),
    ("occurred_from", pa.timestamp("s")),
    ("occurred_to", pa.timestamp("s")),
    ("occurred_precision", pa.string()),
    ("area_code", pa.string()),
    ("area_l1", pa.string()),
    ("area_l2", pa.string()),
    ("area_l3", pa.string()),
    ("lon", pa.float64()),
    ("lat", pa.float64()),
    ("national_code", pa.string()),
    ("iccs_code", pa.string()),
    ("iccs_l1", pa.string()),
    ("iccs_l2", pa.string()),
    ("iccs_l3", pa.string()),
    ("iccs_l4", pa.string()),
    ("crosswalk_version", pa.int32()),
    ("mapping_type", pa.string()),
    ("location_type", pa.string()),
    ("attempted", pa.string()),
    ("weapon", pa.string()),
    ("situational_context", pa.string()),
    ("motive", pa.string()),
    ("cyber_related", pa.bool_()),
    ("incident_id", pa.int64()),
]
PERSON = [
    ("sex", pa.string()),
    ("age", pa.int16()),
    ("age_group", pa.string()),
    ("relationship", pa.string()),
    ("citizenship", pa.string()),
]
SCHEMAS = {
    "fact_incident": pa.schema(COMMON),
    "fact_offence": pa.schema([*COMMON, ("offence_id", pa.int64())]),
    "fact_victim": pa.schema(
        [
            *COMMON,
            ("offence_id", pa.int64()),
            ("victim_id", pa.int64()),
            *PERSON,
            ("outcome", pa.string()),
        ]
    ),
    "fact_perpetrator": pa.schema(
        [
            *COMMON,
            ("offence_id", pa.int64()),
            ("perpetrator_id", pa.int64()),
            *PERSON,
            ("person_key", pa.string()),
            ("recidivist", pa.bool_()),
        ]
    ),
    "fact_custody": pa.schema(
        [
            *COMMON,
            ("custody_id", pa.int64()),
            ("person_key", pa.string()),
            ("facility_code", pa.string()),
            ("custody_status", pa.string()),
            ("sex", pa.string()),
            ("age", pa.int16()),
            ("age_group", pa.string()),
            ("citizenship", pa.string()),
            ("released_at", pa.timestamp("s")),
        ]
    ),
}
_PATH = {a[0]: a[3:] for a in AREAS}
_BATCH = {(s, m): i + 1 for i, (s, m) in enumerate((s, m) for s in SOURCES for m in MONTHS)}


def row(
    source: str,
    area: str,
    day: date,
    iccs: str | None = None,
    incident_id: int = 0,
    **values: object,
) -> dict[str, object]:
    """One fact row with its keys derived from ``source``, ``area``, ``day`` and ``iccs``."""
    agency, kind = SOURCES[source]
    iy, iw, dow = day.isocalendar()
    l1, l2, l3 = _PATH[area]
    r: dict[str, object] = {
        "batch_id": _BATCH[(source, date(day.year, day.month, 1))],
        "source_code": source,
        "agency_code": agency,
        "source_kind": kind,
        "occurred_date": day,
        "year": day.year,
        "quarter": (day.month - 1) // 3 + 1,
        "month": day.month,
        "period_month": date(day.year, day.month, 1),
        "iso_year": iy,
        "iso_week": iw,
        "dow": dow,
        "occurred_precision": "day",
        "area_code": area,
        "area_l1": l1,
        "area_l2": l2,
        "area_l3": l3,
        "iccs_code": iccs,
        "crosswalk_version": 1,
        "mapping_type": "exact",
        "incident_id": incident_id,
    }
    if iccs:
        for lvl, n in ((1, 2), (2, 4), (3, 5), (4, 6)):
            r[f"iccs_l{lvl}"] = iccs[:n] if len(iccs) >= n else None
    r.update(values)
    return r


def _homicides() -> list[dict[str, object]]:
    v = []
    d = date
    # M1 2023 (police): 5 victims, 3 women (2 femicides), 3 by firearm
    v += [
        row(
            "PN",
            "M1",
            d(2023, 1, 10),
            "0101",
            sex="male",
            age_group="20-24",
            weapon="firearm",
            relationship="stranger",
        ),
        row(
            "PN",
            "M1",
            d(2023, 2, 5),
            "0101",
            sex="female",
            age_group="25-29",
            weapon="sharp_object",
            relationship="current_partner",
        ),
        row(
            "PN",
            "M1",
            d(2023, 5, 20),
            "0101",
            sex="female",
            age_group="20-24",
            weapon="firearm",
            situational_context="intimate_partner_family",
        ),
        row("PN", "M1", d(2023, 7, 1), "0101", sex="male", age_group="25-29", weapon="firearm"),
        row(
            "PN",
            "M1",
            d(2023, 11, 30),
            "0101",
            sex="female",
            age_group="20-24",
            weapon="other",
            relationship="stranger",
        ),
    ]
    # M1 2022: 2 men
    v += [
        row("PN", "M1", d(2022, 6, 1), "0101", sex="male", weapon="firearm"),
        row("PN", "M1", d(2022, 12, 15), "0101", sex="male", weapon="sharp_object"),
    ]
    # M2 2023: 1
    v += [row("PN", "M2", d(2023, 4, 4), "0101", sex="male", weapon="firearm")]
    # M3: 2 a month in 2022, 1 a month in 2023 except August (9); March 2023 never delivered
    for m in range(1, 13):
        v += [row("PN", "M3", d(2022, m, 3), "0101", sex="male")] * 2
        if m == 3:
            continue
        v += [row("PN", "M3", d(2023, m, 3), "0101", sex="male")] * (9 if m == 8 else 1)
    # forensic medicine, M1 2023: 6 deaths (one more than the police)
    v += [row("IML", "M1", d(2023, m, 2), "0101", sex="male") for m in (1, 2, 5, 7, 9, 11)]
    # a victim of another offence: keeps PN's footprint and must never count as homicide
    v += [row("PN", "M2", d(2023, 6, 6), "020111", sex="female")]
    for i, r in enumerate(v):
        r["victim_id"] = i + 1
        r["incident_id"] = i + 1
    return v


def _offences() -> list[dict[str, object]]:
    d = date
    o = [
        row("PN", "M1", d(2023, 1, 1), "040111", cyber_related=True),
        row("PN", "M1", d(2023, 2, 1), "040111", cyber_related=False),
        row("PN", "M1", d(2023, 4, 1), "040112", cyber_related=None),
        row("PN", "M1", d(2023, 6, 1), "04011", cyber_related=False),
        row("PN", "M2", d(2023, 6, 1), "02051", cyber_related=True),
        row("PN", "M1", d(2023, 6, 1), "050213"),  # theft of parts: excluded from MVT
        row("PN", "M1", d(2023, 6, 2), "050211"),
    ]
    # homicide offences: one per police victim of M1 and M2, plus one in M3 2023-06 without
    # any victim recorded (victims >= incidents must flag it)
    for r in _homicides():
        if r["source_code"] == "PN" and r["area_code"] in ("M1", "M2") and r["iccs_code"] == "0101":
            o.append(
                row("PN", r["area_code"], r["occurred_date"], "0101", incident_id=r["incident_id"])
            )
    o.append(row("PN", "M3", d(2023, 6, 9), "0101", incident_id=9999))
    o.append(row("PN", "M3", d(2023, 6, 9), "0101", incident_id=9998))
    for i, r in enumerate(o):
        r["offence_id"] = i + 1
        r.setdefault("incident_id", 5000 + i)
        if not r["incident_id"]:
            r["incident_id"] = 5000 + i
    return o


def _custody() -> list[dict[str, object]]:
    d = date
    c = [
        row("SPN", "M1", d(2023, 3, 1), custody_status=s, sex="male")
        for s in ("pretrial", "pretrial", "pretrial", "sentenced", None)
    ]
    for i, r in enumerate(c):
        r["custody_id"] = i + 1
    return c


def build(path: Path, drop: set[tuple[str, date]] = frozenset()) -> Path:
    """Write the warehouse to ``path``; ``drop`` removes (source, month) deliveries and their
    rows (as if the agency never sent them)."""
    missing = MISSING | set(drop)
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE dim_area (area_code VARCHAR, name VARCHAR, level INTEGER, "
        "parent_code VARCHAR, area_l1 VARCHAR, area_l2 VARCHAR, area_l3 VARCHAR)"
    )
    con.executemany(
        "INSERT INTO dim_area VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(a[0], a[0], a[1], a[2], *a[3:]) for a in AREAS],
    )
    con.execute(
        "CREATE TABLE population (area_code VARCHAR, area_l1 VARCHAR, area_l2 VARCHAR, "
        "area_l3 VARCHAR, year INTEGER, sex VARCHAR, age_group VARCHAR, "
        "population BIGINT)"
    )
    pop = []
    for code, total in POP.items():
        for year in (2022, 2023):
            for sex in ("male", "female"):
                for ag in ("20-24", "25-29"):
                    pop.append((code, *_PATH[code], year, sex, ag, total // 4))
    con.executemany("INSERT INTO population VALUES (?, ?, ?, ?, ?, ?, ?, ?)", pop)
    con.execute(
        "CREATE TABLE source_month (source_code VARCHAR, agency_code VARCHAR, "
        "source_kind VARCHAR, period_month DATE, expected BOOLEAN, delivered BOOLEAN, "
        "batch_id BIGINT, rows BIGINT)"
    )
    sm = []
    for s, (agency, kind) in SOURCES.items():
        for m in MONTHS:
            ok = (s, m) not in missing
            sm.append((s, agency, kind, m, True, ok, _BATCH[(s, m)] if ok else None, None))
    con.executemany("INSERT INTO source_month VALUES (?, ?, ?, ?, ?, ?, ?, ?)", sm)
    data = {
        "fact_victim": _homicides(),
        "fact_offence": _offences(),
        "fact_custody": _custody(),
        "fact_incident": [],
        "fact_perpetrator": [],
    }
    for name, rows in data.items():
        rows = [r for r in rows if (r["source_code"], r["period_month"]) not in missing]
        schema = SCHEMAS[name]
        t = pa.Table.from_pylist(
            [{f.name: r.get(f.name) for f in schema} for r in rows], schema=schema
        )
        con.register("t_arrow", t)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM t_arrow")
        con.unregister("t_arrow")
    con.close()
    return path
