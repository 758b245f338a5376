"""Repositories of an arena's history: the placement log, tick checksums, snapshots, and
who took part (its replay's audience).

Sync functions taking a Connection, run inside the caller's transaction. Appends ignore
rows already stored under the same key, so a batch written again after an unclear failure
(the commit went through, the acknowledgement did not) is not an error and adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.storage import tables as t
from tilemud.storage._errors import RecordNotFound
from tilemud.storage._log_insert import LogInsert
from tilemud.storage._records import (
    ArenaEvent,
    ParticipantRecord,
    PlacementRecord,
    Recovery,
    Replay,
    Snapshot,
    TickChecksum,
    logged_ticks,
)
from tilemud.storage._repo_world import load_arena, load_rule_config
from tilemud.storage._sql import insert

# The write-behind's hot path (issue 13): SQL fixed once, rows handed to the driver.
_PLACEMENTS: Final = LogInsert.of(t.placements, PlacementRecord)
_TICK_CHECKSUMS: Final = LogInsert.of(t.tick_checksums, TickChecksum)


def append_placements(conn: Connection, rows: Sequence[PlacementRecord]) -> int:
    """Append accepted placements to the log, in one statement.

    Returns:
        How many rows were given (those already stored are skipped, not counted apart).
    """
    return _PLACEMENTS.run(conn, rows)


def record_tick_checksums(conn: Connection, rows: Sequence[TickChecksum]) -> int:
    """Store tick checksums (a tick already stored keeps its first checksum).

    Returns:
        How many rows were given.
    """
    return _TICK_CHECKSUMS.run(conn, rows)


def record_events(conn: Connection, rows: Sequence[ArenaEvent]) -> int:
    """Store arena events (an event of a kind already stored for that tick keeps the first).

    Returns:
        How many rows were given.
    """
    if not rows:
        return 0
    e = t.arena_events
    stmt = insert(conn, e).on_conflict_do_nothing(index_elements=[e.c.arena_id, e.c.tick, e.c.kind])
    conn.execute(
        stmt,
        [
            {"arena_id": r.arena_id, "tick": r.tick, "kind": r.kind, "detail": dict(r.detail)}
            for r in rows
        ],
    )
    return len(rows)


def load_events(conn: Connection, arena_id: str) -> tuple[ArenaEvent, ...]:
    """The arena's events, by tick then kind."""
    e = t.arena_events
    rows = conn.execute(sa.select(e).where(e.c.arena_id == arena_id).order_by(e.c.tick, e.c.kind))
    return tuple(
        ArenaEvent(arena_id=r.arena_id, tick=r.tick, kind=r.kind, detail=r.detail) for r in rows
    )


def record_participants(conn: Connection, rows: Sequence[ParticipantRecord]) -> int:
    """Remember who took part in arenas (a player already stored keeps its first ``joined``).

    Returns:
        How many rows were given.
    """
    if not rows:
        return 0
    stmt = insert(conn, t.arena_players).on_conflict_do_nothing(
        index_elements=[t.arena_players.c.arena_id, t.arena_players.c.player_id]
    )
    conn.execute(
        stmt,
        [{"arena_id": r.arena_id, "player_id": r.player_id, "joined": r.joined} for r in rows],
    )
    return len(rows)


def load_participants(conn: Connection, arena_id: str) -> tuple[str, ...]:
    """The ids of the players who took part in the arena, sorted (none when purged)."""
    p = t.arena_players
    query = sa.select(p.c.player_id).where(p.c.arena_id == arena_id).order_by(p.c.player_id)
    return tuple(conn.execute(query).scalars())


def save_snapshot(conn: Connection, snapshot: Snapshot, *, at: dt.datetime) -> None:
    """Store a snapshot (a snapshot of the same arena and tick already stored is kept)."""
    stmt = insert(conn, t.board_snapshots).values(
        arena_id=snapshot.arena_id,
        tick=snapshot.tick,
        board=snapshot.board,
        checksum=snapshot.checksum,
        last_placed=dict(snapshot.last_placed),
        created=at,
    )
    conn.execute(
        stmt.on_conflict_do_nothing(
            index_elements=[t.board_snapshots.c.arena_id, t.board_snapshots.c.tick]
        )
    )


