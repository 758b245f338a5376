"""The admin console: ``admins``, ``audit_log``, ``sanctions`` and ``reports``.

Revision ID: 0005
Revises: 0004
Create Date: 2025-03-10
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = 128


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        _timestamp("created"),
        sa.CheckConstraint("role IN ('admin', 'moderator')", name="ck_admins_role"),
        sa.PrimaryKeyConstraint("name", name="pk_admins"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(_ID), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(_ID), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    for column in ("at", "actor", "target", "action"):
        op.create_index(f"ix_audit_log_{column}", "audit_log", [column])
    op.create_table(
        "sanctions",
        sa.Column("player_id", sa.String(_ID), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        _timestamp("until", nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.String(_ID), nullable=False),
        _timestamp("created"),
        sa.CheckConstraint("kind IN ('mute', 'ban')", name="ck_sanctions_kind"),
        sa.PrimaryKeyConstraint("player_id", "kind", name="pk_sanctions"),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("reporter_id", sa.String(_ID), nullable=False),
        sa.Column("target_id", sa.String(_ID), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _timestamp("created"),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("decided_by", sa.String(_ID), nullable=True),
        _timestamp("decided_at", nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'dismissed', 'actioned')", name="ck_reports_state"),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
    )
    op.create_index("ix_reports_state_created", "reports", ["state", "created"])


def downgrade() -> None:
    op.drop_index("ix_reports_state_created", table_name="reports")
    op.drop_table("reports")
    op.drop_table("sanctions")
    for column in ("action", "target", "actor", "at"):
        op.drop_index(f"ix_audit_log_{column}", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("admins")
