"""Lean indexes on the record tables: what the store's own reads use, nothing more.

The record tables are written in bulk, one batch at a time, and read back by batch (the
warehouse refresh, supersession, the prior keys of de-duplication) or by primary key; analysis
runs in the warehouse, not here. Every secondary index costs a random B-tree insert per row on
each load (measured with ``benchmarks/ingest_speed.py``: on SQLite the nine secondary indexes
doubled the insert time of a police file), so this revision keeps:

- ``incident`` and ``custody``: one unique index on ``(batch_id, external_id)`` instead of the
  unique constraint on ``(source_code, external_id, batch_id)`` plus ``ix_*_batch_id`` (a batch
  has one source, so uniqueness is the same; the index serves the reads by batch and stays
  local to the batch being written);
- ``offence``, ``victim``, ``perpetrator``, ``quarantine_row``: ``ix_*_batch_id``.

Dropped: ``ix_incident_area_code``, ``ix_offence_incident_id``, ``ix_offence_national_code``,
``ix_offence_iccs_code``, ``ix_victim_incident_id``, ``ix_perpetrator_incident_id``,
``ix_perpetrator_person_key``, ``ix_custody_person_key`` (no query of the store reads by them;
records are never deleted, so no foreign-key check needs them; linking a person across agencies
by ``person_key`` runs in the warehouse. The person-key index alone took a quarter of the
insert time of a police file: random 64-character keys).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = {
    "incident": ["ix_incident_area_code", "ix_incident_batch_id"],
    "offence": ["ix_offence_incident_id", "ix_offence_national_code", "ix_offence_iccs_code"],
    "victim": ["ix_victim_incident_id"],
    "perpetrator": ["ix_perpetrator_incident_id", "ix_perpetrator_person_key"],
    "custody": ["ix_custody_batch_id", "ix_custody_person_key"],
}
_UNIQUE = {
    "incident": "uq_incident_source_code_external_id_batch_id",
    "custody": "uq_custody_source_code_external_id_batch_id",
}


def upgrade() -> None:
    for table, names in _DROPPED.items():
        for name in names:
            op.drop_index(name, table_name=table)
    for table, name in _UNIQUE.items():
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(name, type_="unique")
        op.create_index(
            f"ux_{table}_batch_id_external_id", table, ["batch_id", "external_id"], unique=True
        )


def downgrade() -> None:
    for table, name in _UNIQUE.items():
        op.drop_index(f"ux_{table}_batch_id_external_id", table_name=table)
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_unique_constraint(name, ["source_code", "external_id", "batch_id"])
    columns = {
        "ix_incident_area_code": ["area_code"],
        "ix_incident_batch_id": ["batch_id"],
        "ix_offence_incident_id": ["incident_id"],
        "ix_offence_national_code": ["national_code"],
        "ix_offence_iccs_code": ["iccs_code"],
        "ix_victim_incident_id": ["incident_id"],
        "ix_perpetrator_incident_id": ["incident_id"],
        "ix_custody_batch_id": ["batch_id"],
        "ix_perpetrator_person_key": ["person_key"],
        "ix_custody_person_key": ["person_key"],
    }
    for table, names in _DROPPED.items():
        for name in names:
            op.create_index(name, table, columns[name])
