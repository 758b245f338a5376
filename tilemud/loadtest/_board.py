"""The occupied cells of each arena, kept once per process for all of its bots.

A bot needs the board only to aim at free cells. Keeping a full
:class:`~tilemud.player_client.ArenaView` per bot costs every bot a dict of every tile: in
``epic-300`` that is hundreds of bots times tens of thousands of tiles, about a gigabyte
per client process, and the CPU of updating them all, tick after tick. The bots of one
process in the same arena see the same frames, so one set of cells per arena is enough:
the first bot to see a tick applies it, the others skip it.

Tick numbers only grow within an arena, and a ``snapshot`` at tick ``t`` holds every tile
placed up to ``t``. So a tick frame is applied when its tick is above the last one applied,
and a snapshot is merged when its tick is above it too (cells never empty in an arena's
life, so merging is enough).
"""

from __future__ import annotations

import attrs

from tilemud.loadtest._moves import Cell
from tilemud.player_client import ArenaView
from tilemud.protocol import ArenaSnapshot, ArenaTick, StreamMessage


@attrs.define
class SharedBoards:
    """Occupied cells by arena id."""

    _cells: dict[str, set[Cell]] = attrs.field(factory=dict, init=False)
    _ticks: dict[str, int] = attrs.field(factory=dict, init=False)

    def cells(self, arena_id: str | None) -> set[Cell]:
        """The occupied cells of ``arena_id`` (empty for an arena not seen yet)."""
        if arena_id is None:
            return set()
        return self._cells.setdefault(arena_id, set())

    def take(self, frame: ArenaSnapshot | ArenaTick) -> None:
        """Apply a snapshot or a tick, unless a later one was applied already."""
        arena_id = frame.arena_id
        if frame.tick <= self._ticks.get(arena_id, -1):
            return
        self._ticks[arena_id] = frame.tick
        cells = self.cells(arena_id)
        if isinstance(frame, ArenaTick):
            cells.update((x, y) for x, y, _, _ in frame.placed)
            return
        board = frame.board
        index = 0
        for length, code in zip(board.runs[0::2], board.runs[1::2], strict=True):
            if code:
                cells.update(
                    (n % board.width, n // board.width) for n in range(index, index + length)
                )
            index += length


@attrs.define
class BoardView(ArenaView):
    """A bot's :class:`ArenaView` that keeps no tiles of its own: the shared boards do."""

    boards: SharedBoards = attrs.field(kw_only=True)

    def apply(self, frame: StreamMessage) -> None:
        """Follow the bot's arena; hand its snapshots and ticks to the shared boards."""
        if isinstance(frame, ArenaSnapshot):
            self.arena_id, self.tick = frame.arena_id, frame.tick
            self.width, self.height = frame.board.width, frame.board.height
            self.boards.take(frame)
        elif isinstance(frame, ArenaTick) and frame.arena_id == self.arena_id:
            self.tick = frame.tick
            self.boards.take(frame)

    @property
    def occupied(self) -> set[Cell]:
        """The occupied cells of the bot's arena."""
        return self.boards.cells(self.arena_id)
