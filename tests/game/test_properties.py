"""Properties of resolve_tick over any placements: order independence and one result each."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.game.strategies import placements_for, rule_configs
from tilemud.game import (
    ArenaState,
    Placement,
    RuleConfig,
    placement_order_key,
    resolve_tick,
    score_board,
)


@st.composite
def mid_game(draw: st.DrawFn) -> tuple[RuleConfig, ArenaState, list[Placement], int]:
    """Rules, a state some ticks into a game, the next tick's placements, and a seed."""
    rules = draw(rule_configs())
    seed = draw(st.integers(0, 2**64 - 1))
    state = ArenaState.start(rules)
    for tick in range(1, draw(st.integers(0, 5)) + 1):
        state, _ = resolve_tick(
            state, draw(placements_for(rules)), tick=tick, seed=seed, rules=rules
        )
    return rules, state, draw(placements_for(rules, max_size=40)), seed


@settings(max_examples=200)
@given(mid_game(), st.randoms(use_true_random=False))
def test_arrival_order_never_matters(
    game: tuple[RuleConfig, ArenaState, list[Placement], int], rnd: random.Random
) -> None:
    rules, state, placements, seed = game
    tick = state.tick + rnd.randint(1, 3)
    first = resolve_tick(state, placements, tick=tick, seed=seed, rules=rules)
    shuffled = placements[:]
    rnd.shuffle(shuffled)
    again = resolve_tick(state, iter(shuffled), tick=tick, seed=seed, rules=rules)
    assert again == first
    assert again[0].board.checksum == first[0].board.checksum


@settings(max_examples=200)
@given(mid_game())
def test_every_placement_gets_exactly_one_result(
    game: tuple[RuleConfig, ArenaState, list[Placement], int],
) -> None:
    rules, state, placements, seed = game
    _, outcome = resolve_tick(state, placements, tick=state.tick + 1, seed=seed, rules=rules)
    assert Counter(r.placement for r in outcome.results) == Counter(placements)
    keys = [placement_order_key(r.placement) for r in outcome.results]
    assert keys == sorted(keys)
    for result in outcome.results:
        assert (result.reason is not None) == (result.outcome == "rejected")
        assert (result.winner is not None) == (result.outcome == "lost_conflict")


@settings(max_examples=200)
@given(mid_game())
def test_the_board_only_grows_by_the_accepted_tiles(
    game: tuple[RuleConfig, ArenaState, list[Placement], int],
) -> None:
    rules, state, placements, seed = game
    after, outcome = resolve_tick(state, placements, tick=state.tick + 1, seed=seed, rules=rules)
    accepted = outcome.accepted
    cells = [(p.x, p.y) for p in accepted]
    # No cell gets two owners: one accepted placement per cell, on a cell empty before.
    assert len(set(cells)) == len(cells)
    assert {(t.x, t.y) for t in outcome.placed} == set(cells)
    captured = {(c.x, c.y) for c in outcome.captures}
    for p in accepted:
        # A cell held before was captured: only under the capture rule, from an opponent.
        before = state.board.get(p.x, p.y)
        assert (before is None) == ((p.x, p.y) not in captured)
        if before is not None:
            assert rules.captures
            assert before.owner != p.player_id
        assert after.board.get(p.x, p.y) == p.tile
    assert after.board.tile_count == state.board.tile_count + len(accepted) - len(captured)
    for held in state.board.tiles():
        if (held.x, held.y) not in captured:
            assert after.board.get(held.x, held.y) == held.tile
    assert sum(after.board.holdings.values()) == after.board.tile_count
    # Every lost conflict names the player who holds the cell now.
    for result in outcome.results:
        if result.outcome == "lost_conflict":
            tile = after.board.get(result.placement.x, result.placement.y)
            assert tile is not None
            assert tile.owner == result.winner
    if rules.cooldown_ticks:
        assert len({p.player_id for p in accepted}) == len(accepted)


@settings(max_examples=200)
@given(mid_game())
def test_scores_match_a_recount(game: tuple[RuleConfig, ArenaState, list[Placement], int]) -> None:
    rules, state, placements, seed = game
    after, outcome = resolve_tick(state, placements, tick=state.tick + 1, seed=seed, rules=rules)
    assert dict(outcome.scores) == score_board(after.board, rules)
    assert dict(after.scores) == dict(outcome.scores)
    assert outcome.checksum == after.board.checksum
