"""The audit log read back: filtered by who, what, which object and when, one page at a time.

Times are stored as naive UTC (:func:`talaia.web.services.common.now`); a date range is read as
whole UTC days, both ends included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, Select, func, select

from talaia.store.models import AuditEvent
from talaia.web.services.common import Page


@dataclass(frozen=True, slots=True)
class AuditInfo:
    id: int
    at: dt.datetime
    username: str | None
    action: str
    object_type: str | None
    object_id: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What to show; every part optional (empty shows everything)."""

    username: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def active(self) -> bool:
        return any(getattr(self, f) not in (None, "") for f in self.__slots__)


@dataclass(frozen=True, slots=True)
class AuditChoices:
    """The values the filters can take (for the page's selection lists)."""

    usernames: tuple[str, ...]
    actions: tuple[str, ...]
    object_types: tuple[str, ...]


def _where(stmt: Select, flt: AuditFilter) -> Select:
    if flt.username:
        stmt = stmt.where(AuditEvent.username == flt.username)
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.object_type:
        stmt = stmt.where(AuditEvent.object_type == flt.object_type)
    if flt.object_id:
        stmt = stmt.where(AuditEvent.object_id == flt.object_id)
    if flt.date_from:
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(flt.date_from, dt.time()))
    if flt.date_to:
        end = dt.datetime.combine(flt.date_to + dt.timedelta(days=1), dt.time())
        stmt = stmt.where(AuditEvent.at < end)
    return stmt


def list_audit(
    engine: Engine, flt: AuditFilter | None = None, offset: int = 0, limit: int = 50
) -> Page[AuditInfo]:
    """Audit events matching ``flt``, newest first."""
    flt = flt or AuditFilter()
    base = _where(
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.username,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
            AuditEvent.detail,
        ),
        flt,
    )
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        rows = conn.execute(base.order_by(AuditEvent.id.desc()).offset(offset).limit(limit)).all()
    return Page([AuditInfo(*r) for r in rows], int(total), offset, limit)


def audit_choices(engine: Engine) -> AuditChoices:
    def values(col) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
        with engine.connect() as conn:
            found = conn.execute(select(col).distinct().where(col.is_not(None)).order_by(col))
            return tuple(str(v) for v in found.scalars())

    return AuditChoices(
        values(AuditEvent.username), values(AuditEvent.action), values(AuditEvent.object_type)
    )
