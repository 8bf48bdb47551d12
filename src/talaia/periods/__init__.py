"""Reporting periods: month, quarter, year, rolling 12 months and ISO week (ISO 8601).

Text forms (parsed by :func:`parse_period`, produced by ``str(period)``):

==============  =========================================  ==================
kind            text                                       covers
==============  =========================================  ==================
``year``        ``2023``                                   Jan-Dec 2023
``quarter``     ``2023-Q2``                                Apr-Jun 2023
``month``       ``2023-05``                                May 2023
``rolling12``   ``R12:2023-05``                            Jun 2022 - May 2023
``week``        ``2023-W07``                               ISO week 7 of 2023
==============  =========================================  ==================

Pure Python (``datetime`` only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["month", "quarter", "year", "rolling12", "week"]
KINDS: tuple[str, ...] = ("month", "quarter", "year", "rolling12", "week")

_RE = {
    "year": re.compile(r"^(\d{4})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
    "rolling12": re.compile(r"^R12:(\d{4})-(0[1-9]|1[0-2])$"),
    "week": re.compile(r"^(\d{4})-W(\d{2})$"),
}


def _add_months(year: int, month: int, k: int) -> tuple[int, int]:
    i = year * 12 + (month - 1) + k
    return i // 12, i % 12 + 1


def _days_in_year(year: int) -> int:
    return 366 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 365


def iso_weeks_in_year(year: int) -> int:
    """Number of ISO weeks (52 or 53) of ISO year ``year``."""
    return date(year, 12, 28).isocalendar()[1]


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A reporting period.

    Attributes
    ----------
    kind
        One of :data:`KINDS`.
    year
        Calendar year (ISO year for weeks; year of the last month for ``rolling12``).
    index
        Month (1-12) for ``month`` and ``rolling12`` (the last month covered), quarter (1-4),
        ISO week (1-53), 0 for ``year``.
    """

    kind: str
    year: int
    index: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown period kind {self.kind!r}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")
        hi = {
            "month": 12,
            "rolling12": 12,
            "quarter": 4,
            "year": 0,
            "week": iso_weeks_in_year(self.year) if self.kind == "week" else 0,
        }[self.kind]
        lo = 0 if self.kind == "year" else 1
        if not lo <= self.index <= hi:
            raise ValueError(f"{self.kind} index out of range: {self.index}")

    def __str__(self) -> str:
        if self.kind == "year":
            return f"{self.year:04d}"
        if self.kind == "quarter":
            return f"{self.year:04d}-Q{self.index}"
        if self.kind == "month":
            return f"{self.year:04d}-{self.index:02d}"
        if self.kind == "rolling12":
            return f"R12:{self.year:04d}-{self.index:02d}"
        return f"{self.year:04d}-W{self.index:02d}"

    @property
    def start(self) -> date:
        """First day covered."""
        if self.kind == "week":
            return date.fromisocalendar(self.year, self.index, 1)
        y, m = self.months()[0]
        return date(y, m, 1)

    @property
    def end(self) -> date:
        """Day after the last day covered (exclusive end)."""
        if self.kind == "week":
            return self.start + timedelta(days=7)
        y, m = _add_months(*self.months()[-1], 1)
        return date(y, m, 1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def months(self) -> tuple[tuple[int, int], ...]:
        """The (year, month) pairs the period touches, in order (a week may touch two)."""
        if self.kind == "month":
            return ((self.year, self.index),)
        if self.kind == "quarter":
            return tuple((self.year, 3 * (self.index - 1) + i) for i in (1, 2, 3))
        if self.kind == "year":
            return tuple((self.year, m) for m in range(1, 13))
        if self.kind == "rolling12":
            return tuple(_add_months(self.year, self.index, k) for k in range(-11, 1))
        s = self.start
        e = s + timedelta(days=6)
        return (
            ((s.year, s.month),)
            if (s.year, s.month) == (e.year, e.month)
            else ((s.year, s.month), (e.year, e.month))
        )

    def month_starts(self) -> tuple[date, ...]:
        """First day of each month touched (the warehouse's ``period_month`` keys)."""
        return tuple(date(y, m, 1) for y, m in self.months())

    def year_fraction(self) -> float:
        """Fraction of a year covered, for annualizing rates.

        Days covered divided by the days of the year they fall in, summed per calendar year
        (a month of 31 days in 2023 is 31/365; a leap-year February 29/366); years and rolling
        12 months are exactly 1.
        """
        if self.kind in ("year", "rolling12"):
            return 1.0
        d = self.start
        total = 0.0
        while d < self.end:
            nxt = min(self.end, date(d.year + 1, 1, 1))
            total += (nxt - d).days / _days_in_year(d.year)
            d = nxt
        return total

    def shift(self, steps: int) -> Period:
        """The period ``steps`` periods later (negative: earlier), same kind."""
        if self.kind in ("month", "rolling12"):
            y, m = _add_months(self.year, self.index, steps)
            return Period(self.kind, y, m)
        if self.kind == "quarter":
            i = self.year * 4 + self.index - 1 + steps
            return Period("quarter", i // 4, i % 4 + 1)
        if self.kind == "year":
            return Period("year", self.year + steps)
        d = self.start + timedelta(weeks=steps)
        iy, iw, _ = d.isocalendar()
        return Period("week", iy, iw)

    def previous(self) -> Period:
        """The period just before (for ``rolling12``: the window ending one month earlier)."""
        return self.shift(-1)

    def year_earlier(self) -> Period:
        """The same period one year earlier (ISO week 53 maps to week 52 when absent)."""
        if self.kind == "week":
            w = min(self.index, iso_weeks_in_year(self.year - 1))
            return Period("week", self.year - 1, w)
        return Period(self.kind, self.year - 1, self.index)


def parse_period(text: str | Period) -> Period:
    """Parse ``"2023"``, ``"2023-Q2"``, ``"2023-05"``, ``"2023-W07"`` or ``"R12:2023-05"``.

    Raises
    ------
    ValueError
        Naming the text when it matches no form or is out of range.
    """
    if isinstance(text, Period):
        return text
    t = str(text).strip()
    for kind, rx in _RE.items():
        m = rx.match(t)
        if m:
            nums = [int(g) for g in m.groups()]
            try:
                return Period(kind, nums[0], nums[1] if len(nums) > 1 else 0)
            except ValueError as exc:
                raise ValueError(f"invalid period {text!r}: {exc}") from None
    raise ValueError(
        f"invalid period {text!r}: expected 2023, 2023-Q2, 2023-05, 2023-W07 or R12:2023-05"
    )


def period_range(first: str | Period, last: str | Period) -> tuple[Period, ...]:
    """Every period from ``first`` to ``last`` inclusive (same kind), e.g. a monthly series."""
    a, b = parse_period(first), parse_period(last)
    if a.kind != b.kind:
        raise ValueError(f"{a} and {b} are not the same kind of period")
    out = [a]
    while out[-1] < b:
        out.append(out[-1].shift(1))
    return tuple(out) if out[-1] == b else tuple(out[:-1])


def period_of_month(year: int, month: int, kind: str) -> Period:
    """The period of ``kind`` (month, quarter, year, rolling12) containing a month."""
    if kind == "month":
        return Period("month", year, month)
    if kind == "quarter":
        return Period("quarter", year, (month - 1) // 3 + 1)
    if kind == "year":
        return Period("year", year)
    if kind == "rolling12":
        return Period("rolling12", year, month)
    raise ValueError(f"no {kind} period of a month")


__all__ = [
    "KINDS",
    "Period",
    "PeriodKind",
    "iso_weeks_in_year",
    "parse_period",
    "period_of_month",
    "period_range",
]
