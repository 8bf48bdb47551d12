"""Classification views: the ICCS tree (package data) and crosswalk coverage per source."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, case, func, select

from talaia.classification.iccs import Category, load_iccs
from talaia.store.models import NOT_CURRENT, Batch, Incident, Offence, Source
from talaia.web.services.common import Principal


def iccs_children(code: str | None) -> tuple[Category, ...]:
    return load_iccs().children(code)


def iccs_search(text: str) -> tuple[Category, ...]:
    return load_iccs().search(text)


def iccs_category(code: str) -> Category:
    return load_iccs().lookup(code)


def iccs_ancestors(code: str) -> tuple[Category, ...]:
    return load_iccs().ancestors(code)


@dataclass(frozen=True, slots=True)
class SourceCoverage:
    """Offence records of one source and how deep their ICCS codes go.

    ``at_level[k-1]``: records classified at ICCS level k or deeper.
    """

    source_code: str
    records: int
    at_level: tuple[int, int, int, int]

    def share(self, level: int) -> float | None:
        return self.at_level[level - 1] / self.records if self.records else None


@dataclass(frozen=True, slots=True)
class UnmappedCode:
    source_code: str
    national_code: str
    national_label: str | None
    records: int


def crosswalk_coverage(engine: Engine, principal: Principal) -> list[SourceCoverage]:
    """Per source, current offence records and the share classified at each ICCS level
    (code length 2/4/5/6 digits = levels 1-4)."""
    n = func.length(Offence.iccs_code)
    cols = [func.sum(case((n >= d, 1), else_=0)) for d in (2, 4, 5, 6)]
    stmt = (
        select(Incident.source_code, func.count(), *cols)
        .select_from(Offence)
        .join(Incident, Incident.id == Offence.incident_id)
        .join(Batch, Batch.id == Offence.batch_id)
        .join(Source, Source.code == Incident.source_code)
        .where(Batch.status.not_in(NOT_CURRENT))
        .group_by(Incident.source_code)
        .order_by(Incident.source_code)
    )
    if principal.agency_scope():
        stmt = stmt.where(Source.agency_code == principal.agency_scope())
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [SourceCoverage(r[0], int(r[1]), tuple(int(x or 0) for x in r[2:6])) for r in rows]


def unmapped_codes(engine: Engine, principal: Principal, limit: int = 25) -> list[UnmappedCode]:
    """National codes whose current records have no ICCS code, most records first."""
    stmt = (
        select(
            Incident.source_code,
            Offence.national_code,
            func.max(Offence.national_label),
            func.count().label("n"),
        )
        .select_from(Offence)
        .join(Incident, Incident.id == Offence.incident_id)
        .join(Batch, Batch.id == Offence.batch_id)
        .join(Source, Source.code == Incident.source_code)
        .where(Batch.status.not_in(NOT_CURRENT), Offence.iccs_code.is_(None))
        .group_by(Incident.source_code, Offence.national_code)
        .order_by(func.count().desc(), Offence.national_code)
        .limit(limit)
    )
    if principal.agency_scope():
        stmt = stmt.where(Source.agency_code == principal.agency_scope())
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [UnmappedCode(r[0], r[1], r[2], int(r[3])) for r in rows]
