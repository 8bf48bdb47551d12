"""Validation rules and outliers to check before publishing (DHIS2-style, built in).

Rules across sources:

- ``forensic_vs_police``: homicide victims counted by forensic medicine and by the police in
  the same area and month should agree within a tolerance (both sources delivered);
- ``victims_vs_incidents``: a source cannot record fewer homicide victims than homicide
  incidents (each incident has at least one victim).

Outliers: ``outlier`` flags months whose count is improbable given the same area's and
source's previous 12 delivered months (:func:`talaia.stats.history_outliers`, Poisson tails,
robust z-score reported). Months not delivered are skipped, never read as zeros.

Every check returns :class:`Finding` objects, listed by rule, area, period and source.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pyarrow as pa

from talaia.indicators.definitions import Denominator, Filter, Indicator, Text
from talaia.indicators.engine import Warehouse, compute, connect, parse_periods
from talaia.periods import Period
from talaia.stats import history_outliers

PeriodSpec = str | Period | Iterable[str | Period]


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing to check before publishing.

    Attributes
    ----------
    rule
        ``forensic_vs_police`` | ``victims_vs_incidents`` | ``outlier``.
    severity
        ``error`` (a logical impossibility) or ``warning`` (to be checked).
    area_code, period, source_code
        Where (``source_code`` is ``None`` for rules that compare two sources).
    observed, expected
        The figure checked and what it was compared with.
    p_value
        For outliers, the Poisson tail probability.
    message_en, message_es
        Explanation.
    """

    rule: str
    severity: Literal["error", "warning"]
    area_code: str
    period: str
    source_code: str | None
    observed: float
    expected: float
    p_value: float | None
    message_en: str
    message_es: str


def _internal(id_: str, flt: Filter) -> Indicator:
    text = Text(en=id_, es=id_)
    return Indicator(
        id=id_,
        version=1,
        name=text,
        definition=text,
        counting_unit="victims",
        numerator=flt,
        denominator=Denominator(kind="none"),
        unit="count",
        disaggregations=(),
        method_note=text,
    )


HOMICIDE_VICTIMS = _internal(
    "homicide_victims_any_source", Filter(table="fact_victim", iccs=("0101",))
)
HOMICIDE_INCIDENTS = _internal(
    "homicide_incidents_any_source",
    Filter(table="fact_offence", iccs=("0101",), count_distinct="incident_id"),
)


def _months(periods: Sequence[Period]) -> tuple[Period, ...]:
    out = dict.fromkeys(Period("month", y, m) for p in periods for y, m in p.months())
    return tuple(sorted(out))


def _sources(warehouse: Warehouse, kinds: Iterable[str] | None = None) -> list[str]:
    with connect(warehouse) as con:
        rows = con.execute(
            "SELECT DISTINCT source_code, source_kind FROM source_month ORDER BY 1"
        ).fetchall()
    return [s for s, k in rows if kinds is None or k in set(kinds)]


def forensic_vs_police(
    warehouse: Warehouse,
    period: PeriodSpec,
    level: int = 3,
    tolerance: float = 0.10,
    min_difference: int = 2,
) -> tuple[Finding, ...]:
    """Months where forensic and police homicide victims differ by more than ``tolerance``
    (relative to the larger) and more than ``min_difference`` victims; only where both kinds
    of source delivered the month in full."""
    months = _months(parse_periods(period))
    with connect(warehouse) as con:
        pol = compute(
            HOMICIDE_VICTIMS, period=months, level=level, warehouse=con, source_kind="police"
        ).to_pylist()
        frn = compute(
            HOMICIDE_VICTIMS, period=months, level=level, warehouse=con, source_kind="forensic"
        ).to_pylist()
    out = []
    fmap = {(r["period"], r["area_code"]): r for r in frn}
    for p in pol:
        f = fmap.get((p["period"], p["area_code"]))
        if f is None or p["coverage"] != "ok" or f["coverage"] != "ok":
            continue
        a, b = p["numerator"], f["numerator"]
        diff = abs(a - b)
        if diff > min_difference and diff > tolerance * max(a, b):
            out.append(
                Finding(
                    "forensic_vs_police",
                    "warning",
                    p["area_code"],
                    p["period"],
                    None,
                    a,
                    b,
                    None,
                    f"police count {a:.0f} homicide victims, forensic medicine {b:.0f}",
                    f"la policía registra {a:.0f} víctimas de homicidio, medicina legal {b:.0f}",
                )
            )
    return tuple(out)


