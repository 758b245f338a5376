"""Stored replays re-simulate to their stored checksums, on SQLite and PostgreSQL.

Random games are played with the game rules, their accepted placements and tick checksums
written through the repositories as the arena does, read back with ``load_replay`` and
re-simulated; then a stored row is altered and the re-simulation must find it.
"""

from __future__ import annotations

import datetime as dt
import itertools

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.game.strategies import small_rules
from tilemud.game import ArenaState, Placement, RuleConfig, TickOutcome, resolve_tick
from tilemud.storage import (
    Database,
    ParticipantRecord,
    PlacementRecord,
    Replay,
    TickChecksum,
    append_placements,
    create_arena,
    load_participants,
    load_replay,
    record_participants,
    record_rule_config,
    record_tick_checksums,
)
from tilemud.storage import tables as t

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
PLAYERS = ("p_ann", "p_bob", "p_cy", "npc_1", "npc_2")
KINDS = ("stone", "wood", "crystal")


@attrs.frozen(kw_only=True)
class Game:
    """A random game: rules, seed, and the placements sent in each tick (gaps allowed)."""

    rules: RuleConfig
    seed: int
    ticks: tuple[tuple[int, tuple[Placement, ...]], ...]


@st.composite
def games(draw: st.DrawFn) -> Game:
    rules = small_rules(
        width=draw(st.integers(1, 6)),
        height=draw(st.integers(1, 6)),
        require_adjacency=draw(st.booleans()),
        cooldown_ticks=draw(st.integers(0, 3)),
        battle_ticks=draw(st.integers(5, 60)),
    )
    one = st.builds(
        Placement,
        player_id=st.sampled_from(PLAYERS),
        x=st.integers(0, rules.width - 1),
        y=st.integers(0, rules.height - 1),
        kind=st.sampled_from(KINDS),
    )
    gaps = draw(st.lists(st.integers(1, 4), min_size=1, max_size=15))
    numbers = itertools.accumulate(gaps)
    ticks = tuple((n, tuple(draw(st.lists(one, max_size=8)))) for n in numbers)
    return Game(rules=rules, seed=draw(st.integers(0, 2**64 - 1)), ticks=ticks)


def resolve(game: Game) -> tuple[ArenaState, list[TickOutcome]]:
    state = ArenaState.start(game.rules)
    outcomes = []
    for tick, placements in game.ticks:
        state, outcome = resolve_tick(
            state, placements, tick=tick, seed=game.seed, rules=game.rules
        )
        outcomes.append(outcome)
    return state, outcomes


def store(db: Database, arena_id: str, game: Game, outcomes: list[TickOutcome]) -> int:
    """Write the game as the arena does; return how many checksums were stored.

    Like the arena, only ticks that accepted something are logged; a checksum is stored
    with each, and for every third tick that accepted nothing too (``record_checksum``).
    """
    with db.transaction() as conn:
        version = record_rule_config(conn, game.rules, at=T0)
        create_arena(
            conn,
            arena_id=arena_id,
            mode=game.rules.mode,
            region="eu",
            rules_version=version,
            seed=game.seed,
            at=T0,
        )
        players = sorted({p.player_id for _, sent in game.ticks for p in sent})
        record_participants(
            conn, [ParticipantRecord(arena_id=arena_id, player_id=p, joined=T0) for p in players]
        )
        checksums = []
        for outcome in outcomes:
            append_placements(
                conn,
                [
                    PlacementRecord.of(arena_id, outcome.tick, ordinal, placement)
                    for ordinal, placement in enumerate(outcome.accepted)
                ],
            )
            if outcome.accepted or outcome.tick % 3 == 0:
                checksums.append(
                    TickChecksum(arena_id=arena_id, tick=outcome.tick, checksum=outcome.checksum)
                )
        record_tick_checksums(conn, checksums)
    return len(checksums)


def load(db: Database, arena_id: str) -> Replay:
    with db.transaction() as conn:
        return load_replay(conn, arena_id)


def test_random_stored_games_reproduce_every_checksum(db: Database) -> None:
    arena_ids = (f"a{n}" for n in itertools.count())

    # The database is not emptied between examples: each game gets its own arena id.
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(games())
    def check(game: Game) -> None:
        arena_id = next(arena_ids)
        live, outcomes = resolve(game)
        stored = store(db, arena_id, game, outcomes)
        replay = load(db, arena_id)
        assert replay.arena.seed == game.seed
        assert replay.rules == game.rules
        verdict = replay.verify()
        assert verdict.ok, verdict.divergence
        assert verdict.checksums == stored
        assert verdict.final.board == live.board
        assert verdict.final.scores == live.scores
        with db.transaction() as conn:
            assert set(load_participants(conn, arena_id)) == {
                p.player_id for _, sent in game.ticks for p in sent
            }

    check()


def a_stored_game(db: Database) -> Replay:
    game = Game(
        rules=small_rules(),
        seed=7,
        ticks=(
            (1, (Placement(player_id="p1", x=0, y=0, kind="stone"),)),
            (2, (Placement(player_id="p2", x=1, y=1, kind="wood"),)),
            (4, (Placement(player_id="p1", x=2, y=2, kind="stone"),)),
        ),
    )
    _, outcomes = resolve(game)
    store(db, "a1", game, outcomes)
    replay = load(db, "a1")
    assert replay.verify().ok
    return replay


def test_an_altered_placement_row_is_found(db: Database) -> None:
    a_stored_game(db)
    p = t.placements
    with db.transaction() as conn:
        conn.execute(sa.update(p).where(p.c.arena_id == "a1", p.c.tick == 2).values(x=3))
    verdict = load(db, "a1").verify()
    assert verdict.divergence is not None
    assert verdict.divergence.tick == 2


def test_an_altered_checksum_row_is_found(db: Database) -> None:
    a_stored_game(db)
    c = t.tick_checksums
    with db.transaction() as conn:
        conn.execute(
            sa.update(c).where(c.c.arena_id == "a1", c.c.tick == 4).values(checksum="b2add:0")
        )
    verdict = load(db, "a1").verify()
    assert verdict.divergence is not None
    assert (verdict.divergence.tick, verdict.divergence.expected) == (4, "b2add:0")
    assert verdict.checksums == 2


@pytest.mark.parametrize("column", ["player_id", "kind"])
def test_a_placement_credited_to_someone_else_or_of_another_kind_is_found(
    db: Database, column: str
) -> None:
    a_stored_game(db)
    p = t.placements
    value = {"player_id": "p_thief", "kind": "wood"}[column]
    with db.transaction() as conn:
        conn.execute(
            sa.update(p).where(p.c.arena_id == "a1", p.c.tick == 1).values({column: value})
        )
    verdict = load(db, "a1").verify()
    assert verdict.divergence is not None
    assert verdict.divergence.tick == 1
