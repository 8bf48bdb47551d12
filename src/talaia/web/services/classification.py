"""Classification views: the ICCS tree (package data), crosswalk coverage per source, and the
national codes that still need an ICCS code (unmapped records, codes held in quarantine)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine, case, func, or_, select

from talaia.classification.iccs import Category, load_iccs
from talaia.errors import NotFoundError, UserInputError
from talaia.store.models import NOT_CURRENT, Batch, Incident, Offence, QuarantineRow, Source
from talaia.web.services.common import Principal, audit

#: Quarantine rules (as ingestion records them) of a national code the crosswalk does not know.
UNMAPPED_RULES: tuple[str, ...] = ("unknown_code", "code_unmapped")
#: The answer for a source that does not exist or belongs to another agency (the same words as
#: the data pages': ``talaia.web.services.data.SOURCE_NOT_FOUND``).
SOURCE_NOT_FOUND = "Source not found."


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


@dataclass(frozen=True, slots=True)
class QuarantinedCode:
    """A national code held in quarantine because the source's crosswalk does not know it."""

    source_code: str
    national_code: str
    rows: int  # open quarantined rows with this code
    batches: int  # current batches holding them
    mapped: bool  # the crosswalk's latest version now maps it (re-submitting loads the rows)


def quarantined_codes(
    engine: Engine, principal: Principal, limit: int = 50
) -> list[QuarantinedCode]:
    """National codes of open quarantined rows of current batches refused as not in the
    crosswalk (rule ``unknown_code``), per source, most rows first (a steward: its agency's)."""
    stmt = (
        select(Batch.source_code, QuarantineRow.batch_id, QuarantineRow.reasons)
        .select_from(QuarantineRow)
        .join(Batch, Batch.id == QuarantineRow.batch_id)
        .join(Source, Source.code == Batch.source_code)
        .where(
            Batch.status.not_in(NOT_CURRENT),
            QuarantineRow.status == "open",
            or_(*(QuarantineRow.reasons.like(f"%{rule}%") for rule in UNMAPPED_RULES)),
        )
    )
    if principal.agency_scope() is not None:
        stmt = stmt.where(Source.agency_code == principal.agency_scope())
    rows: dict[tuple[str, str], int] = {}
    batches: dict[tuple[str, str], set[int]] = {}
    with engine.connect() as conn:
        for source_code, batch_id, text in conn.execute(stmt):
            try:
                reasons = json.loads(text or "[]")
            except ValueError:
                continue
            codes = {
                str(r["value"])
                for r in (reasons if isinstance(reasons, list) else [reasons])
                if isinstance(r, dict)
                and r.get("rule") in UNMAPPED_RULES
                and r.get("value") not in (None, "", "NULL")
            }
            for code in codes:
                key = (source_code, code)
                rows[key] = rows.get(key, 0) + 1
                batches.setdefault(key, set()).add(int(batch_id))
        crosswalks = dict(conn.execute(select(Source.code, Source.crosswalk_code)).all())
    ranked = sorted(rows, key=lambda k: (-rows[k], k[0], k[1]))[:limit]
    mapped = _mapped_codes(engine, {crosswalks.get(src) for src, _ in ranked} - {None})
    return [
        QuarantinedCode(
            src,
            code,
            rows[(src, code)],
            len(batches[(src, code)]),
            code in mapped.get(crosswalks.get(src) or "", set()),
        )
        for src, code in ranked
    ]


def _mapped_codes(engine: Engine, crosswalk_codes: set) -> dict[str, set[str]]:
    """National codes of each crosswalk's latest version."""
    from talaia.store.crosswalks import get_version

    out: dict[str, set[str]] = {}
    for cw in crosswalk_codes:
        try:
            out[cw] = {r.national_code for r in get_version(engine, cw).crosswalk.rows}
        except NotFoundError:
            out[cw] = set()
    return out


def mapping_task_for(
    engine: Engine,
    principal: Principal,
    source_code: str,
    national_code: str,
    label: str | None = None,
) -> MappingTask:
    """The mapping assistant for one national code of a source the principal may see: up to
    three suggestions from ``label`` (a description of the code), else from the code itself.
    A source that does not exist or is another agency's answers :data:`SOURCE_NOT_FOUND`."""
    from talaia.classification.assistant import default_assistant

    if not principal.can_read_data():
        raise PermissionError("classification")
    stmt = select(Source.crosswalk_code).where(Source.code == source_code)
    if principal.agency_scope() is not None:
        stmt = stmt.where(Source.agency_code == principal.agency_scope())
    with engine.connect() as conn:
        found = conn.execute(stmt).first()
        if found is None:
            raise NotFoundError(SOURCE_NOT_FOUND)
        known = conn.execute(
            select(func.max(Offence.national_label))
            .select_from(Offence)
            .join(Incident, Incident.id == Offence.incident_id)
            .where(Incident.source_code == source_code, Offence.national_code == national_code)
        ).scalar()
    code = national_code.strip()
    if not code:
        raise UserInputError("national code: empty")
    described = (label or "").strip() or known
    return MappingTask(
        UnmappedCode(source_code, code, described, 0),
        found[0],
        default_assistant().suggest(described or code, k=3),
    )


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
