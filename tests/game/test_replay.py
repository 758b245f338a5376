"""Replays: re-simulating a game from its accepted placements reproduces every checksum."""

from __future__ import annotations

import random

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.game.strategies import placements_for, play, rule_configs
from tilemud.game import (
    ARENA_RULES,
    ArenaState,
    Placement,
    RuleConfig,
    decode_board,
    encode_board,
    resolve_tick,
)


@settings(max_examples=100)
@given(rule_configs(), st.integers(0, 2**64 - 1), st.data())
def test_replaying_accepted_placements_reproduces_every_checksum(
    rules: RuleConfig, seed: int, data: st.DataObject
) -> None:
    ticks = [data.draw(placements_for(rules)) for _ in range(data.draw(st.integers(1, 12)))]
    live, outcomes = play(rules, ticks, seed=seed)

    # The log keeps (tick, accepted placements, checksum) and skips ticks that placed nothing.
    log = [(o.tick, o.accepted, o.checksum) for o in outcomes if o.accepted]
    replay = ArenaState.start(rules)
    for tick, accepted, checksum in log:
        replay, outcome = resolve_tick(replay, accepted, tick=tick, seed=seed, rules=rules)
        assert outcome.accepted == accepted
        assert outcome.checksum == checksum
    assert replay.board == live.board
    assert replay.scores == live.scores


@settings(max_examples=100)
@given(rule_configs(), st.data())
def test_a_game_resumed_from_a_snapshot_continues_identically(
    rules: RuleConfig, data: st.DataObject
) -> None:
    ticks = [data.draw(placements_for(rules)) for _ in range(data.draw(st.integers(2, 10)))]
    cut = data.draw(st.integers(1, len(ticks) - 1))
    live, outcomes = play(rules, ticks)

    halfway, _ = play(rules, ticks[:cut])
    restored = ArenaState.from_dict(halfway.to_dict(rules), rules)
    assert decode_board(encode_board(halfway.board)) == halfway.board
    for tick, placements in enumerate(ticks[cut:], start=cut + 1):
        restored, outcome = resolve_tick(restored, placements, tick=tick, seed=0x5EED, rules=rules)
        assert outcome == outcomes[tick - 1]
    assert restored == live


def test_an_arena_game_replays() -> None:
    rules = attrs.evolve(ARENA_RULES, require_adjacency=False)
    rng = random.Random(7)
    players = [f"p{i}" for i in range(300)]
    ticks = [
        [
            Placement(player_id=p, x=rng.randrange(256), y=rng.randrange(256), kind="stone")
            for p in rng.sample(players, 180)
        ]
        for _ in range(30)
    ]
    live, outcomes = play(rules, ticks, seed=99)
    assert live.board.tile_count > 1000
    replay = ArenaState.start(rules)
    for outcome in outcomes:
        replay, again = resolve_tick(
            replay, outcome.accepted, tick=outcome.tick, seed=99, rules=rules
        )
        assert again.checksum == outcome.checksum
    assert replay == live
