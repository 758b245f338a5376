"""Social: ``blocks``, ``chat_messages`` and ``direct_messages``.

Revision ID: 0003
Revises: 0002
Create Date: 2025-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = 128
_CHANNEL = 160


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("blocker_id", sa.String(_ID), nullable=False),
        sa.Column("blocked_id", sa.String(_ID), nullable=False),
        _timestamp("created"),
        # Also the index for "whom does B block" and "does B block S".
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name="pk_blocks"),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("channel", sa.String(_CHANNEL), nullable=False),
        sa.Column("channel_type", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(_ID), nullable=False),
        sa.Column("sender_name", sa.String(_ID), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _timestamp("sent_at"),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
    )
    # The history read ("the last N of channel C") and the purge ("type T older than X").
    op.create_index("ix_chat_messages_channel_sent_at", "chat_messages", ["channel", "sent_at"])
    op.create_index(
        "ix_chat_messages_channel_type_sent_at", "chat_messages", ["channel_type", "sent_at"]
    )
    op.create_table(
        "direct_messages",
        sa.Column("id", sa.String(_ID), nullable=False),
        sa.Column("sender_id", sa.String(_ID), nullable=False),
        sa.Column("sender_name", sa.String(_ID), nullable=False),
        sa.Column("recipient_id", sa.String(_ID), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _timestamp("sent_at"),
        _timestamp("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_direct_messages"),
    )
    # "The undelivered messages of R", read when R connects.
    op.create_index(
        "ix_direct_messages_recipient_id_delivered_at",
        "direct_messages",
        ["recipient_id", "delivered_at"],
    )
    # The purge by age (retention_direct).
    op.create_index("ix_direct_messages_sent_at", "direct_messages", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_direct_messages_sent_at", table_name="direct_messages")
    op.drop_index("ix_direct_messages_recipient_id_delivered_at", table_name="direct_messages")
    op.drop_table("direct_messages")
    op.drop_index("ix_chat_messages_channel_type_sent_at", table_name="chat_messages")
    op.drop_index("ix_chat_messages_channel_sent_at", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_table("blocks")
