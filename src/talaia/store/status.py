"""Delivery status of the sources, per month: expected, delivered, rows.

A month is *expected* from the source's ``expected_from`` to its ``expected_to`` (when open:
to the latest delivered month, at least ``expected_from``). It is *delivered* when a current
batch (status not superseded / rejected) covers it. A month expected but not delivered is
``missing``: its ``rows`` is ``None`` (no data), never 0. Delivered months outside the expected
range are listed too (``expected=False``).

``rows`` is the batch's ``rows_accepted`` when one batch covers exactly that month, the sum over
such batches when several do; a month covered only by a multi-month batch has ``rows=None``
(the store does not split a batch's count by month).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from talaia.store.models import NOT_CURRENT, Batch, Source


@dataclass(frozen=True)
class SourceMonth:
    """One source and one month."""

    source_code: str
    period_month: dt.date
    expected: bool
    delivered: bool
    batch_id: int | None
    rows: int | None

    @property
    def state(self) -> str:
        """``delivered``, ``missing`` (expected, not delivered) or ``unexpected``."""
        if self.delivered:
            return "delivered" if self.expected else "unexpected"
        return "missing"


def _month(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _next(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _months(a: dt.date, b: dt.date) -> list[dt.date]:
    out, m = [], _month(a)
    while m <= b:
        out.append(m)
        m = _next(m)
    return out


def source_months(engine: Engine, source_code: str | None = None) -> list[SourceMonth]:
    """Every (source, month) that is expected or delivered, ordered by source and month.

    Parameters
    ----------
    engine
        The store.
    source_code
        Only this source (default: all).
    """
    with engine.connect() as conn:
        q = select(Source.code, Source.expected_from, Source.expected_to).order_by(Source.code)
        bq = (
            select(
                Batch.id,
                Batch.source_code,
                Batch.period_start,
                Batch.period_end,
                Batch.rows_accepted,
            )
            .where(Batch.status.not_in(NOT_CURRENT))
            .order_by(Batch.id)
        )
        if source_code is not None:
            q = q.where(Source.code == source_code)
            bq = bq.where(Batch.source_code == source_code)
        sources = conn.execute(q).all()
        batches = conn.execute(bq).all()
    covering: dict[tuple[str, dt.date], list[tuple[int, int | None]]] = {}
    for bid, src, start, end, accepted in batches:
        months = _months(start, end)
        single = len(months) == 1
        for m in months:
            covering.setdefault((src, m), []).append((int(bid), accepted if single else None))
    out: list[SourceMonth] = []
    for code, exp_from, exp_to in sources:
        delivered = sorted(m for (s, m) in covering if s == code)
        expected: list[dt.date] = []
        if exp_from is not None:
            last = exp_to if exp_to is not None else max([_month(exp_from), *delivered])
            expected = _months(exp_from, last)
        for m in sorted(set(expected) | set(delivered)):
            cover = covering.get((code, m), [])
            counts = [n for _, n in cover]
            rows = None if not cover or any(n is None for n in counts) else sum(counts)
            out.append(
                SourceMonth(
                    source_code=code,
                    period_month=m,
                    expected=m in expected,
                    delivered=bool(cover),
                    batch_id=max(b for b, _ in cover) if cover else None,
                    rows=rows,
                )
            )
    return out
