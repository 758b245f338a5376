"""Every rejection reason, the spawn rule, cooldowns, and the caller's contract."""

from __future__ import annotations

import attrs
import pytest

from tests.game.strategies import place, small_rules, step
from tilemud.game import (
    REJECT_REASONS,
    ArenaState,
    Placement,
    PlacementResult,
    RuleConfig,
    TickOutcome,
    resolve_tick,
)


def only(outcome: TickOutcome) -> PlacementResult:
    (result,) = outcome.results
    return result


def reason_of(state: ArenaState, rules: RuleConfig, placement: Placement) -> str | None:
    _, outcome = step(state, rules, placement)
    return only(outcome).reason


def test_the_reasons_in_check_order() -> None:
    assert REJECT_REASONS == (
        "battle_over",
        "unknown_kind",
        "out_of_bounds",
        "cooldown",
        "occupied",
        "not_adjacent",
        "held_firmly",
    )


def test_an_accepted_placement() -> None:
    rules = small_rules()
    state, outcome = step(ArenaState.start(rules), rules, place("ann", 2, 3, rid="r-1"))
    result = only(outcome)
    assert (result.outcome, result.reason, result.winner) == ("accepted", None, None)
    assert result.placement.rid == "r-1"
    assert state.board.get(2, 3) == place("ann", 2, 3).tile
    assert outcome.placed[0].tile.owner == "ann"
    assert dict(outcome.scores) == {"ann": 1}
    assert outcome.checksum == state.board.checksum
    assert outcome.accepted == (place("ann", 2, 3, rid="r-1"),)
    assert state.tick == outcome.tick == 1


@pytest.mark.parametrize(("x", "y"), [(-1, 0), (0, -1), (6, 0), (0, 6), (10**9, 0)])
def test_out_of_bounds(x: int, y: int) -> None:
    rules = small_rules()
    assert reason_of(ArenaState.start(rules), rules, place("ann", x, y)) == "out_of_bounds"


def test_unknown_kind() -> None:
    rules = small_rules()
    assert reason_of(ArenaState.start(rules), rules, place("ann", 0, 0, "lava")) == "unknown_kind"


def test_occupied_by_anyone() -> None:
    rules = small_rules()
    state, _ = step(ArenaState.start(rules), rules, place("ann", 1, 1))
    assert reason_of(state, rules, place("bob", 1, 1)) == "occupied"
    assert reason_of(state, rules, place("ann", 1, 1)) == "occupied"


def test_a_player_without_tiles_may_place_anywhere() -> None:
    rules = small_rules(require_adjacency=True)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert reason_of(state, rules, place("bob", 5, 5)) is None


def test_not_adjacent_once_a_player_holds_tiles() -> None:
    rules = small_rules(require_adjacency=True)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 2, 2))
    assert reason_of(state, rules, place("ann", 4, 4)) == "not_adjacent"
    assert reason_of(state, rules, place("ann", 3, 3)) == "not_adjacent"  # diagonal
    assert reason_of(state, rules, place("ann", 2, 3)) is None
    assert reason_of(state, rules, place("ann", 1, 2)) is None
    # Another player's tile does not count as one's own.
    state, _ = step(state, rules, place("bob", 4, 2))
    assert reason_of(state, rules, place("bob", 3, 2)) is None
    assert reason_of(state, rules, place("bob", 2, 1)) == "not_adjacent"


def test_adjacency_off_allows_anywhere() -> None:
    rules = small_rules(require_adjacency=False)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert reason_of(state, rules, place("ann", 5, 5)) is None


def test_adjacency_is_judged_on_the_start_of_tick_board() -> None:
    rules = small_rules(require_adjacency=True)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    # (2, 0) would touch (1, 0) only once (1, 0) is placed: in the same tick it does not.
    _, outcome = step(state, rules, place("ann", 1, 0), place("ann", 2, 0))
    assert [(r.placement.x, r.outcome, r.reason) for r in outcome.results] == [
        (1, "accepted", None),
        (2, "rejected", "not_adjacent"),
    ]


def test_cooldown_counts_ticks_since_the_last_accepted_placement() -> None:
    rules = small_rules(cooldown_ticks=3)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 0, 0), tick=10)
    assert state.ready_at("ann", rules) == 13
    assert state.ready_at("bob", rules) == 11
    for tick in (11, 12):
        _, outcome = step(state, rules, place("ann", 1, 0), tick=tick)
        assert only(outcome).reason == "cooldown"
    _, outcome = step(state, rules, place("ann", 1, 0), tick=13)
    assert only(outcome).outcome == "accepted"
    # Other players are not held back.
    _, outcome = step(state, rules, place("bob", 1, 0), tick=11)
    assert only(outcome).outcome == "accepted"


