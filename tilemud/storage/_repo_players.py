"""Finding players for moderators: by exact id or by the start of their name."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from tilemud.storage import tables as t
from tilemud.storage._records import PlayerRecord


def find_players(conn: Connection, text: str, *, limit: int) -> list[PlayerRecord]:
    """Players whose id is ``text`` or whose name starts with it (case-insensitive),
    the one with that id first, then the most recently seen."""
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    exact = sa.case((t.players.c.id == text, 0), else_=1)
    rows = conn.execute(
        sa.select(t.players)
        .where(
            sa.or_(
                t.players.c.id == text,
                sa.func.lower(t.players.c.name).like(pattern.lower(), escape="\\"),
            )
        )
        .order_by(exact, t.players.c.last_seen.desc(), t.players.c.id)
        .limit(limit)
    )
    return [
        PlayerRecord(player_id=r.id, name=r.name, created=r.created, last_seen=r.last_seen)
        for r in rows
    ]
