"""Repositories of players, rule configs and arenas: sync functions taking a Connection.

Each runs inside the caller's transaction (the storage actor opens one per request) and
is idempotent, so a request retried after an unclear failure does no harm: an upsert, an
insert that ignores an identical row already there, an end that keeps the first end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.game import RuleConfig, RuleConfigError
from tilemud.storage import tables as t
from tilemud.storage._errors import RecordNotFound, RecordRejected
from tilemud.storage._records import ArenaRecord, PlayerRecord, PlayerSeen
from tilemud.storage._sql import arena_from_row, insert, seed_to_db


def upsert_player(conn: Connection, *, player_id: str, name: str, seen_at: dt.datetime) -> None:
    """Remember a player: created on first sight, then its name and ``last_seen`` updated."""
    upsert_players(conn, [PlayerSeen(player_id=player_id, name=name, seen_at=seen_at)])


def load_player(conn: Connection, player_id: str) -> PlayerRecord | None:
    """The stored player, or None."""
    row = conn.execute(sa.select(t.players).where(t.players.c.id == player_id)).first()
    if row is None:
        return None
    return PlayerRecord(
        player_id=row.id, name=row.name, created=row.created, last_seen=row.last_seen
    )


def record_rule_config(conn: Connection, rules: RuleConfig, *, at: dt.datetime) -> str:
    """Store a rule config under its content hash (once; later calls change nothing).

    Returns:
        Its version, ``rules.content_hash``.
    """
    version = rules.content_hash
    stmt = insert(conn, t.rule_configs).values(version=version, body=rules.to_dict(), created=at)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.rule_configs.c.version]))
    return version


def load_rule_config(conn: Connection, version: str) -> RuleConfig:
    """The rule config stored under ``version``.

    Raises:
        RecordNotFound: no such version.
        RecordRejected: the stored body is not a valid config, or no longer hashes to
            ``version`` (it was altered).
    """
    body = conn.execute(
        sa.select(t.rule_configs.c.body).where(t.rule_configs.c.version == version)
    ).scalar_one_or_none()
    if body is None:
        raise RecordNotFound(f"no rule config {version}")
    try:
        rules = RuleConfig.from_dict(body)
    except RuleConfigError as exc:
        raise RecordRejected(f"stored rule config {version} is invalid: {exc}") from exc
    if rules.content_hash != version:
        raise RecordRejected(f"stored rule config {version} hashes to {rules.content_hash}")
    return rules


def create_arena(
    conn: Connection,
    *,
    arena_id: str,
    mode: str,
    region: str,
    rules_version: str,
    seed: int,
    at: dt.datetime,
) -> ArenaRecord:
    """Create a live arena; creating it again with the same values returns the stored one.

    Raises:
        RecordRejected: ``arena_id`` is taken by an arena with other values.
        ValueError: ``seed`` is not in ``[0, 2**64)``.
        sqlalchemy.exc.IntegrityError: ``rules_version`` is not stored (the storage actor
            turns it into :class:`RecordRejected`).
    """
    stmt = insert(conn, t.arenas).values(
        id=arena_id,
        mode=mode,
        region=region,
        rules_version=rules_version,
        seed=seed_to_db(seed),
        state=t.LIVE,
        created=at,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.arenas.c.id]))
    stored = load_arena(conn, arena_id)
    wanted = (mode, region, rules_version, seed)
    if (stored.mode, stored.region, stored.rules_version, stored.seed) != wanted:
        raise RecordRejected(f"arena {arena_id} already exists with other values")
    return stored


def load_arena(conn: Connection, arena_id: str) -> ArenaRecord:
    """The stored arena.

    Raises:
        RecordNotFound: no such arena.
    """
    row = conn.execute(sa.select(t.arenas).where(t.arenas.c.id == arena_id)).first()
    if row is None:
        raise RecordNotFound(f"no arena {arena_id}")
    return arena_from_row(row)


def end_arena(
    conn: Connection, *, arena_id: str, at: dt.datetime, result: Mapping[str, Any] | None
) -> ArenaRecord:
    """Mark a live arena ended at ``at`` with its ``result``; an ended one stays as it was.

    Raises:
        RecordNotFound: no such arena.
    """
    conn.execute(
        sa.update(t.arenas)
        .where(t.arenas.c.id == arena_id, t.arenas.c.state == t.LIVE)
        .values(state=t.ENDED, ended=at, result=None if result is None else dict(result))
    )
    return load_arena(conn, arena_id)


def list_live_arenas(conn: Connection) -> list[ArenaRecord]:
    """Every arena not ended, oldest first: those a restarted node must bring back."""
    rows = conn.execute(
        sa.select(t.arenas)
        # A live round is brought back with its arena, not on its own.
        .where(t.arenas.c.state == t.LIVE, t.arenas.c.parent_id.is_(None))
        .order_by(t.arenas.c.created, t.arenas.c.id)
    )
    return [arena_from_row(row) for row in rows]


def purge_replays(
    conn: Connection, *, ended_before: dt.datetime, at: dt.datetime, limit: int = 100
) -> int:
    """Delete the replays (placements, checksums, snapshots, participants) of arenas ended
    before a cutoff.

    The arena rows stay, with their result, marked ``purged`` at ``at``. At most ``limit``
    arenas are purged per call, oldest first, so one transaction stays short: call again
    until it returns 0.

    Returns:
        How many arenas were purged.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    ids = list(
        conn.execute(
            sa.select(t.arenas.c.id)
            .where(
                t.arenas.c.state == t.ENDED,
                t.arenas.c.ended < ended_before,
                t.arenas.c.purged.is_(None),
            )
            .order_by(t.arenas.c.ended, t.arenas.c.id)
            .limit(limit)
        ).scalars()
    )
    if not ids:
        return 0
    drop_replay_logs(conn, ids, at=at)
    return len(ids)


def drop_replay_logs(conn: Connection, arena_ids: Sequence[str], *, at: dt.datetime) -> None:
    """Delete the arenas' placements, checksums, snapshots, events and participants, and
    mark their rows ``purged`` at ``at`` (the rows and their results stay)."""
    tables = (t.placements, t.tick_checksums, t.board_snapshots, t.arena_players, t.arena_events)
    for table in tables:
        conn.execute(sa.delete(table).where(table.c.arena_id.in_(arena_ids)))
    conn.execute(sa.update(t.arenas).where(t.arenas.c.id.in_(arena_ids)).values(purged=at))


def upsert_players(conn: Connection, rows: Sequence[PlayerSeen]) -> int:
    """Remember players seen (a write-behind batch): created on first sight, then their
    name and ``last_seen`` updated.

    Returns:
        How many rows were given.
    """
    if not rows:
        return 0
    # One statement may not touch a row twice (PostgreSQL refuses): the latest sighting wins.
    latest = {row.player_id: row for row in rows}
    stmt = insert(conn, t.players)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.players.c.id],
            set_={"name": stmt.excluded.name, "last_seen": stmt.excluded.last_seen},
        ),
        [
            {"id": r.player_id, "name": r.name, "created": r.seen_at, "last_seen": r.seen_at}
            for r in latest.values()
        ],
    )
    return len(rows)
