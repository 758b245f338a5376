"""Rounds in storage: each an arena row naming its arena; purged per round after 7 days."""

from __future__ import annotations

import datetime as dt

from tilemud.game import ARENA_RULES, Placement, RoundResult
from tilemud.storage import (
    Database,
    ParticipantRecord,
    PlacementRecord,
    append_placements,
    create_arena,
    list_rounds,
    load_participants,
    load_replay,
    record_participants,
    record_rule_config,
)
from tilemud.storage._records import RoundStart
from tilemud.storage._repo_rounds import latest_round, start_round
from tilemud.storage._repo_world import end_arena, list_live_arenas, purge_replays

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _round(conn_db: Database, number: int, *, ended: dt.datetime | None) -> None:
    with conn_db.transaction() as conn:
        round_id = f"a1.{number}"
        start = RoundStart(arena_id=round_id, parent_id="a1", round=number, first_tick=number)
        start_round(conn, start, at=T0)
        start_round(conn, start, at=T0)  # offered again after a restart: no change
        record_participants(
            conn, [ParticipantRecord(arena_id=round_id, player_id="p_a", joined=T0)]
        )
        placement = Placement(player_id="p_a", x=number, y=0, kind="stone")
        append_placements(conn, [PlacementRecord.of(round_id, number, 0, placement)])
        if ended is not None:
            result = RoundResult(
                round=number, first_tick=number, last_tick=number, scores={"p_a": 1}, winners=()
            )
            end_arena(conn, arena_id=round_id, at=ended, result=result.to_dict())


def test_rounds_are_listed_kept_apart_and_purged_one_by_one(db: Database) -> None:
    with db.transaction() as conn:
        version = record_rule_config(conn, ARENA_RULES, at=T0)
        create_arena(
            conn, arena_id="a1", mode="arena", region="eu", rules_version=version, seed=9, at=T0
        )
    old, recent = T0, T0 + dt.timedelta(days=6)
    _round(db, 1, ended=old)
    _round(db, 2, ended=recent)
    _round(db, 3, ended=None)
    with db.transaction() as conn:
        assert [r.round for r in list_rounds(conn, "a1", limit=10)] == [3, 2, 1]
        latest = latest_round(conn, "a1")
        assert latest is not None
        assert (latest.arena_id, latest.parent_id, latest.state) == ("a1.3", "a1", "live")
        assert (latest.seed, latest.rules_version, latest.first_tick) == (9, version, 3)
        # Only the arena is brought back by a restarted node, not its rounds.
        assert [a.arena_id for a in list_live_arenas(conn)] == ["a1"]
        # A week after round 1 ended (the cutoff is now - 7 days), round 2 ended 6 days ago.
        cutoff = T0 + dt.timedelta(minutes=1)
        purged = purge_replays(conn, ended_before=cutoff, at=T0, limit=10)
        assert purged == 1
        assert load_participants(conn, "a1.1") == ()
        assert load_participants(conn, "a1.2") == ("p_a",)
        assert [p.x for t in load_replay(conn, "a1.2").ticks for p in t.placements] == [2]
        rounds = {r.round: r for r in list_rounds(conn, "a1", limit=10)}
        assert rounds[1].purged is not None
        assert rounds[1].result is not None  # the result stays
        assert rounds[2].purged is None
