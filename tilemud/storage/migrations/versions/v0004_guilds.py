"""Social: ``guilds``, ``guild_members`` and ``guild_invites``.

Revision ID: 0004
Revises: 0003
Create Date: 2025-03-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = 128
_NAME = 64


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "guilds",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("name", sa.String(_NAME), nullable=False),
        # NFKC + casefold can grow a name (one character may fold to several).
        sa.Column("name_key", sa.String(_NAME * 4), nullable=False),
        _timestamp("created"),
        sa.PrimaryKeyConstraint("id", name="pk_guilds"),
        sa.UniqueConstraint("name_key", name="uq_guilds_name_key"),
    )
    op.create_table(
        "guild_members",
        sa.Column("player_id", sa.String(_ID), nullable=False),
        sa.Column("guild_id", sa.String(_ID), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        _timestamp("joined"),
        sa.CheckConstraint("role IN ('leader', 'officer', 'member')", name="ck_guild_members_role"),
        sa.ForeignKeyConstraint(
            ["guild_id"], ["guilds.id"], name="fk_guild_members_guild_id_guilds"
        ),
        # One guild per player: the player is the key.
        sa.PrimaryKeyConstraint("player_id", name="pk_guild_members"),
    )
    op.create_index("ix_guild_members_guild_id", "guild_members", ["guild_id"])
    op.create_table(
        "guild_invites",
        sa.Column("guild_id", sa.String(_ID), nullable=False),
        sa.Column("player_id", sa.String(_ID), nullable=False),
        sa.Column("invited_by", sa.String(_ID), nullable=False),
        _timestamp("created"),
        sa.ForeignKeyConstraint(
            ["guild_id"], ["guilds.id"], name="fk_guild_invites_guild_id_guilds"
        ),
        sa.PrimaryKeyConstraint("guild_id", "player_id", name="pk_guild_invites"),
    )
    # "The invites of P", dropped when P joins or founds a guild.
    op.create_index("ix_guild_invites_player_id", "guild_invites", ["player_id"])


def downgrade() -> None:
    op.drop_index("ix_guild_invites_player_id", table_name="guild_invites")
    op.drop_table("guild_invites")
    op.drop_index("ix_guild_members_guild_id", table_name="guild_members")
    op.drop_table("guild_members")
    op.drop_table("guilds")