def test_rejected_placements_do_not_start_a_cooldown() -> None:
    rules = small_rules(cooldown_ticks=3)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 9, 9))
    assert dict(state.last_placed) == {}
    _, outcome = step(state, rules, place("ann", 0, 0))
    assert only(outcome).outcome == "accepted"


def test_expired_cooldowns_are_forgotten() -> None:
    rules = small_rules(cooldown_ticks=2)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert dict(state.last_placed) == {"ann": 1}
    state, _ = step(state, rules)
    assert dict(state.last_placed) == {}
    assert state.ready_at("ann", rules) == 3


@pytest.mark.parametrize("cooldown", [0, 1])
def test_short_cooldowns_keep_no_bookkeeping(cooldown: int) -> None:
    rules = small_rules(cooldown_ticks=cooldown)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert dict(state.last_placed) == {}
    _, outcome = step(state, rules, place("ann", 1, 0))
    assert only(outcome).outcome == "accepted"


def test_battle_over_after_the_last_tick() -> None:
    rules = small_rules(battle_ticks=5)
    state = ArenaState.start(rules)
    _, outcome = step(state, rules, place("ann", 0, 0), tick=5)
    assert only(outcome).outcome == "accepted"
    _, outcome = step(state, rules, place("ann", 0, 0), tick=6)
    assert only(outcome).reason == "battle_over"


def test_battle_over_once_ended() -> None:
    rules = small_rules(width=1, height=1)
    state, outcome = step(ArenaState.start(rules), rules, place("ann", 0, 0))
    assert outcome.ended is not None
    assert reason_of(state, rules, place("bob", 0, 0)) == "battle_over"
    assert reason_of(state, rules, place("bob", 7, 7, "lava")) == "battle_over"


def test_first_failing_check_names_the_reason() -> None:
    rules = small_rules(cooldown_ticks=5, require_adjacency=True)
    state, _ = step(ArenaState.start(rules), rules, place("ann", 2, 2))
    assert reason_of(state, rules, place("ann", 99, 99, "lava")) == "unknown_kind"
    assert reason_of(state, rules, place("ann", 99, 99)) == "out_of_bounds"
    assert reason_of(state, rules, place("ann", 2, 2)) == "cooldown"
    state = attrs.evolve(state, last_placed={})
    assert reason_of(state, rules, place("ann", 2, 2)) == "occupied"
    assert reason_of(state, rules, place("ann", 5, 5)) == "not_adjacent"


def test_the_state_given_is_left_unchanged() -> None:
    rules = small_rules(cooldown_ticks=3)
    start = ArenaState.start(rules)
    after, _ = step(start, rules, place("ann", 0, 0))
    assert start.board.tile_count == 0
    assert start.tick == 0
    assert dict(start.last_placed) == {}
    assert after != start


def test_an_empty_tick_still_advances() -> None:
    rules = small_rules()
    state, outcome = step(ArenaState.start(rules), rules, tick=4)
    assert state.tick == 4
    assert outcome.results == ()
    assert outcome.placed == ()
    assert outcome.ended is None


@pytest.mark.parametrize("tick", [0, -1, 3])
def test_ticks_must_move_forward(tick: int) -> None:
    rules = small_rules()
    state, _ = step(ArenaState.start(rules), rules, tick=3)
    with pytest.raises(ValueError, match="tick"):
        resolve_tick(state, [], tick=tick, seed=1, rules=rules)


@pytest.mark.parametrize("seed", [-1, 2**64, True])
def test_seeds_are_u64(seed: int) -> None:
    rules = small_rules()
    with pytest.raises(ValueError, match="seed"):
        resolve_tick(ArenaState.start(rules), [], tick=1, seed=seed, rules=rules)


def test_rules_must_fit_the_state() -> None:
    rules = small_rules()
    with pytest.raises(ValueError, match="size"):
        resolve_tick(ArenaState.start(rules), [], tick=1, seed=1, rules=small_rules(width=7))


def test_results_are_consistent_by_construction() -> None:
    p = place("ann", 0, 0)
    with pytest.raises(ValueError, match="reason"):
        PlacementResult(placement=p, outcome="accepted", reason="occupied")
    with pytest.raises(ValueError, match="reason"):
        PlacementResult(placement=p, outcome="rejected")
    with pytest.raises(ValueError, match="winner"):
        PlacementResult(placement=p, outcome="lost_conflict")
    with pytest.raises(ValueError, match="winner"):
        PlacementResult(placement=p, outcome="accepted", winner="bob")
