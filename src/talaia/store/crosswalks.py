"""Crosswalk versions in the store (tables ``crosswalk_version`` and ``crosswalk_row``).

A crosswalk is saved as a numbered version per crosswalk code (1, 2, ...). Saving a file whose
hash equals the latest version's is a no-op that returns that version, so re-loading the same
file does not create versions. Versions are never changed nor deleted: a record classified
under version 1 can be re-classified identically with :func:`get_version` after version 2 is
loaded.

Also here: :func:`offence_inputs_from_store`, which reads a source's current offences (with the
incident and victim columns a crosswalk's conditions need) as Arrow, for coverage reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from talaia.classification.classify import offence_inputs
from talaia.classification.crosswalk import COLUMNS, Crosswalk
from talaia.classification.crosswalk import CrosswalkRow as RowModel
from talaia.errors import NotFoundError
from talaia.store.models import CrosswalkRow, CrosswalkVersion

_ROW_FIELDS = ("row_number", *COLUMNS)


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """Metadata of one stored crosswalk version."""

    crosswalk_code: str
    version: int
    file_name: str | None
    file_hash: str | None
    loaded_at: dt.datetime | None
    loaded_by: str | None
    note: str | None
    rows: int


@dataclass(frozen=True, slots=True)
class StoredCrosswalk:
    """A crosswalk version read back from the store."""

    info: VersionInfo
    crosswalk: Crosswalk

    @property
    def version(self) -> int:
        return self.info.version


def save_version(
    engine: Engine,
    crosswalk_code: str,
    rows: Sequence[RowModel],
    file_name: str | None,
    file_hash: str | None,
    loaded_by: str | None = None,
    note: str | None = None,
) -> int:
    """Save validated rows as the next version of ``crosswalk_code``; return its number.

    When ``file_hash`` equals the latest version's hash nothing is written and the latest
    version number is returned. One transaction; the unique (crosswalk_code, version)
    constraint guards against concurrent loads.
    """
    vt, rt = CrosswalkVersion.__table__, CrosswalkRow.__table__
    with engine.begin() as conn:
        latest = conn.execute(
            select(vt.c.version, vt.c.file_hash)
            .where(vt.c.crosswalk_code == crosswalk_code)
            .order_by(vt.c.version.desc())
            .limit(1)
        ).first()
        if latest is not None and file_hash is not None and latest.file_hash == file_hash:
            return int(latest.version)
        number = 1 if latest is None else int(latest.version) + 1
        vid = conn.execute(
            insert(vt)
            .values(
                crosswalk_code=crosswalk_code,
                version=number,
                file_name=file_name,
                file_hash=file_hash,
                loaded_at=dt.datetime.now().replace(microsecond=0),
                loaded_by=loaded_by,
                note=note,
            )
            .returning(vt.c.id)
        ).scalar_one()
        if rows:
            conn.execute(
                insert(rt),
                [{"version_id": vid, **{f: getattr(r, f) for f in _ROW_FIELDS}} for r in rows],
            )
    return number


def _info(conn, v, n: int) -> VersionInfo:  # type: ignore[no-untyped-def]
    return VersionInfo(
        v.crosswalk_code,
        int(v.version),
        v.file_name,
        v.file_hash,
        v.loaded_at,
        v.loaded_by,
        v.note,
        n,
    )


def list_versions(engine: Engine, crosswalk_code: str | None = None) -> tuple[VersionInfo, ...]:
    """Stored versions (of one crosswalk code, or all), by code then version."""
    vt, rt = CrosswalkVersion.__table__, CrosswalkRow.__table__
    counts = select(rt.c.version_id, func.count().label("n")).group_by(rt.c.version_id).subquery()
    q = (
        select(vt, func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.version_id == vt.c.id)
        .order_by(vt.c.crosswalk_code, vt.c.version)
    )
    if crosswalk_code is not None:
        q = q.where(vt.c.crosswalk_code == crosswalk_code)
    with engine.connect() as conn:
        return tuple(_info(conn, r, int(r.n)) for r in conn.execute(q))


def get_version(engine: Engine, crosswalk_code: str, version: int | None = None) -> StoredCrosswalk:
    """A stored version (the latest when ``version`` is ``None``).

    Raises
    ------
    NotFoundError
        When the crosswalk or the version does not exist.
    """
    vt, rt = CrosswalkVersion.__table__, CrosswalkRow.__table__
    q = select(vt).where(vt.c.crosswalk_code == crosswalk_code)
    q = q.order_by(vt.c.version.desc()) if version is None else q.where(vt.c.version == version)
    with engine.connect() as conn:
        v = conn.execute(q.limit(1)).first()
        if v is None:
            what = crosswalk_code if version is None else f"{crosswalk_code} version {version}"
            raise NotFoundError(
                f"crosswalk {what} not found / tabla de correspondencia {what} no encontrada"
            )
        stored = conn.execute(
            select(*[rt.c[f] for f in _ROW_FIELDS])
            .where(rt.c.version_id == v.id)
            .order_by(rt.c.row_number, rt.c.id)
        ).all()
    rows = [RowModel(**{f: getattr(r, f) for f in _ROW_FIELDS}) for r in stored]
    return StoredCrosswalk(_info(None, v, len(rows)), Crosswalk.from_rows(crosswalk_code, rows))


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def offence_inputs_from_store(
    engine: Engine, source_code: str, fields: Sequence[str] = ()
) -> pa.Table:
    """The current offences of a source as :func:`classify` input, read through ADBC (Arrow).

    Offences of batches with status ``superseded`` or ``rejected`` are left out. Columns:
    ``offence_id``, ``national_code``, ``national_label``, ``date`` (incident occurred date),
    ``period`` (``YYYY-MM`` of the batch period start), ``source_code``, ``iccs_code_stored``,
    ``crosswalk_version_stored`` and the condition ``fields``.
    """
    from talaia.store.database import adbc_connect, is_sqlite

    inc_cols = [f.split(".", 1)[1] for f in fields if f.startswith("incident.")]
    vic_cols = [f.split(".", 1)[1] for f in fields if f.startswith("victim.")]
    sqlite = is_sqlite(engine)
    day = "substr(i.occurred_from, 1, 10)" if sqlite else "CAST(i.occurred_from AS DATE)"
    start = "substr(b.period_start, 1, 7)" if sqlite else "to_char(b.period_start, 'YYYY-MM')"
    where = f"i.source_code = {_lit(source_code)} AND b.status NOT IN ('superseded', 'rejected')"
    extra = "".join(f", i.{c}" for c in inc_cols)
    sql_off = (
        f"SELECT o.id AS offence_id, i.id AS incident_id, o.national_code, o.national_label, "
        f"o.iccs_code AS iccs_code_stored, o.crosswalk_version AS crosswalk_version_stored, "
        f"{day} AS occurred_day, {start} AS period{extra} "
        f"FROM offence o JOIN incident i ON o.incident_id = i.id JOIN batch b "
        f"ON o.batch_id = b.id WHERE {where} ORDER BY o.id"
    )
    vextra = "".join(f", v.{c}" for c in vic_cols)
    sql_vic = (
        f"SELECT v.id AS victim_id, v.incident_id, v.offence_id{vextra} FROM victim v "
        f"JOIN incident i ON v.incident_id = i.id JOIN batch b ON v.batch_id = b.id "
        f"WHERE {where}"
    )
    conn = adbc_connect(engine)
    try:
        cur = conn.cursor()
        cur.execute(sql_off)
        off = cur.fetch_arrow_table()
        vic = None
        if vic_cols:
            cur.execute(sql_vic)
            vic = cur.fetch_arrow_table()
        cur.close()
    finally:
        conn.close()
    as_text = lambda c: pc.cast(c, pa.string())  # noqa: E731
    occ = off.column("occurred_day")
    occ = pc.cast(as_text(occ), pa.date32()) if not pa.types.is_date32(occ.type) else occ
    offence = pa.table(
        {
            "external_id": as_text(off.column("offence_id")),
            "incident_ref": as_text(off.column("incident_id")),
            "national_code": as_text(off.column("national_code")),
        }
    )
    incident = pa.table(
        {
            "external_id": as_text(off.column("incident_id")),
            "occurred_from": occ,
            **{c: off.column(c) for c in inc_cols},
        }
    )
    # one incident row per id (an incident has several offences)
    incident = incident.group_by("external_id", use_threads=False).aggregate(
        [(c, "first") for c in incident.column_names if c != "external_id"]
    )
    incident = incident.rename_columns(
        [n[: -len("_first")] if n.endswith("_first") else n for n in incident.column_names]
    )
    victim = None
    if vic is not None:
        victim = pa.table(
            {
                "external_id": pc.utf8_lpad(as_text(vic.column("victim_id")), 20, "0"),
                "incident_ref": as_text(vic.column("incident_id")),
                "offence_ref": as_text(vic.column("offence_id")),
                **{c: vic.column(c) for c in vic_cols},
            }
        )
    if "incident.cyber_related" in fields:
        cr = incident.column("cyber_related")
        if not pa.types.is_boolean(cr.type):
            idx = incident.column_names.index("cyber_related")
            incident = incident.set_column(idx, "cyber_related", pc.cast(cr, pa.bool_()))
    inputs = offence_inputs(offence, incident, victim, fields)
    extra_cols = {
        "offence_id": off.column("offence_id"),
        "national_label": as_text(off.column("national_label")),
        "period": as_text(off.column("period")),
        "source_code": pa.array([source_code] * off.num_rows, pa.string()),
        "iccs_code_stored": as_text(off.column("iccs_code_stored")),
        "crosswalk_version_stored": off.column("crosswalk_version_stored"),
    }
    for name, col in extra_cols.items():
        inputs = inputs.append_column(name, col)
    return inputs


def source_crosswalk_code(engine: Engine, source_code: str) -> str | None:
    """The crosswalk code of a source (its ``crosswalk_code``, else the source code itself);
    ``None`` when the source is not in the store."""
    from talaia.store.models import Source

    st = Source.__table__
    with engine.connect() as conn:
        row = conn.execute(
            select(st.c.code, st.c.crosswalk_code).where(st.c.code == source_code)
        ).first()
    if row is None:
        return None
    return row.crosswalk_code or row.code


def national_code_counts(engine: Engine, source_code: str) -> dict[str, int]:
    """Records per national code among the source's current offences (for validation)."""
    from talaia.store.models import Batch, Incident, Offence

    ot, it, bt = Offence.__table__, Incident.__table__, Batch.__table__
    q = (
        select(ot.c.national_code, func.count().label("n"))
        .select_from(ot.join(it, ot.c.incident_id == it.c.id).join(bt, ot.c.batch_id == bt.c.id))
        .where(it.c.source_code == source_code, bt.c.status.not_in(("superseded", "rejected")))
        .group_by(ot.c.national_code)
    )
    with engine.connect() as conn:
        return {r.national_code: int(r.n) for r in conn.execute(q) if r.national_code is not None}
