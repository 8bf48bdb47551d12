"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "agency",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agency")),
    )
    op.create_table(
        "area",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["area.code"], name=op.f("fk_area_parent_code_area")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_area")),
    )
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_area_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=True),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)

    op.create_table(
        "crosswalk_version",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("crosswalk_code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=True),
        sa.Column("file_hash", sa.String(length=128), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=True),
        sa.Column("loaded_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosswalk_version")),
        sa.UniqueConstraint(
            "crosswalk_code", "version", name=op.f("uq_crosswalk_version_crosswalk_code_version")
        ),
    )
    op.create_table(
        "role",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("name_es", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_role")),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        sa.Column("role_code", sa.String(length=32), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agency.code"], name=op.f("fk_app_user_agency_code_agency")
        ),
        sa.ForeignKeyConstraint(
            ["role_code"], ["role.code"], name=op.f("fk_app_user_role_code_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_table(
        "crosswalk_row",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("national_code", sa.String(length=64), nullable=False),
        sa.Column("national_label", sa.String(length=300), nullable=True),
        sa.Column("iccs_code", sa.String(length=16), nullable=True),
        sa.Column("mapping_type", sa.String(length=16), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("sets", sa.Text(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["crosswalk_version.id"],
            name=op.f("fk_crosswalk_row_version_id_crosswalk_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosswalk_row")),
    )
    with op.batch_alter_table("crosswalk_row", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crosswalk_row_national_code"), ["national_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_crosswalk_row_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "population",
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("population", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_code"], ["area.code"], name=op.f("fk_population_area_code_area")
        ),
        sa.PrimaryKeyConstraint(
            "area_code", "year", "sex", "age_group", name=op.f("pk_population")
        ),
    )
    op.create_table(
        "source",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.Column("crosswalk_code", sa.String(length=64), nullable=True),
        sa.Column("expected_from", sa.Date(), nullable=True),
        sa.Column("expected_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agency.code"], name=op.f("fk_source_agency_code_agency")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_source")),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_agency_code"), ["agency_code"], unique=False)

    op.create_table(
        "batch",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_code", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=500), nullable=True),
        sa.Column("file_hash", sa.String(length=128), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_accepted", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("rows_duplicate", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(), nullable=True),
        sa.Column("loaded_by", sa.String(length=100), nullable=True),
        sa.Column(
            "supersedes_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("report", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_code"], ["source.code"], name=op.f("fk_batch_source_code_source")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], ["batch.id"], name=op.f("fk_batch_supersedes_id_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch")),
    )
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_batch_source_period", ["source_code", "period_start", "period_end"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_batch_status"), ["status"], unique=False)

    op.create_table(
        "custody",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_code", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("person_key", sa.String(length=128), nullable=True),
        sa.Column("facility_code", sa.String(length=64), nullable=True),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("admitted_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("custody_status", sa.String(length=16), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("age", sa.SmallInteger(), nullable=True),
        sa.Column("citizenship", sa.String(length=16), nullable=True),
        sa.Column("national_code", sa.String(length=64), nullable=True),
        sa.Column("iccs_code", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_code"], ["area.code"], name=op.f("fk_custody_area_code_area")
        ),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_custody_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["source_code"], ["source.code"], name=op.f("fk_custody_source_code_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody")),
        sa.UniqueConstraint(
            "source_code",
            "external_id",
            "batch_id",
            name=op.f("uq_custody_source_code_external_id_batch_id"),
        ),
    )
    with op.batch_alter_table("custody", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_custody_person_key"), ["person_key"], unique=False)

    op.create_table(
        "incident",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_code", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("occurred_from", sa.DateTime(), nullable=False),
        sa.Column("occurred_to", sa.DateTime(), nullable=True),
        sa.Column("occurred_precision", sa.String(length=16), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("location_type", sa.String(length=32), nullable=True),
        sa.Column("attempted", sa.String(length=32), nullable=True),
        sa.Column("weapon", sa.String(length=32), nullable=True),
        sa.Column("situational_context", sa.String(length=32), nullable=True),
        sa.Column("motive", sa.String(length=32), nullable=True),
        sa.Column("cyber_related", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_code"], ["area.code"], name=op.f("fk_incident_area_code_area")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_incident_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["source_code"], ["source.code"], name=op.f("fk_incident_source_code_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
        sa.UniqueConstraint(
            "source_code",
            "external_id",
            "batch_id",
            name=op.f("uq_incident_source_code_external_id_batch_id"),
        ),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_area_code"), ["area_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "quarantine_row",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("row_number", sa.BigInteger(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_quarantine_row_batch_id_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_row")),
    )
    with op.batch_alter_table("quarantine_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_row_batch_id"), ["batch_id"], unique=False)

    op.create_table(
        "offence",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("national_code", sa.String(length=64), nullable=False),
        sa.Column("national_label", sa.String(length=300), nullable=True),
        sa.Column("iccs_code", sa.String(length=16), nullable=True),
        sa.Column("crosswalk_version", sa.Integer(), nullable=True),
        sa.Column("mapping_type", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_offence_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_offence_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offence")),
    )
    with op.batch_alter_table("offence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offence_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offence_iccs_code"), ["iccs_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_offence_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_offence_national_code"), ["national_code"], unique=False
        )

    op.create_table(
        "perpetrator",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "offence_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("person_key", sa.String(length=128), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("age", sa.SmallInteger(), nullable=True),
        sa.Column("relationship", sa.String(length=32), nullable=True),
        sa.Column("citizenship", sa.String(length=16), nullable=True),
        sa.Column("recidivist", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batch.id"], name=op.f("fk_perpetrator_batch_id_batch")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_perpetrator_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["offence_id"], ["offence.id"], name=op.f("fk_perpetrator_offence_id_offence")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perpetrator")),
    )
    with op.batch_alter_table("perpetrator", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_perpetrator_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_perpetrator_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_perpetrator_person_key"), ["person_key"], unique=False)

    op.create_table(
        "victim",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "offence_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("person_key", sa.String(length=128), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=True),
        sa.Column("age", sa.SmallInteger(), nullable=True),
        sa.Column("relationship", sa.String(length=32), nullable=True),
        sa.Column("citizenship", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batch.id"], name=op.f("fk_victim_batch_id_batch")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_victim_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["offence_id"], ["offence.id"], name=op.f("fk_victim_offence_id_offence")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim")),
    )
    with op.batch_alter_table("victim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_victim_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_victim_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("victim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_victim_incident_id"))
        batch_op.drop_index(batch_op.f("ix_victim_batch_id"))

    op.drop_table("victim")
    with op.batch_alter_table("perpetrator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_perpetrator_person_key"))
        batch_op.drop_index(batch_op.f("ix_perpetrator_incident_id"))
        batch_op.drop_index(batch_op.f("ix_perpetrator_batch_id"))

    op.drop_table("perpetrator")
    with op.batch_alter_table("offence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offence_national_code"))
        batch_op.drop_index(batch_op.f("ix_offence_incident_id"))
        batch_op.drop_index(batch_op.f("ix_offence_iccs_code"))
        batch_op.drop_index(batch_op.f("ix_offence_batch_id"))

    op.drop_table("offence")
    with op.batch_alter_table("quarantine_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_row_batch_id"))

    op.drop_table("quarantine_row")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_batch_id"))
        batch_op.drop_index(batch_op.f("ix_incident_area_code"))

    op.drop_table("incident")
    with op.batch_alter_table("custody", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_person_key"))
        batch_op.drop_index(batch_op.f("ix_custody_batch_id"))

    op.drop_table("custody")
    with op.batch_alter_table("batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batch_status"))
        batch_op.drop_index("ix_batch_source_period")

    op.drop_table("batch")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_agency_code"))

    op.drop_table("source")
    op.drop_table("population")
    with op.batch_alter_table("crosswalk_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crosswalk_row_version_id"))
        batch_op.drop_index(batch_op.f("ix_crosswalk_row_national_code"))

    op.drop_table("crosswalk_row")
    op.drop_table("app_user")
    op.drop_table("role")
    op.drop_table("crosswalk_version")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))

    op.drop_table("audit_event")
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_area_parent_code"))

    op.drop_table("area")
    op.drop_table("agency")
