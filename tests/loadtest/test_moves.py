"""Where a bot places: anywhere first, then next to its own tiles."""

from __future__ import annotations

import random

from tilemud.loadtest._moves import choose_cell


def adjacent(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1


def test_the_first_tile_goes_to_a_free_cell() -> None:
    rng = random.Random(1)
    occupied = {(x, y) for x in range(4) for y in range(4) if (x, y) != (2, 3)}
    cell = choose_cell(
        rng, width=4, height=4, occupied=occupied, own=[], pending=set(), require_adjacency=True
    )
    assert cell == (2, 3)


def test_later_tiles_touch_one_of_the_bots_own() -> None:
    rng = random.Random(2)
    own = [(10, 10), (11, 10)]
    occupied = set(own)
    for _ in range(200):
        cell = choose_cell(
            rng,
            width=64,
            height=64,
            occupied=occupied,
            own=own,
            pending=set(),
            require_adjacency=True,
        )
        assert cell not in occupied
        assert any(adjacent(cell, tile) for tile in own)


def test_a_cell_asked_for_is_not_asked_for_again() -> None:
    rng = random.Random(3)
    own = [(0, 0)]
    pending = {(1, 0)}
    for _ in range(50):
        cell = choose_cell(
            rng,
            width=8,
            height=8,
            occupied={(0, 0)},
            own=own,
            pending=pending,
            require_adjacency=True,
        )
        assert cell == (0, 1)


def test_before_any_answer_it_grows_from_the_cell_it_asked_for() -> None:
    rng = random.Random(4)
    cell = choose_cell(
        rng, width=32, height=32, occupied=set(), own=[], pending={(5, 5)}, require_adjacency=True
    )
    assert adjacent(cell, (5, 5))


def test_the_board_edge_is_respected() -> None:
    rng = random.Random(5)
    for _ in range(100):
        x, y = choose_cell(
            rng,
            width=3,
            height=3,
            occupied={(0, 0)},
            own=[(0, 0)],
            pending=set(),
            require_adjacency=True,
        )
        assert 0 <= x < 3
        assert 0 <= y < 3


def test_a_bot_with_no_free_neighbour_still_aims_somewhere_free() -> None:
    rng = random.Random(6)
    occupied = {(0, 0), (1, 0), (0, 1)}
    cell = choose_cell(
        rng,
        width=5,
        height=5,
        occupied=occupied,
        own=[(0, 0)],
        pending=set(),
        require_adjacency=True,
    )
    assert cell not in occupied