def victims_vs_incidents(
    warehouse: Warehouse, period: PeriodSpec, level: int = 3
) -> tuple[Finding, ...]:
    """Area-months where a source recorded fewer homicide victims than homicide incidents."""
    months = _months(parse_periods(period))
    out = []
    with connect(warehouse) as con:
        for src in _sources(con):
            vic = compute(
                HOMICIDE_VICTIMS, period=months, level=level, warehouse=con, source=src
            ).to_pylist()
            inc = compute(
                HOMICIDE_INCIDENTS, period=months, level=level, warehouse=con, source=src
            ).to_pylist()
            imap = {(r["period"], r["area_code"]): r["numerator"] for r in inc}
            for v in vic:
                n_inc = imap.get((v["period"], v["area_code"]))
                if v["numerator"] is None or n_inc is None or v["numerator"] >= n_inc:
                    continue
                out.append(
                    Finding(
                        "victims_vs_incidents",
                        "error",
                        v["area_code"],
                        v["period"],
                        src,
                        v["numerator"],
                        n_inc,
                        None,
                        f"{v['numerator']:.0f} homicide victims but {n_inc:.0f} homicide incidents",
                        f"{v['numerator']:.0f} víctimas de homicidio pero {n_inc:.0f} hechos de "
                        "homicidio",
                    )
                )
    return tuple(out)


def outliers(
    warehouse: Warehouse,
    period: PeriodSpec,
    indicator: str | Indicator = "homicide_count",
    level: int = 3,
    window: int = 12,
    alpha: float = 0.001,
) -> tuple[Finding, ...]:
    """Months of ``period`` whose count is improbable given the same area and source's
    previous ``window`` delivered months (the history before ``period`` is read too)."""
    months = _months(parse_periods(period))
    history = tuple(months[0].shift(k) for k in range(-window, 0)) + months
    out = []
    with connect(warehouse) as con:
        from talaia.indicators.definitions import get_indicator

        ind = indicator if isinstance(indicator, Indicator) else get_indicator(indicator)
        kinds = ind.numerator.source_kind or None
        for src in _sources(con, kinds):
            t = compute(ind, period=history, level=level, warehouse=con, source=src)
            areas = t.column("area_code").to_pylist()
            per = t.column("period").to_pylist()
            num = np.asarray(t.column("numerator").to_numpy(zero_copy_only=False), dtype=float)
            codes = sorted(set(areas))
            ai = {a: i for i, a in enumerate(codes)}
            pi = {str(p): i for i, p in enumerate(history)}
            mat = np.full((len(codes), len(history)), np.nan)
            mat[[ai[a] for a in areas], [pi[p] for p in per]] = num
            res = history_outliers(mat, window=window, alpha=alpha)
            for i, j in zip(*np.nonzero(res.flagged), strict=True):
                if j < window:
                    continue
                obs, expct = res.observed[i, j], res.expected[i, j]
                high = obs > expct
                pv = float(res.p_high[i, j] if high else res.p_low[i, j])
                word_en, word_es = (
                    ("above", "por encima de") if high else ("below", "por debajo de")
                )
                out.append(
                    Finding(
                        "outlier",
                        "warning",
                        codes[i],
                        str(history[j]),
                        src,
                        obs,
                        float(expct),
                        pv,
                        f"{ind.id}: {obs:.0f}, {word_en} the {expct:.1f} expected from the "
                        f"previous {window} months (p = {pv:.2g})",
                        f"{ind.id}: {obs:.0f}, {word_es} los {expct:.1f} esperados según los "
                        f"{window} meses anteriores (p = {pv:.2g})",
                    )
                )
    return tuple(out)


def validate(warehouse: Warehouse, period: PeriodSpec, level: int = 3) -> tuple[Finding, ...]:
    """Every built-in rule and the homicide outlier check, sorted by area, period, rule."""
    with connect(warehouse) as con:
        found = (
            *forensic_vs_police(con, period, level),
            *victims_vs_incidents(con, period, level),
            *outliers(con, period, level=level),
        )
    return tuple(sorted(found, key=lambda f: (f.area_code, f.period, f.rule, f.source_code or "")))


def findings_table(findings: Sequence[Finding]) -> pa.Table:
    """The findings as an Arrow table (one row each)."""
    schema = pa.schema(
        [
            ("rule", pa.string()),
            ("severity", pa.string()),
            ("area_code", pa.string()),
            ("period", pa.string()),
            ("source_code", pa.string()),
            ("observed", pa.float64()),
            ("expected", pa.float64()),
            ("p_value", pa.float64()),
            ("message_en", pa.string()),
            ("message_es", pa.string()),
        ]
    )
    return pa.Table.from_pylist([asdict(f) for f in findings], schema=schema)