def load_latest_snapshot(conn: Connection, arena_id: str) -> Snapshot | None:
    """The arena's snapshot of the highest tick, or None."""
    s = t.board_snapshots
    row = conn.execute(
        sa.select(s).where(s.c.arena_id == arena_id).order_by(s.c.tick.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return Snapshot(
        arena_id=row.arena_id,
        tick=row.tick,
        board=bytes(row.board),
        checksum=row.checksum,
        last_placed=row.last_placed,
    )


def load_placements(
    conn: Connection, arena_id: str, *, after_tick: int | None = None
) -> tuple[PlacementRecord, ...]:
    """The arena's logged placements after ``after_tick`` (all when None), in order."""
    p = t.placements
    query = sa.select(p).where(p.c.arena_id == arena_id)
    if after_tick is not None:
        query = query.where(p.c.tick > after_tick)
    rows = conn.execute(query.order_by(p.c.tick, p.c.ordinal))
    return tuple(_placement(r) for r in rows)


def load_answered_placements(
    conn: Connection, arena_id: str, *, after_tick: int
) -> tuple[PlacementRecord, ...]:
    """The arena's logged placements with a ``rid`` after ``after_tick``, in order."""
    p = t.placements
    rows = conn.execute(
        sa.select(p)
        .where(p.c.arena_id == arena_id, p.c.tick > after_tick, p.c.rid.is_not(None))
        .order_by(p.c.tick, p.c.ordinal)
    )
    return tuple(_placement(r) for r in rows)


def load_tick_checksums(
    conn: Connection, arena_id: str, *, after_tick: int | None = None
) -> tuple[TickChecksum, ...]:
    """The arena's tick checksums after ``after_tick`` (all when None), by tick."""
    c = t.tick_checksums
    query = sa.select(c).where(c.c.arena_id == arena_id)
    if after_tick is not None:
        query = query.where(c.c.tick > after_tick)
    rows = conn.execute(query.order_by(c.c.tick))
    return tuple(TickChecksum(arena_id=r.arena_id, tick=r.tick, checksum=r.checksum) for r in rows)


def load_recovery(conn: Connection, arena_id: str) -> Recovery:
    """The latest snapshot of an arena and everything logged after it.

    Raises:
        RecordNotFound: no such arena (or its rule config is missing).
    """
    arena = load_arena(conn, arena_id)
    rules = load_rule_config(conn, arena.rules_version)
    snapshot = load_latest_snapshot(conn, arena_id)
    after = None if snapshot is None else snapshot.tick
    return Recovery(
        arena=arena,
        rules=rules,
        snapshot=snapshot,
        placements=load_placements(conn, arena_id, after_tick=after),
        checksums=load_tick_checksums(conn, arena_id, after_tick=after),
    )


def load_replay(conn: Connection, arena_id: str) -> Replay:
    """An arena's whole history: rules, seed, placements per tick and checksums.

    Raises:
        RecordNotFound: no such arena, or its replay was purged.
    """
    arena = load_arena(conn, arena_id)
    if arena.purged is not None:
        raise RecordNotFound(f"the replay of arena {arena_id} was purged at {arena.purged}")
    rules = load_rule_config(conn, arena.rules_version)
    ticks = logged_ticks(load_placements(conn, arena_id), load_tick_checksums(conn, arena_id))
    return Replay(arena=arena, rules=rules, ticks=ticks, events=load_events(conn, arena_id))


def _placement(r: sa.Row[Any]) -> PlacementRecord:
    return PlacementRecord(
        arena_id=r.arena_id,
        tick=r.tick,
        ordinal=r.ordinal,
        player_id=r.player_id,
        x=r.x,
        y=r.y,
        kind=r.kind,
        rid=r.rid,
    )
