"""Events of an arena's log beside its placements: NPC capacity changes (issue 15).

One row per arena, tick and kind; ``detail`` is a JSON object. Arenas logged before this
have no rows, and their replays read as before (no events).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = 128


def upgrade() -> None:
    op.create_table(
        "arena_events",
        sa.Column("arena_id", sa.String(_ID), sa.ForeignKey("arenas.id"), primary_key=True),
        sa.Column("tick", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column(
            "detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
    )


def downgrade() -> None:
    op.drop_table("arena_events")
