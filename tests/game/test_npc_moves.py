"""NPC moves: deterministic, always legal, and true to their behaviour."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from tilemud.game import (
    ARENA_RULES,
    ArenaState,
    Placement,
    Territory,
    decide_npc_move,
    npc_behaviour,
    npc_id,
    resolve_tick,
)

RULES = attrs.evolve(ARENA_RULES, width=16, height=16, round_ticks=None)


def play(ticks: int, seed: int, npcs: int) -> tuple[ArenaState, list[Placement]]:
    """Run ``npcs`` NPCs alone for ``ticks`` ticks; every move must be accepted."""
    state, territory, moves = ArenaState.start(RULES), Territory(), []
    for tick in range(1, ticks + 1):
        placements = []
        for n in range(1, npcs + 1):
            npc = npc_id(n)
            move = decide_npc_move(
                state,
                rules=RULES,
                seed=seed,
                npc=npc,
                tick=tick,
                behaviour=npc_behaviour(seed, npc),
                own=territory.cells(npc),
            )
            if move is not None:
                placements.append(move)
        state, outcome = resolve_tick(state, placements, tick=tick, seed=seed, rules=RULES)
        territory.update(outcome.placed, outcome.captures)
        moves.extend(placements)
        # Alone (no conflict between two NPCs on one cell), each move is accepted.
        cells = [(p.x, p.y) for p in placements]
        for result in outcome.results:
            if cells.count((result.placement.x, result.placement.y)) == 1:
                assert result.outcome == "accepted", result
    return state, moves


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), npcs=st.integers(1, 4))
def test_npc_games_are_deterministic_and_legal(seed: int, npcs: int) -> None:
    first, moves = play(30, seed, npcs)
    second, again = play(30, seed, npcs)
    assert moves == again
    assert first.board == second.board
    assert moves  # they do play


def test_territories_follow_the_board() -> None:
    state, _ = play(40, 5, 3)
    rebuilt = Territory.of_board(state)
    for n in (1, 2, 3):
        cells = set(rebuilt.cells(npc_id(n)))
        held = {
            (x, y)
            for y, row in enumerate(state.board.rows())
            for x, tile in enumerate(row)
            if tile is not None and tile.owner == npc_id(n)
        }
        assert cells == held


def test_grow_places_next_to_its_own_tiles() -> None:
    state = ArenaState.start(RULES)
    state, _ = resolve_tick(
        state, [Placement(player_id="npc:1", x=8, y=8, kind="stone")], tick=1, seed=1, rules=RULES
    )
    move = decide_npc_move(
        state, rules=RULES, seed=1, npc="npc:1", tick=5, behaviour="grow", own=[(8, 8)]
    )
    assert move is not None
    assert abs(move.x - 8) + abs(move.y - 8) == 1


def test_contest_captures_the_leaders_tile_when_it_can() -> None:
    rules = attrs.evolve(RULES, require_adjacency=False)
    placements = [
        Placement(player_id="npc:1", x=4, y=4, kind="stone"),
        Placement(player_id="npc:1", x=4, y=6, kind="stone"),
        Placement(player_id="lead", x=4, y=5, kind="stone"),
        Placement(player_id="lead", x=9, y=9, kind="stone"),
        Placement(player_id="lead", x=10, y=9, kind="stone"),
    ]
    state = ArenaState.start(rules)
    for i, p in enumerate(placements):
        state, _ = resolve_tick(state, [p], tick=10 * i + 1, seed=1, rules=rules)
    move = decide_npc_move(
        state,
        rules=rules,
        seed=3,
        npc="npc:1",
        tick=100,
        behaviour="contest",
        own=[(4, 4), (4, 6)],
    )
    assert move is not None
    assert (move.x, move.y) == (4, 5)  # the leader's tile between two of its own


def test_no_move_while_cooling_down() -> None:
    state = ArenaState.start(RULES)
    state, _ = resolve_tick(
        state, [Placement(player_id="npc:1", x=1, y=1, kind="stone")], tick=1, seed=1, rules=RULES
    )
    assert (
        decide_npc_move(
            state, rules=RULES, seed=1, npc="npc:1", tick=2, behaviour="grow", own=[(1, 1)]
        )
        is None
    )
