"""Who took part in each arena: ``arena_players``, the replay's audience.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = 128


def upgrade() -> None:
    op.create_table(
        "arena_players",
        sa.Column("arena_id", sa.String(_ID), nullable=False),
        sa.Column("player_id", sa.String(_ID), nullable=False),
        sa.Column("joined", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["arena_id"], ["arenas.id"], name="fk_arena_players_arena_id_arenas"
        ),
        # Also the index that reads "the players of arena A", the only query on it.
        sa.PrimaryKeyConstraint("arena_id", "player_id", name="pk_arena_players"),
    )


def downgrade() -> None:
    op.drop_table("arena_players")
