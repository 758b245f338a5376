"""Who took part in an arena (``arena_players``), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.storage.test_repositories import at, new_arena
from tilemud.game import Placement
from tilemud.storage import (
    Database,
    ParticipantRecord,
    PlacementRecord,
    RecordNotFound,
    RecordRejected,
    append_placements,
    end_arena,
    load_participants,
    load_replay,
    purge_replays,
    record_participants,
)
from tilemud.storage import tables as t


def joined(arena_id: str, player_id: str, seconds: float = 0.0) -> ParticipantRecord:
    return ParticipantRecord(arena_id=arena_id, player_id=player_id, joined=at(seconds))


def stored_rows(db: Database) -> list[tuple[str, str, dt.datetime]]:
    p = t.arena_players
    with db.transaction() as conn:
        rows = conn.execute(sa.select(p).order_by(p.c.arena_id, p.c.player_id))
        return [(r.arena_id, r.player_id, r.joined) for r in rows]


def test_participants_are_stored_once_and_read_back_sorted(db: Database) -> None:
    new_arena(db, "a1")
    new_arena(db, "a2")
    rows = [joined("a1", "p_zed", 1), joined("a1", "p_ann", 2), joined("a2", "p_bob", 3)]
    with db.transaction() as conn:
        assert record_participants(conn, rows) == 3
    with db.transaction() as conn:
        # A rejoin (or a batch written again after an unclear failure) changes nothing.
        assert record_participants(conn, [joined("a1", "p_ann", 99), *rows]) == 4
        assert load_participants(conn, "a1") == ("p_ann", "p_zed")
        assert load_participants(conn, "a2") == ("p_bob",)
        assert load_participants(conn, "nowhere") == ()
        assert record_participants(conn, []) == 0
    assert stored_rows(db) == [
        ("a1", "p_ann", at(2)),
        ("a1", "p_zed", at(1)),
        ("a2", "p_bob", at(3)),
    ]


def test_participants_of_an_unknown_arena_are_rejected(db: Database) -> None:
    with pytest.raises(RecordRejected):
        db.run(lambda conn: record_participants(conn, [joined("nope", "p1")]))


def test_one_statement_may_name_a_player_twice(db: Database) -> None:
    # The write-behind path can put a join and a rejoin in one batch.
    new_arena(db, "a1")
    with db.transaction() as conn:
        record_participants(conn, [joined("a1", "p1", 5), joined("a1", "p1", 6)])
    assert stored_rows(db) == [("a1", "p1", at(5))]


def test_purging_a_replay_forgets_its_participants(db: Database) -> None:
    for arena_id in ("old", "new"):
        new_arena(db, arena_id)
    with db.transaction() as conn:
        record_participants(conn, [joined("old", "p1"), joined("new", "p1"), joined("new", "p2")])
        placement = Placement(player_id="p1", x=0, y=0, kind="stone")
        append_placements(conn, [PlacementRecord.of("old", 1, 0, placement)])
        end_arena(conn, arena_id="old", at=at(10), result=None)
        end_arena(conn, arena_id="new", at=at(100), result=None)
        assert purge_replays(conn, ended_before=at(50), at=at(200)) == 1
    with db.transaction() as conn:
        assert load_participants(conn, "old") == ()
        assert load_participants(conn, "new") == ("p1", "p2")
        with pytest.raises(RecordNotFound, match="purged"):
            load_replay(conn, "old")
