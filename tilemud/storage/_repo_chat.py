"""Repositories of blocks, channel chat and direct messages: sync functions on a Connection.

Each runs inside the caller's transaction and is idempotent: a block already there, a
message id already stored (``ON CONFLICT DO NOTHING``), a delivery already marked keeps its
first time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.storage import tables as t
from tilemud.storage._records_chat import ChatMessageRecord, DirectMessageRecord
from tilemud.storage._sql import insert


def block(conn: Connection, *, blocker_id: str, blocked_id: str, at: dt.datetime) -> bool:
    """``blocker_id`` blocks ``blocked_id``.

    Returns:
        True if the block is new, False if it was there already (its time is kept).
    """
    stmt = insert(conn, t.blocks).values(blocker_id=blocker_id, blocked_id=blocked_id, created=at)
    result = conn.execute(
        stmt.on_conflict_do_nothing(
            index_elements=[t.blocks.c.blocker_id, t.blocks.c.blocked_id]
        ).returning(t.blocks.c.blocker_id)
    )
    return result.first() is not None


def unblock(conn: Connection, *, blocker_id: str, blocked_id: str) -> bool:
    """Lift a block. Returns True if there was one."""
    result = conn.execute(
        sa.delete(t.blocks)
        .where(t.blocks.c.blocker_id == blocker_id, t.blocks.c.blocked_id == blocked_id)
        .returning(t.blocks.c.blocker_id)
    )
    return result.first() is not None


def is_blocked(conn: Connection, *, blocker_id: str, blocked_id: str) -> bool:
    """Whether ``blocker_id`` blocks ``blocked_id``."""
    row = conn.execute(
        sa.select(sa.literal(1)).where(
            t.blocks.c.blocker_id == blocker_id, t.blocks.c.blocked_id == blocked_id
        )
    ).first()
    return row is not None


def load_blocked(conn: Connection, blocker_id: str) -> tuple[str, ...]:
    """Whom ``blocker_id`` blocks, sorted."""
    rows = conn.execute(
        sa.select(t.blocks.c.blocked_id)
        .where(t.blocks.c.blocker_id == blocker_id)
        .order_by(t.blocks.c.blocked_id)
    )
    return tuple(rows.scalars())


def record_chat_messages(conn: Connection, messages: Iterable[ChatMessageRecord]) -> int:
    """Store channel messages; one whose id is stored already is skipped.

    Returns:
        How many rows were new.
    """
    values = [
        {
            "id": m.message_id,
            "channel": m.channel,
            "channel_type": m.channel_type,
            "sender_id": m.sender_id,
            "sender_name": m.sender_name,
            "text": m.text,
            "sent_at": m.sent_at,
        }
        for m in messages
    ]
    if not values:
        return 0
    ids = [v["id"] for v in values]
    known = set(
        conn.execute(sa.select(t.chat_messages.c.id).where(t.chat_messages.c.id.in_(ids))).scalars()
    )
    stmt = insert(conn, t.chat_messages).on_conflict_do_nothing(
        index_elements=[t.chat_messages.c.id]
    )
    conn.execute(stmt, values)
    # rowcount is not reliable here (psycopg answers -1): count what was not there before.
    return len(set(ids) - known)


def load_chat_history(
    conn: Connection, channel: str, *, since: dt.datetime, limit: int
) -> list[ChatMessageRecord]:
    """The last ``limit`` messages of ``channel`` sent at or after ``since``, oldest first."""
    c = t.chat_messages.c
    rows = conn.execute(
        sa.select(t.chat_messages)
        .where(c.channel == channel, c.sent_at >= since)
        .order_by(c.sent_at.desc(), c.id.desc())
        .limit(limit)
    ).all()
    return [_chat_from_row(row) for row in reversed(rows)]


def record_direct_message(conn: Connection, message: DirectMessageRecord) -> DirectMessageRecord:
    """Store a direct message once; a repeat of its id returns the row stored first."""
    stmt = insert(conn, t.direct_messages).values(
        id=message.message_id,
        sender_id=message.sender_id,
        sender_name=message.sender_name,
        recipient_id=message.recipient_id,
        text=message.text,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.direct_messages.c.id]))
    row = conn.execute(
        sa.select(t.direct_messages).where(t.direct_messages.c.id == message.message_id)
    ).one()
    return _direct_from_row(row)


def load_undelivered(
    conn: Connection, recipient_id: str, *, limit: int
) -> list[DirectMessageRecord]:
    """The first ``limit`` direct messages to ``recipient_id`` not yet delivered, oldest first."""
    c = t.direct_messages.c
    rows = conn.execute(
        sa.select(t.direct_messages)
        .where(c.recipient_id == recipient_id, c.delivered_at.is_(None))
        .order_by(c.sent_at, c.id)
        .limit(limit)
    ).all()
    return [_direct_from_row(row) for row in rows]


def mark_delivered(conn: Connection, message_ids: Sequence[str], *, at: dt.datetime) -> int:
    """Mark direct messages delivered (those already marked keep their first time).

    Returns:
        How many were newly marked.
    """
    if not message_ids:
        return 0
    c = t.direct_messages.c
    result = conn.execute(
        sa.update(t.direct_messages)
        .where(c.id.in_(list(message_ids)), c.delivered_at.is_(None))
        .values(delivered_at=at)
        .returning(c.id)
    )
    return len(result.all())


def purge_chat(
    conn: Connection, *, before: Mapping[str, dt.datetime], direct_before: dt.datetime | None
) -> tuple[int, int]:
    """Delete channel messages of each type sent before ``before[type]``, and direct
    messages sent before ``direct_before`` (delivered or not).

    A message sent exactly at the cut-off is kept.

    Returns:
        (channel messages deleted, direct messages deleted).
    """
    c = t.chat_messages.c
    chat = 0
    for channel_type, cut in sorted(before.items()):
        result = conn.execute(
            sa.delete(t.chat_messages)
            .where(c.channel_type == channel_type, c.sent_at < cut)
            .returning(c.id)
        )
        chat += len(result.all())
    direct = 0
    if direct_before is not None:
        d = t.direct_messages.c
        result = conn.execute(
            sa.delete(t.direct_messages).where(d.sent_at < direct_before).returning(d.id)
        )
        direct = len(result.all())
    return chat, direct


def _chat_from_row(row: sa.Row[Any]) -> ChatMessageRecord:
    return ChatMessageRecord(
        message_id=row.id,
        channel=row.channel,
        channel_type=row.channel_type,
        sender_id=row.sender_id,
        sender_name=row.sender_name,
        text=row.text,
        sent_at=row.sent_at,
    )


def _direct_from_row(row: sa.Row[Any]) -> DirectMessageRecord:
    return DirectMessageRecord(
        message_id=row.id,
        sender_id=row.sender_id,
        sender_name=row.sender_name,
        recipient_id=row.recipient_id,
        text=row.text,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
    )
