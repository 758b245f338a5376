"""The client's request id of each logged placement (issue 16: failover).

A node that restores an arena after its owner died answers a client repeating the
``rid`` of a placement that was committed (its answer lost with the node) with that
placement's ``accepted`` result instead of applying it again. Placements logged before
this have no ``rid``; NPC placements carry their own.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_RID = 128


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("rid", sa.String(_RID), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.drop_column("rid")
