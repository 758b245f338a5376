"""Where a bot places its next tile: pure choices, no I/O.

Under rules with captures the bot contests its frontier: next to its recent tiles it looks
for an opponent's tile it can take (its tiles among the eight around reach the holder's
among the four orthogonal neighbours plus the margin, as :mod:`tilemud.game._resolve`
judges), and takes it with probability ``capture_share`` when a free neighbour exists too,
always when none does. The bot's view may be a little behind the server's, so some of its
captures are refused (``held_firmly``, ``occupied`` when it already holds the cell), as a
player's would be.

The first tile goes anywhere free; every later one next to one of the bot's own tiles
(arenas require orthogonal adjacency for a player who holds tiles), or, while no placement
has been accepted yet, next to one still waiting for its answer. The bot grows from its
most recent tiles, which are the likeliest to still have a free neighbour. When no free
neighbour is found it aims at a random free cell anyway: the server rejects that
(``not_adjacent``), which the report counts, and the load stays what was asked for.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
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
    occupied: Mapping[Cell, str],
    own: Sequence[Cell],
    pending: Collection[Cell],
    require_adjacency: bool,
    me: str | None = None,
    captures: bool = False,
    capture_margin: int = 0,
    capture_share: float = 0.5,
) -> Cell:
    """The next cell to place on.

    Args:
        rng: the bot's random source.
        width: board width.
        height: board height.
        occupied: cells known to hold a tile, and their owners.
        own: the bot's accepted tiles, oldest first.
        pending: cells the bot asked for and has no answer for yet.
        require_adjacency: whether a tile must touch one of the bot's own.
        me: the bot's player id (captures look for tiles of anyone else).
        captures: whether the rules let a placement capture.
        capture_margin: the rules' capture margin.
        capture_share: how often a capture is preferred to a free neighbour.
    """
    # Before the first answer comes back, grow from the cells asked for: placing
    # anywhere again would be rejected as not adjacent once the first one is accepted.
    anchors = list(own[-RECENT_TILES:]) if own else sorted(pending)
    contest = captures and me is not None
    if anchors and (require_adjacency or contest):
        recent = anchors
        rng.shuffle(recent)
        free: Cell | None = None
        target: Cell | None = None
        for x, y in recent:
            if contest and occupied.get((x, y)) != me:
                continue  # taken from us since: no support there
            steps = list(_STEPS)
            rng.shuffle(steps)
            for dx, dy in steps:
                cell = (x + dx, y + dy)
                if not (0 <= cell[0] < width and 0 <= cell[1] < height) or cell in pending:
                    continue
                holder = occupied.get(cell)
                if holder is None:
                    free = free or cell
                elif (
                    contest
                    and target is None
                    and holder != me
                    and (
                        _attack(occupied, cell, me)
                        >= _defence(occupied, cell, holder) + capture_margin
                    )
                ):
                    target = cell
            if free is not None and (target is not None or not contest):
                break
        if target is not None and (free is None or rng.random() < capture_share):
            return target
        if free is not None and require_adjacency:
            return free
    return random_free_cell(rng, width=width, height=height, occupied=occupied, pending=pending)


def _attack(occupied: Mapping[Cell, str], cell: Cell, me: str | None) -> int:
    x, y = cell
    return sum(
        occupied.get((x + dx, y + dy)) == me for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy
    )


def _defence(occupied: Mapping[Cell, str], cell: Cell, holder: str) -> int:
    x, y = cell
    return sum(occupied.get((x + dx, y + dy)) == holder for dx, dy in _STEPS)


def random_free_cell(
    rng: random.Random,
    *,
    width: int,
    height: int,
    occupied: Collection[Cell],
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
