"""Rounds of an epic arena: each round is an ``arenas`` row of its own (its replay), naming
the arena it belongs to (``parent_id``), its number (``round``) and its first tick.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = 128


def upgrade() -> None:
    with op.batch_alter_table("arenas") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(_ID), nullable=True))
        batch.add_column(sa.Column("round", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("first_tick", sa.BigInteger(), nullable=True))
        # "The rounds of arena A", listed over HTTP and read when A is brought back.
        batch.create_index("ix_arenas_parent_id_round", ["parent_id", "round"])


def downgrade() -> None:
    with op.batch_alter_table("arenas") as batch:
        batch.drop_index("ix_arenas_parent_id_round")
        batch.drop_column("first_tick")
        batch.drop_column("round")
        batch.drop_column("parent_id")
