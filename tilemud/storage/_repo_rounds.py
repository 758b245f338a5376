"""Rounds of epic arenas: each round is an ``arenas`` row of its own, so its log,
checksums, snapshots, participants, replay and 7-day purge are those of any arena.

A round's row names its arena (``parent_id``), its number and its first tick, and copies
the arena's mode, region, rules and seed (the seed decides conflicts in every round).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.storage import tables as t
from tilemud.storage._errors import RecordRejected
from tilemud.storage._records import ArenaRecord, RoundStart
from tilemud.storage._sql import arena_from_row, insert


def start_round(conn: Connection, start: RoundStart, *, at: dt.datetime) -> None:
    """Store round ``start.round`` of ``start.parent_id``; storing it again changes nothing.

    Raises:
        RecordRejected: the parent arena is not stored.
    """
    parent = conn.execute(sa.select(t.arenas).where(t.arenas.c.id == start.parent_id)).first()
    if parent is None:
        raise RecordRejected(f"round {start.arena_id}: no arena {start.parent_id}")
    stmt = insert(conn, t.arenas).values(
        id=start.arena_id,
        mode=parent.mode,
        region=parent.region,
        rules_version=parent.rules_version,
        seed=parent.seed,
        state=t.LIVE,
        created=at,
        parent_id=start.parent_id,
        round=start.round,
        first_tick=start.first_tick,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.arenas.c.id]))


def list_rounds(conn: Connection, parent_id: str, *, limit: int) -> list[ArenaRecord]:
    """The rounds of arena ``parent_id``, the latest first, at most ``limit``."""
    rows = conn.execute(
        sa.select(t.arenas)
        .where(t.arenas.c.parent_id == parent_id)
        .order_by(t.arenas.c.round.desc())
        .limit(limit)
    )
    return [arena_from_row(row) for row in rows]


def latest_round(conn: Connection, parent_id: str) -> ArenaRecord | None:
    """The round of arena ``parent_id`` with the highest number, or None."""
    rounds = list_rounds(conn, parent_id, limit=1)
    return rounds[0] if rounds else None
