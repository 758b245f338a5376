"""The first schema: players, rule configs, arenas, snapshots, placements, tick checksums.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = 128


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "players",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("name", sa.String(_ID), nullable=False),
        _timestamp("created"),
        _timestamp("last_seen"),
        sa.PrimaryKeyConstraint("id", name="pk_players"),
    )
    op.create_table(
        "rule_configs",
        sa.Column("version", sa.String(80), nullable=False),
        sa.Column("body", _json(), nullable=False),
        _timestamp("created"),
        sa.PrimaryKeyConstraint("version", name="pk_rule_configs"),
    )
    op.create_table(
        "arenas",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("rules_version", sa.String(80), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        _timestamp("created"),
        _timestamp("ended", nullable=True),
        sa.Column("result", _json(), nullable=True),
        _timestamp("purged", nullable=True),
        sa.CheckConstraint("state IN ('live', 'ended')", name="ck_arenas_state"),
        sa.ForeignKeyConstraint(
            ["rules_version"],
            ["rule_configs.version"],
            name="fk_arenas_rules_version_rule_configs",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_arenas"),
    )
    op.create_index("ix_arenas_state", "arenas", ["state"])
    op.create_index("ix_arenas_ended", "arenas", ["ended"])
    op.create_table(
        "board_snapshots",
        sa.Column("arena_id", sa.String(_ID), nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("board", sa.LargeBinary(), nullable=False),
        sa.Column("checksum", sa.String(80), nullable=False),
        sa.Column("last_placed", _json(), nullable=False),
        _timestamp("created"),
        sa.ForeignKeyConstraint(
            ["arena_id"], ["arenas.id"], name="fk_board_snapshots_arena_id_arenas"
        ),
        sa.PrimaryKeyConstraint("arena_id", "tick", name="pk_board_snapshots"),
    )
    op.create_table(
        "placements",
        sa.Column("arena_id", sa.String(_ID), nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("player_id", sa.String(_ID), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(["arena_id"], ["arenas.id"], name="fk_placements_arena_id_arenas"),
        # Also the index that reads "placements of arena A after tick T", in order.
        sa.PrimaryKeyConstraint("arena_id", "tick", "ordinal", name="pk_placements"),
    )
    op.create_table(
        "tick_checksums",
        sa.Column("arena_id", sa.String(_ID), nullable=False),
        sa.Column("tick", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(
            ["arena_id"], ["arenas.id"], name="fk_tick_checksums_arena_id_arenas"
        ),
        sa.PrimaryKeyConstraint("arena_id", "tick", name="pk_tick_checksums"),
    )


def downgrade() -> None:
    op.drop_table("tick_checksums")
    op.drop_table("placements")
    op.drop_table("board_snapshots")
    op.drop_index("ix_arenas_ended", table_name="arenas")
    op.drop_index("ix_arenas_state", table_name="arenas")
    op.drop_table("arenas")
    op.drop_table("rule_configs")
    op.drop_table("players")
