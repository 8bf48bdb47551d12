"""SQLAlchemy 2 models of the store, Talaia's system of record (docs/contracts.md §4).

Natural keys are codes (areas, agencies, sources); records get integer surrogate ids, assigned
in ranges by :func:`talaia.store.batches.write_batch` (bulk loads never go through the ORM).

Record tables (``incident``, ``offence``, ``victim``, ``perpetrator``, ``custody``) carry the
columns of the canonical Arrow schemas of :mod:`talaia.records.schema` plus provenance
(``batch_id``) and surrogate keys. Records of a superseded batch are kept (its ``batch.status``
is ``superseded``): a record is *current* when its batch's status is neither ``superseded`` nor
``rejected`` (see :data:`NOT_CURRENT`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Batch statuses whose records are not current (kept for traceability, hidden from analysis).
NOT_CURRENT: tuple[str, ...] = ("superseded", "rejected")

BATCH_STATUSES: tuple[str, ...] = (
    "received",
    "validated",
    "approved",
    "published",
    "superseded",
    "rejected",
)

#: Surrogate id type: BIGINT, but INTEGER on SQLite so that it aliases the rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- reference ---------------------------------------------------------------------------------


class Area(Base):
    __tablename__ = "area"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(SmallInteger)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("area.code"), index=True)
    geometry: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class Population(Base):
    __tablename__ = "population"
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    sex: Mapped[str] = mapped_column(String(16), primary_key=True)
    age_group: Mapped[str] = mapped_column(String(16), primary_key=True)
    population: Mapped[int] = mapped_column(BigInteger)


# --- provenance --------------------------------------------------------------------------------


class Agency(Base):
    __tablename__ = "agency"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))


class Source(Base):
    __tablename__ = "source"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agency.code"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str | None] = mapped_column(Text)
    crosswalk_code: Mapped[str | None] = mapped_column(String(64))
    expected_from: Mapped[dt.date | None] = mapped_column(Date)
    expected_to: Mapped[dt.date | None] = mapped_column(Date)


class Batch(Base):
    __tablename__ = "batch"
    __table_args__ = (Index("ix_batch_source_period", "source_code", "period_start", "period_end"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_code: Mapped[str] = mapped_column(ForeignKey("source.code"))
    file_name: Mapped[str | None] = mapped_column(String(500))
    file_hash: Mapped[str | None] = mapped_column(String(128))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_duplicate: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    loaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    loaded_by: Mapped[str | None] = mapped_column(String(100))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("batch.id"))
    report: Mapped[str | None] = mapped_column(Text)


class QuarantineRow(Base):
    __tablename__ = "quarantine_row"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    row_number: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[str | None] = mapped_column(Text)
    reasons: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")


# --- records (ICCS event / victim / perpetrator model) ----------------------------------------


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        Index("ux_incident_batch_id_external_id", "batch_id", "external_id", unique=True),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"))
    source_code: Mapped[str] = mapped_column(ForeignKey("source.code"))
    external_id: Mapped[str] = mapped_column(String(100))
    occurred_from: Mapped[dt.datetime] = mapped_column(DateTime)
    occurred_to: Mapped[dt.datetime | None] = mapped_column(DateTime)
    occurred_precision: Mapped[str] = mapped_column(String(16))
    reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    location_type: Mapped[str | None] = mapped_column(String(32))
    attempted: Mapped[str | None] = mapped_column(String(32))
    weapon: Mapped[str | None] = mapped_column(String(32))
    situational_context: Mapped[str | None] = mapped_column(String(32))
    motive: Mapped[str | None] = mapped_column(String(32))
    cyber_related: Mapped[bool | None] = mapped_column(Boolean)


class Offence(Base):
    __tablename__ = "offence"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    national_code: Mapped[str] = mapped_column(String(64))
    national_label: Mapped[str | None] = mapped_column(String(300))
    iccs_code: Mapped[str | None] = mapped_column(String(16))
    crosswalk_version: Mapped[int | None] = mapped_column(Integer)
    mapping_type: Mapped[str | None] = mapped_column(String(16))


class Victim(Base):
    __tablename__ = "victim"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    offence_id: Mapped[int | None] = mapped_column(ForeignKey("offence.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    person_key: Mapped[str | None] = mapped_column(String(128))
    sex: Mapped[str | None] = mapped_column(String(16))
    age: Mapped[int | None] = mapped_column(SmallInteger)
    relationship: Mapped[str | None] = mapped_column(String(32))
    citizenship: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32))


class Perpetrator(Base):
    __tablename__ = "perpetrator"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"), index=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id"))
    offence_id: Mapped[int | None] = mapped_column(ForeignKey("offence.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    person_key: Mapped[str | None] = mapped_column(String(128))
    sex: Mapped[str | None] = mapped_column(String(16))
    age: Mapped[int | None] = mapped_column(SmallInteger)
    relationship: Mapped[str | None] = mapped_column(String(32))
    citizenship: Mapped[str | None] = mapped_column(String(16))
    recidivist: Mapped[bool | None] = mapped_column(Boolean)


class Custody(Base):
    __tablename__ = "custody"
    __table_args__ = (
        Index("ux_custody_batch_id_external_id", "batch_id", "external_id", unique=True),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batch.id"))
    source_code: Mapped[str] = mapped_column(ForeignKey("source.code"))
    external_id: Mapped[str] = mapped_column(String(100))
    person_key: Mapped[str | None] = mapped_column(String(128))
    facility_code: Mapped[str | None] = mapped_column(String(64))
    area_code: Mapped[str] = mapped_column(ForeignKey("area.code"))
    admitted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    custody_status: Mapped[str | None] = mapped_column(String(16))
    sex: Mapped[str | None] = mapped_column(String(16))
    age: Mapped[int | None] = mapped_column(SmallInteger)
    citizenship: Mapped[str | None] = mapped_column(String(16))
    national_code: Mapped[str | None] = mapped_column(String(64))
    iccs_code: Mapped[str | None] = mapped_column(String(16))


# --- crosswalks --------------------------------------------------------------------------------


class CrosswalkVersion(Base):
    __tablename__ = "crosswalk_version"
    __table_args__ = (UniqueConstraint("crosswalk_code", "version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    crosswalk_code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str | None] = mapped_column(String(500))
    file_hash: Mapped[str | None] = mapped_column(String(128))
    loaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    loaded_by: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class CrosswalkRow(Base):
    __tablename__ = "crosswalk_row"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("crosswalk_version.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    national_code: Mapped[str] = mapped_column(String(64), index=True)
    national_label: Mapped[str | None] = mapped_column(String(300))
    iccs_code: Mapped[str | None] = mapped_column(String(16))
    mapping_type: Mapped[str | None] = mapped_column(String(16))
    condition: Mapped[str | None] = mapped_column(Text)
    sets: Mapped[str | None] = mapped_column(Text)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


# --- users, roles, audit -----------------------------------------------------------------------


class Role(Base):
    __tablename__ = "role"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(100))
    name_es: Mapped[str] = mapped_column(String(100))


class AppUser(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    role_code: Mapped[str] = mapped_column(ForeignKey("role.code"))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agency.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    """A machine client's bearer token: only its SHA-256 is stored (the token is shown once).

    A token acts as its user (role, agency); it is refused once ``revoked_at`` is set, once
    ``expires_at`` has passed, or when the user is deactivated."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    username: Mapped[str | None] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)
