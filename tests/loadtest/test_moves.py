"""Where a bot places: anywhere first, then next to its own tiles."""

from __future__ import annotations

import random
from collections.abc import Iterable

from tilemud.loadtest._moves import choose_cell


def held(cells: Iterable[tuple[int, int]], owner: str = "me") -> dict[tuple[int, int], str]:
    return dict.fromkeys(cells, owner)


def adjacent(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1


def test_the_first_tile_goes_to_a_free_cell() -> None:
    rng = random.Random(1)
    occupied = held((x, y) for x in range(4) for y in range(4) if (x, y) != (2, 3))
    cell = choose_cell(
        rng, width=4, height=4, occupied=occupied, own=[], pending=set(), require_adjacency=True
    )
    assert cell == (2, 3)


def test_later_tiles_touch_one_of_the_bots_own() -> None:
    rng = random.Random(2)
    own = [(10, 10), (11, 10)]
    occupied = held(own)
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
            occupied=held([(0, 0)]),
            own=own,
            pending=pending,
            require_adjacency=True,
        )
        assert cell == (0, 1)


def test_before_any_answer_it_grows_from_the_cell_it_asked_for() -> None:
    rng = random.Random(4)
    cell = choose_cell(
        rng, width=32, height=32, occupied={}, own=[], pending={(5, 5)}, require_adjacency=True
    )
    assert adjacent(cell, (5, 5))


def test_the_board_edge_is_respected() -> None:
    rng = random.Random(5)
    for _ in range(100):
        x, y = choose_cell(
            rng,
            width=3,
            height=3,
            occupied=held([(0, 0)]),
            own=[(0, 0)],
            pending=set(),
            require_adjacency=True,
        )
        assert 0 <= x < 3
        assert 0 <= y < 3


def test_a_bot_with_no_free_neighbour_still_aims_somewhere_free() -> None:
    rng = random.Random(6)
    occupied = held([(0, 0), (1, 0), (0, 1)])
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


def _frontier() -> dict[tuple[int, int], str]:
    # "me" holds rows 3..4, "foe" rows 1..2 of an 8-wide board: a straight frontier.
    cells = held(((x, y) for x in range(8) for y in (3, 4)), "me")
    cells.update(held(((x, y) for x in range(8) for y in (1, 2)), "foe"))
    return cells


def test_under_captures_it_contests_the_frontier() -> None:
    rng = random.Random(7)
    occupied = _frontier()
    own = [(x, 3) for x in range(8)]
    targets = set()
    for _ in range(100):
        cell = choose_cell(
            rng,
            width=8,
            height=8,
            occupied=occupied,
            own=own,
            pending=set(),
            require_adjacency=True,
            me="me",
            captures=True,
            capture_share=1.0,
        )
        targets.add(cell)
    # Every choice is a frontier tile of the foe it can take (attack 3 >= defence 3).
    assert targets
    assert all(occupied.get(c) == "foe" and c[1] == 2 for c in targets)


def test_a_tile_held_too_firmly_is_left_alone() -> None:
    rng = random.Random(8)
    for _ in range(50):
        cell = choose_cell(
            rng,
            width=8,
            height=8,
            occupied=_frontier(),
            own=[(x, 3) for x in range(8)],
            pending=set(),
            require_adjacency=True,
            me="me",
            captures=True,
            capture_margin=1,  # 3 < 3 + 1: nothing can be taken, and nothing is free
        )
        assert cell[1] >= 5 or cell[1] == 0  # a free cell (rejected as not adjacent)
