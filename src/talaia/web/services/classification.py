"""Classification views: the ICCS tree (package data) and crosswalk coverage per source."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, case, func, select

from talaia.classification.iccs import Category, load_iccs
from talaia.errors import NotFoundError, UserInputError
from talaia.store.models import NOT_CURRENT, Batch, Incident, Offence, Source
from talaia.web.services.common import Principal, audit


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
    if principal.agency_scope() is not None:
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
    if principal.agency_scope() is not None:
        stmt = stmt.where(Source.agency_code == principal.agency_scope())
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [UnmappedCode(r[0], r[1], r[2], int(r[3])) for r in rows]


@dataclass(frozen=True, slots=True)
class MappingTask:
    """An unmapped national code with the mapping assistant's ranked suggestions."""

    code: UnmappedCode
    crosswalk_code: str | None
    suggestions: tuple  # tuple[talaia.classification.assistant.Suggestion, ...]


def mapping_tasks(engine: Engine, principal: Principal, limit: int = 10) -> list[MappingTask]:
    """The most frequent unmapped codes with up to 3 suggestions each."""
    from talaia.classification.assistant import default_assistant

    assistant = default_assistant()
    with engine.connect() as conn:
        cw = dict(conn.execute(select(Source.code, Source.crosswalk_code)).all())
    return [
        MappingTask(
            u, cw.get(u.source_code), assistant.suggest(u.national_label or u.national_code, k=3)
        )
        for u in unmapped_codes(engine, principal, limit)
    ]


def accept_mapping(
    engine: Engine,
    principal: Principal,
    source_code: str,
    national_code: str,
    national_label: str | None,
    iccs_code: str,
    mapping_type: str = "exact",
) -> int:
    """Add ``national_code -> iccs_code`` to the source's crosswalk as a new version (earlier
    versions are kept; records already loaded keep the version they were classified with).
    Returns the new version number; recorded in the audit log."""
    from talaia.classification.crosswalk import CrosswalkRow as RowModel
    from talaia.store.crosswalks import get_version, save_version

    if not principal.can_publish():
        raise PermissionError("crosswalk")
    if load_iccs().get(iccs_code) is None:
        raise UserInputError(f"ICCS code {iccs_code!r} does not exist")
    with engine.connect() as conn:
        cw_code = conn.execute(
            select(Source.crosswalk_code).where(Source.code == source_code)
        ).scalar()
        if cw_code is None:
            raise NotFoundError(f"source {source_code!r} has no crosswalk")
    try:
        rows = list(get_version(engine, cw_code).crosswalk.rows)
    except NotFoundError:  # no version yet: the first one starts here
        rows = []
    if any(r.national_code == national_code and not r.condition for r in rows):
        raise UserInputError(f"{national_code} is already mapped in crosswalk {cw_code}")
    rows.append(
        RowModel(
            row_number=max((r.row_number for r in rows), default=1) + 1,
            national_code=national_code,
            national_label=national_label,
            iccs_code=iccs_code,
            mapping_type=mapping_type,
            notes=f"accepted in the portal by {principal.username}",
        )
    )
    number = save_version(
        engine,
        cw_code,
        rows,
        file_name="portal",
        file_hash=None,
        loaded_by=principal.username,
        note=f"{national_code} -> {iccs_code} ({mapping_type})",
    )
    with engine.begin() as conn:
        audit(
            conn,
            principal.username,
            "crosswalk.map",
            "crosswalk",
            f"{cw_code} v{number}",
            {"national_code": national_code, "iccs_code": iccs_code, "mapping_type": mapping_type},
        )
    return number
