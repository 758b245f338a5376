"""Repository of replay management: list and search replays, delete one (the admin API).

A replay is an arena row (a battle, an epic arena without rounds, or one round of one) whose
log is still stored. Deleting one removes what the janitor's purge removes (placements,
checksums, snapshots, participants) and marks the row ``purged``: the arena, its result and
its rules stay, as after a purge.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.storage import tables as t
from tilemud.storage._errors import PLAYED_IN_ROUNDS, RecordConflict, RecordNotFound
from tilemud.storage._records_rules import ReplayQuery, ReplaySummary
from tilemud.storage._repo_rules import version_numbers
from tilemud.storage._repo_world import drop_replay_logs, load_arena


def search_replays(conn: Connection, query: ReplayQuery) -> list[ReplaySummary]:
    """The stored replays matching ``query``, newest first."""
    arenas, players = t.arenas, t.arena_players
    rounds = arenas.alias("rounds")
    count = (
        sa.select(sa.func.count())
        .where(players.c.arena_id == arenas.c.id)
        .correlate(arenas)
        .scalar_subquery()
    )
    statement = (
        sa.select(arenas, count.label("participants"))
        .where(
            arenas.c.purged.is_(None),
            # An arena played in rounds has no log of its own: its rounds are the replays.
            ~sa.exists().where(rounds.c.parent_id == arenas.c.id),
        )
        .order_by(arenas.c.created.desc(), arenas.c.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )
    if query.player is not None:
        statement = statement.where(
            sa.exists().where(
                players.c.arena_id == arenas.c.id, players.c.player_id == query.player
            )
        )
    if query.mode is not None:
        statement = statement.where(arenas.c.mode == query.mode)
    if query.since is not None:
        statement = statement.where(arenas.c.created >= query.since)
    if query.until is not None:
        statement = statement.where(arenas.c.created < query.until)
    rows = conn.execute(statement).all()
    numbers = version_numbers(conn, {row.rules_version for row in rows})
    return [
        ReplaySummary(
            arena_id=row.id,
            mode=row.mode,
            region=row.region,
            state=row.state,
            created=row.created,
            ended=row.ended,
            parent_id=row.parent_id,
            round=row.round,
            rules_version=row.rules_version,
            rule_version=numbers.get((row.mode, row.rules_version)),
            participants=row.participants,
            result=row.result,
        )
        for row in rows
    ]


def delete_replay(conn: Connection, arena_id: str, *, at: dt.datetime) -> None:
    """Delete an ended arena's replay (its log, checksums, snapshots, participants).

    Raises:
        RecordNotFound: no such arena, its replay is gone already, or (``code``
            ``played_in_rounds``) it is an arena played in rounds: delete a round.
        RecordConflict: ``replay_live``, the arena still runs.
    """
    arena = load_arena(conn, arena_id)
    if arena.purged is not None:
        raise RecordNotFound(f"the replay of arena {arena_id} is deleted already")
    has_rounds = conn.execute(
        sa.select(t.arenas.c.id).where(t.arenas.c.parent_id == arena_id).limit(1)
    ).first()
    if has_rounds is not None:
        raise RecordNotFound(f"arena {arena_id} is played in rounds", code=PLAYED_IN_ROUNDS)
    if arena.state != t.ENDED:
        raise RecordConflict(f"arena {arena_id} still runs", code="replay_live")
    # Claim the row first: of two deletions at once (PostgreSQL), the second waits for
    # the first's commit, then finds it purged and deletes (and audits) nothing.
    claimed = conn.execute(
        sa.update(t.arenas)
        .where(t.arenas.c.id == arena_id, t.arenas.c.purged.is_(None))
        .values(purged=at)
    )
    if claimed.rowcount != 1:
        raise RecordNotFound(f"the replay of arena {arena_id} is deleted already")
    drop_replay_logs(conn, [arena_id], at=at)
