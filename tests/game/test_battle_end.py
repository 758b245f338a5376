"""Scoring and how a battle ends."""

from __future__ import annotations

import attrs

from tests.game.strategies import place, small_rules, step
from tilemud.game import ARENA_RULES, ArenaState, BattleResult, TileKind, score_board


def test_tiles_held_scoring() -> None:
    rules = small_rules()
    state, outcome = step(
        ArenaState.start(rules),
        rules,
        place("ann", 0, 0),
        place("ann", 1, 0, "crystal"),
        place("bob", 5, 5),
    )
    assert dict(outcome.scores) == {"ann": 2, "bob": 1}
    assert state.scores == outcome.scores


def test_kind_points_scoring() -> None:
    kinds = (TileKind(name="stone", points=1), TileKind(name="crystal", points=5))
    rules = small_rules(scoring="kind_points", tile_kinds=kinds)
    state, outcome = step(
        ArenaState.start(rules),
        rules,
        place("ann", 0, 0),
        place("ann", 1, 0, "crystal"),
        place("bob", 5, 5),
    )
    assert dict(outcome.scores) == {"ann": 6, "bob": 1}
    assert score_board(state.board, rules) == {"ann": 6, "bob": 1}


def test_zero_point_tiles_still_list_their_owner() -> None:
    kinds = (TileKind(name="stone", points=0),)
    rules = small_rules(scoring="kind_points", tile_kinds=kinds, battle_ticks=1)
    _, outcome = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert dict(outcome.scores) == {"ann": 0}
    assert outcome.ended is not None
    assert outcome.ended.winners == ()


def test_a_battle_ends_by_time() -> None:
    rules = small_rules(battle_ticks=3)
    state = ArenaState.start(rules)
    state, outcome = step(state, rules, place("ann", 0, 0), place("ann", 1, 0), place("bob", 3, 3))
    assert outcome.ended is None
    state, outcome = step(state, rules, place("bob", 4, 4))
    assert outcome.ended is None
    state, outcome = step(state, rules, place("cy", 5, 5))
    assert outcome.ended == BattleResult(
        tick=3, reason="time", scores={"ann": 2, "bob": 2, "cy": 1}, winners=("ann", "bob")
    )
    assert state.ended == outcome.ended
    # It stays over, and says so on every later tick.
    later, outcome = step(state, rules, place("cy", 2, 2), tick=9)
    assert outcome.ended == state.ended
    assert outcome.results[0].reason == "battle_over"
    assert later.board == state.board
    assert later.tick == 9


def test_a_skipped_final_tick_still_ends_the_battle() -> None:
    rules = small_rules(battle_ticks=3)
    state, outcome = step(ArenaState.start(rules), rules, place("ann", 0, 0), tick=7)
    assert outcome.results[0].reason == "battle_over"
    assert outcome.ended is not None
    assert outcome.ended.tick == 7
    assert outcome.ended.winners == ()
    assert state.board.tile_count == 0


def test_a_battle_ends_when_the_board_fills() -> None:
    rules = small_rules(width=2, height=1)
    state, outcome = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert outcome.ended is None
    state, outcome = step(state, rules, place("bob", 1, 0))
    assert outcome.ended is not None
    assert outcome.ended.reason == "board_full"
    assert outcome.ended.winners == ("ann", "bob")


def test_board_full_wins_over_time_on_the_same_tick() -> None:
    rules = small_rules(width=1, height=1, battle_ticks=1)
    _, outcome = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert outcome.ended is not None
    assert outcome.ended.reason == "board_full"
    assert outcome.ended.winners == ("ann",)


def test_a_full_board_need_not_end_the_game() -> None:
    rules = small_rules(width=1, height=1, end_on_full_board=False)
    state, outcome = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert state.board.is_full
    assert outcome.ended is None


def test_an_arena_never_ends() -> None:
    rules = attrs.evolve(ARENA_RULES, width=2, height=2)
    state, outcome = step(ArenaState.start(rules), rules, tick=10**9)
    assert outcome.ended is None
    state, outcome = step(state, rules, place("ann", 0, 0), place("bob", 1, 1))
    assert len(outcome.placed) == 2


def test_battle_result_round_trip() -> None:
    result = BattleResult.from_scores(tick=4, reason="time", scores={"bob": 3, "ann": 3, "cy": 1})
    assert result.winners == ("ann", "bob")
    assert list(result.scores) == ["ann", "bob", "cy"]
    assert BattleResult.from_dict(result.to_dict()) == result
