"""The registered sources and the months each is expected to deliver.

:func:`list_sources` lists the ``source`` table; :func:`set_expected` sets a source's expected
range (``expected_from`` .. ``expected_to``, first days of months; an open end means "up to the
latest delivered month"), which :func:`talaia.store.status.source_months` and coverage read to
tell a missing month from one that was never due. Every change is written with an audit event
(``source.expected``) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, func, insert, select, update

from talaia.errors import NotFoundError, UserInputError
from talaia.store.models import NOT_CURRENT, AuditEvent, Batch, Source


@dataclass(frozen=True)
class SourceInfo:
    """One registered source, with its expected months and current batches."""

    code: str
    agency_code: str
    kind: str
    name: str
    crosswalk_code: str | None
    expected_from: dt.date | None
    expected_to: dt.date | None
    batches: int


def list_sources(engine: Engine) -> list[SourceInfo]:
    """Every registered source, ordered by code, with its number of current batches."""
    with engine.connect() as c:
        rows = c.execute(
            select(
                Source.code,
                Source.agency_code,
                Source.kind,
                Source.name,
                Source.crosswalk_code,
                Source.expected_from,
                Source.expected_to,
            ).order_by(Source.code)
        ).all()
        per = dict(
            c.execute(
                select(Batch.source_code, func.count())
                .where(Batch.status.not_in(NOT_CURRENT))
                .group_by(Batch.source_code)
            ).all()
        )
    return [SourceInfo(*r, batches=per.get(r[0], 0)) for r in rows]


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` -> the first day of that month.

    Raises
    ------
    UserInputError
        When the text is not a month.
    """
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise UserInputError(
            f"{text!r} is not a month (YYYY-MM) / no es un mes (AAAA-MM)"
        ) from None


def set_expected(
    engine: Engine,
    source_code: str,
    expected_from: dt.date,
    expected_to: dt.date | None = None,
    user: str | None = None,
) -> SourceInfo:
    """Set the months a source is expected to deliver (inclusive; ``None``: open-ended).

    Days are normalized to the first of the month. Audited as ``source.expected`` with the
    previous and the new range.

    Raises
    ------
    NotFoundError
        The source is not registered.
    UserInputError
        ``expected_to`` is before ``expected_from``.
    """
    a = expected_from.replace(day=1)
    b = expected_to.replace(day=1) if expected_to is not None else None
    if b is not None and b < a:
        raise UserInputError(
            f"--to {b:%Y-%m} is before --from {a:%Y-%m} / --to es anterior a --from"
        )
    with engine.begin() as c:
        old = c.execute(
            select(Source.expected_from, Source.expected_to).where(Source.code == source_code)
        ).first()
        if old is None:
            raise NotFoundError(
                f"source {source_code!r} is not registered / la fuente no está registrada"
            )
        c.execute(
            update(Source).where(Source.code == source_code).values(expected_from=a, expected_to=b)
        )
        c.execute(
            insert(AuditEvent).values(
                at=dt.datetime.now().replace(microsecond=0),
                username=user,
                action="source.expected",
                object_type="source",
                object_id=source_code,
                detail=json.dumps(
                    {
                        "from": [str(old[0]) if old[0] else None, str(old[1]) if old[1] else None],
                        "to": [str(a), str(b) if b else None],
                    }
                ),
            )
        )
    return next(s for s in list_sources(engine) if s.code == source_code)
