"""Seed the roles (administrator, analyst, steward, viewer) in English and Spanish.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = [
    {"code": "administrator", "name_en": "Administrator", "name_es": "Administrador"},
    {"code": "analyst", "name_en": "Analyst", "name_es": "Analista"},
    {"code": "steward", "name_en": "Data steward", "name_es": "Responsable de datos"},
    {"code": "viewer", "name_en": "Viewer", "name_es": "Consulta"},
]


def upgrade() -> None:
    role = sa.table(
        "role",
        sa.column("code", sa.String),
        sa.column("name_en", sa.String),
        sa.column("name_es", sa.String),
    )
    op.bulk_insert(role, ROLES)


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM role WHERE code IN ('administrator', 'analyst', 'steward', 'viewer')")
    )
