"""Every repository function, on SQLite and on PostgreSQL (the ``db`` fixture's two params)."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
import sqlalchemy as sa

from tilemud.game import (
    BATTLE_RULES,
    ArenaState,
    BattleResult,
    Placement,
    RuleConfig,
    TickOutcome,
    resolve_tick,
)
from tilemud.storage import (
    Database,
    PlacementRecord,
    RecordNotFound,
    RecordRejected,
    Snapshot,
    TickChecksum,
    append_placements,
    create_arena,
    end_arena,
    list_live_arenas,
    load_arena,
    load_latest_snapshot,
    load_placements,
    load_player,
    load_recovery,
    load_replay,
    load_rule_config,
    load_tick_checksums,
    purge_replays,
    record_rule_config,
    record_tick_checksums,
    save_snapshot,
    upsert_player,
)

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
SEED = 0xDEADBEEF
#: One placement per player per tick.
RULES = attrs.evolve(BATTLE_RULES, cooldown_ticks=1)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def new_arena(db: Database, arena_id: str = "a1", *, seconds: float = 0.0) -> None:
    with db.transaction() as conn:
        version = record_rule_config(conn, RULES, at=at(seconds))
        create_arena(
            conn,
            arena_id=arena_id,
            mode="battle",
            region="eu",
            rules_version=version,
            seed=SEED,
            at=at(seconds),
        )


def play(ticks: int, rules: RuleConfig = RULES) -> list[tuple[ArenaState, TickOutcome]]:
    """A few real ticks: two players each place one tile per tick along a row."""
    state = ArenaState.start(rules)
    history = []
    for tick in range(1, ticks + 1):
        wanted = [
            Placement(player_id="p1", x=tick - 1, y=0, kind="stone"),
            Placement(player_id="p2", x=tick - 1, y=5, kind="wood"),
        ]
        state, outcome = resolve_tick(state, wanted, tick=tick, seed=SEED, rules=rules)
        history.append((state, outcome))
    return history


def placement_rows(arena_id: str, outcome: TickOutcome) -> list[PlacementRecord]:
    return [
        PlacementRecord.of(arena_id, outcome.tick, i, p) for i, p in enumerate(outcome.accepted)
    ]


def test_upsert_player_creates_then_updates(db: Database) -> None:
    with db.transaction() as conn:
        upsert_player(conn, player_id="p1", name="ada", seen_at=at(0))
        assert load_player(conn, "nobody") is None
    with db.transaction() as conn:
        upsert_player(conn, player_id="p1", name="ada lovelace", seen_at=at(60))
        player = load_player(conn, "p1")
    assert player is not None
    assert (player.name, player.created, player.last_seen) == ("ada lovelace", at(0), at(60))
    assert player.created.tzinfo is dt.UTC


def test_timestamps_come_back_in_utc_whatever_zone_went_in(db: Database) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    with db.transaction() as conn:
        upsert_player(conn, player_id="p1", name="ada", seen_at=T0.astimezone(paris))
        player = load_player(conn, "p1")
    assert player is not None
    assert player.last_seen == T0
    assert player.last_seen.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_are_refused(db: Database) -> None:
    with pytest.raises(sa.exc.StatementError, match="timezone-aware"), db.transaction() as conn:
        upsert_player(conn, player_id="p1", name="ada", seen_at=dt.datetime(2025, 1, 1))


def test_rule_configs_are_stored_once_by_content_hash(db: Database) -> None:
    with db.transaction() as conn:
        version = record_rule_config(conn, RULES, at=at(0))
        assert record_rule_config(conn, RULES, at=at(5)) == version
    assert version == RULES.content_hash
    with db.transaction() as conn:
        assert load_rule_config(conn, version) == RULES
        with pytest.raises(RecordNotFound):
            load_rule_config(conn, "sha256:nope")


def test_create_arena_is_idempotent_and_refuses_other_values(db: Database) -> None:
    new_arena(db)
    new_arena(db, seconds=30)  # a retry: same values, nothing changes
    with db.transaction() as conn:
        arena = load_arena(conn, "a1")
    assert (arena.mode, arena.region, arena.seed, arena.state) == ("battle", "eu", SEED, "live")
    assert (arena.created, arena.ended, arena.result, arena.purged) == (at(0), None, None, None)
    assert arena.rules_version == RULES.content_hash
    with pytest.raises(RecordRejected), db.transaction() as conn:
        create_arena(
            conn,
            arena_id="a1",
            mode="battle",
            region="us",
            rules_version=RULES.content_hash,
            seed=SEED,
            at=at(0),
        )


@pytest.mark.parametrize("seed", [0, 1, 2**63 - 1, 2**63, 2**64 - 1])
def test_the_whole_unsigned_seed_range_round_trips(db: Database, seed: int) -> None:
    with db.transaction() as conn:
        version = record_rule_config(conn, RULES, at=at(0))
        made = create_arena(
            conn, arena_id="a", mode="battle", region="eu", rules_version=version, seed=seed, at=T0
        )
    assert made.seed == seed
    with db.transaction() as conn:
        assert load_arena(conn, "a").seed == seed


def test_bad_seeds_are_refused(db: Database) -> None:
    with db.transaction() as conn:
        version = record_rule_config(conn, RULES, at=at(0))
        with pytest.raises(ValueError, match="seed"):
            create_arena(
                conn,
                arena_id="a",
                mode="battle",
                region="eu",
                rules_version=version,
                seed=-1,
                at=T0,
            )


def test_an_arena_of_unknown_rules_is_rejected(db: Database) -> None:
    def create(conn: sa.Connection) -> None:
        create_arena(
            conn, arena_id="a", mode="battle", region="eu", rules_version="sha256:x", seed=1, at=T0
        )

    with pytest.raises(RecordRejected):
        db.run(create)


def test_end_arena_keeps_the_first_end(db: Database) -> None:
    new_arena(db)
    result = BattleResult.from_scores(tick=90, reason="time", scores={"p1": 3, "p2": 1})
    with db.transaction() as conn:
        ended = end_arena(conn, arena_id="a1", at=at(100), result=result.to_dict())
    assert (ended.state, ended.ended) == ("ended", at(100))
    assert ended.result is not None
    assert BattleResult.from_dict(ended.result) == result
    with db.transaction() as conn:
        again = end_arena(conn, arena_id="a1", at=at(200), result=None)
    assert again == ended
    with pytest.raises(RecordNotFound), db.transaction() as conn:
        end_arena(conn, arena_id="nope", at=at(1), result=None)


def test_list_live_arenas_oldest_first(db: Database) -> None:
    new_arena(db, "late", seconds=20)
    new_arena(db, "early", seconds=10)
    new_arena(db, "over", seconds=0)
    with db.transaction() as conn:
        end_arena(conn, arena_id="over", at=at(30), result=None)
        live = list_live_arenas(conn)
    assert [a.arena_id for a in live] == ["early", "late"]


def test_append_placements_in_order_and_ignores_repeats(db: Database) -> None:
    new_arena(db)
    history = play(3)
    rows = [row for _, outcome in history for row in placement_rows("a1", outcome)]
    assert len(rows) == 6
    with db.transaction() as conn:
        assert append_placements(conn, rows[::-1]) == 6
        assert append_placements(conn, []) == 0
    with db.transaction() as conn:
        append_placements(conn, rows[:2])  # a batch written again after an unclear failure
        assert load_placements(conn, "a1") == tuple(rows)
        assert load_placements(conn, "a1", after_tick=2) == tuple(rows[4:])
        assert load_placements(conn, "other") == ()


def test_tick_checksums_keep_the_first(db: Database) -> None:
    new_arena(db)
    sums = [TickChecksum(arena_id="a1", tick=tick, checksum=f"c{tick}") for tick in (3, 1, 2)]
    with db.transaction() as conn:
        assert record_tick_checksums(conn, sums) == 3
        record_tick_checksums(conn, [TickChecksum(arena_id="a1", tick=1, checksum="other")])
    with db.transaction() as conn:
        assert [c.checksum for c in load_tick_checksums(conn, "a1")] == ["c1", "c2", "c3"]
        assert [c.tick for c in load_tick_checksums(conn, "a1", after_tick=1)] == [2, 3]


def test_snapshots_round_trip_and_the_latest_wins(db: Database) -> None:
    new_arena(db)
    history = play(4)
    with db.transaction() as conn:
        assert load_latest_snapshot(conn, "a1") is None
        for state, _ in (history[3], history[1]):
            save_snapshot(conn, Snapshot.of_state("a1", state), at=at(state.tick))
        save_snapshot(conn, Snapshot.of_state("a1", history[0][0]), at=at(1))
    with db.transaction() as conn:
        latest = load_latest_snapshot(conn, "a1")
    state = history[3][0]
    assert latest == Snapshot.of_state("a1", state)
    assert latest.to_state(RULES) == state


def test_a_snapshot_of_an_unknown_arena_is_rejected(db: Database) -> None:
    snapshot = Snapshot.of_state("nope", play(1)[0][0])
    with pytest.raises(RecordRejected):
        db.run(lambda conn: save_snapshot(conn, snapshot, at=T0))


def test_load_recovery_gives_the_latest_snapshot_and_the_log_after_it(db: Database) -> None:
    new_arena(db)
    history = play(5)
    with db.transaction() as conn:
        for state, outcome in history:
            append_placements(conn, placement_rows("a1", outcome))
            record_tick_checksums(
                conn, [TickChecksum(arena_id="a1", tick=state.tick, checksum=outcome.checksum)]
            )
    with db.transaction() as conn:
        empty = load_recovery(conn, "a1")
    assert empty.snapshot is None
    assert len(empty.placements) == 10
    assert empty.rules == RULES
    with db.transaction() as conn:
        save_snapshot(conn, Snapshot.of_state("a1", history[2][0]), at=at(3))
    with db.transaction() as conn:
        recovery = load_recovery(conn, "a1")
        with pytest.raises(RecordNotFound):
            load_recovery(conn, "nope")
    assert recovery.arena.arena_id == "a1"
    assert recovery.snapshot is not None
    assert recovery.snapshot.tick == 3
    assert [p.tick for p in recovery.placements] == [4, 4, 5, 5]
    assert [c.tick for c in recovery.checksums] == [4, 5]
    # The snapshot plus the log after it rebuild the live state exactly.
    state = recovery.snapshot.to_state(recovery.rules)
    for tick in (4, 5):
        logged = [p.to_placement() for p in recovery.placements if p.tick == tick]
        state, outcome = resolve_tick(state, logged, tick=tick, seed=SEED, rules=recovery.rules)
        assert outcome.checksum == recovery.checksums[tick - 4].checksum
    assert state.board == history[4][0].board


def test_load_replay_replays_to_the_same_checksums(db: Database) -> None:
    new_arena(db)
    history = play(4)
    with db.transaction() as conn:
        for _, outcome in history:
            append_placements(conn, placement_rows("a1", outcome))
        # A tick with a checksum and no placements, and one with placements and none.
        record_tick_checksums(
            conn,
            [
                TickChecksum(arena_id="a1", tick=o.tick, checksum=o.checksum)
                for _, o in history
                if o.tick != 2
            ]
            + [TickChecksum(arena_id="a1", tick=9, checksum=history[3][1].checksum)],
        )
    with db.transaction() as conn:
        replay = load_replay(conn, "a1")
    assert (replay.arena.seed, replay.rules) == (SEED, RULES)
    assert [t.tick for t in replay.ticks] == [1, 2, 3, 4, 9]
    assert replay.ticks[1].checksum is None
    assert replay.ticks[4].placements == ()
    state = ArenaState.start(replay.rules)
    for replay_tick in replay.ticks[:4]:
        state, outcome = resolve_tick(
            state,
            replay_tick.placements,
            tick=replay_tick.tick,
            seed=replay.arena.seed,
            rules=replay.rules,
        )
        assert outcome.accepted == replay_tick.placements
        assert replay_tick.checksum in (None, outcome.checksum)
    with pytest.raises(RecordNotFound), db.transaction() as conn:
        load_replay(conn, "nope")


def test_purge_replays_of_arenas_ended_before_the_cutoff(db: Database) -> None:
    for arena_id, ended in (("old1", 10.0), ("old2", 20.0), ("recent", 1000.0), ("live", None)):
        new_arena(db, arena_id)
        with db.transaction() as conn:
            outcome = play(1)[0][1]
            append_placements(conn, placement_rows(arena_id, outcome))
            record_tick_checksums(
                conn, [TickChecksum(arena_id=arena_id, tick=1, checksum=outcome.checksum)]
            )
            save_snapshot(conn, Snapshot.of_state(arena_id, play(1)[0][0]), at=T0)
            if ended is not None:
                end_arena(conn, arena_id=arena_id, at=at(ended), result={"tick": 1})
    with db.transaction() as conn:
        assert purge_replays(conn, ended_before=at(500), at=at(2000), limit=1) == 1
        assert purge_replays(conn, ended_before=at(500), at=at(2000)) == 1
        assert purge_replays(conn, ended_before=at(500), at=at(2000)) == 0
    with db.transaction() as conn:
        for arena_id in ("old1", "old2"):
            arena = load_arena(conn, arena_id)
            assert (arena.purged, arena.result) == (at(2000), {"tick": 1})
            assert load_placements(conn, arena_id) == ()
            assert load_tick_checksums(conn, arena_id) == ()
            assert load_latest_snapshot(conn, arena_id) is None
            with pytest.raises(RecordNotFound, match="purged"):
                load_replay(conn, arena_id)
        for arena_id in ("recent", "live"):
            assert len(load_replay(conn, arena_id).ticks) == 1
            assert load_latest_snapshot(conn, arena_id) is not None
