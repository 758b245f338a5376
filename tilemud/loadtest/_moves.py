"""Where a bot places its next tile: pure choices, no I/O.

The first tile goes anywhere free; every later one next to one of the bot's own tiles
(arenas require orthogonal adjacency for a player who holds tiles), or, while no placement
has been accepted yet, next to one still waiting for its answer. The bot grows from its
most recent tiles, which are the likeliest to still have a free neighbour. When no free
neighbour is found it aims at a random free cell anyway: the server rejects that
(``not_adjacent``), which the report counts, and the load stays what was asked for.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Container, Sequence
from typing import Final

Cell = tuple[int, int]

#: Own tiles looked at (the most recent first) before giving up on adjacency.
RECENT_TILES: Final = 12
_STEPS: Final = ((1, 0), (-1, 0), (0, 1), (0, -1))
_RANDOM_TRIES: Final = 32


def choose_cell(
    rng: random.Random,
    *,
    width: int,
    height: int,
    occupied: Container[Cell],
    own: Sequence[Cell],
    pending: Collection[Cell],
    require_adjacency: bool,
) -> Cell:
    """The next cell to place on.

    Args:
        rng: the bot's random source.
        width: board width.
        height: board height.
        occupied: cells known to hold a tile.
        own: the bot's accepted tiles, oldest first.
        pending: cells the bot asked for and has no answer for yet.
        require_adjacency: whether a tile must touch one of the bot's own.
    """
    # Before the first answer comes back, grow from the cells asked for: placing
    # anywhere again would be rejected as not adjacent once the first one is accepted.
    anchors = list(own[-RECENT_TILES:]) if own else sorted(pending)
    if anchors and require_adjacency:
        recent = anchors
        rng.shuffle(recent)
        for x, y in recent:
            steps = list(_STEPS)
            rng.shuffle(steps)
            for dx, dy in steps:
                cell = (x + dx, y + dy)
                if (
                    0 <= cell[0] < width
                    and 0 <= cell[1] < height
                    and cell not in occupied
                    and cell not in pending
                ):
                    return cell
    return random_free_cell(rng, width=width, height=height, occupied=occupied, pending=pending)


def random_free_cell(
    rng: random.Random,
    *,
    width: int,
    height: int,
    occupied: Container[Cell],
    pending: Collection[Cell],
) -> Cell:
    """A random cell that is neither occupied nor pending (any cell on a full board)."""
    for _ in range(_RANDOM_TRIES):
        cell = (rng.randrange(width), rng.randrange(height))
        if cell not in occupied and cell not in pending:
            return cell
    # A crowded board: walk it from a random cell (rare, and bounded by its size).
    start = rng.randrange(width * height)
    for offset in range(width * height):
        index = (start + offset) % (width * height)
        cell = (index % width, index // width)
        if cell not in occupied and cell not in pending:
            return cell
    return (start % width, start // width)
