"""The occupied cells of each arena, kept once per process for all of its bots.

A bot needs the board only to aim at free cells. Keeping a full
:class:`~tilemud.player_client.ArenaView` per bot costs every bot a dict of every tile: in
``epic-300`` that is hundreds of bots times tens of thousands of tiles, about a gigabyte
per client process, and the CPU of updating them all, tick after tick. The bots of one
process in the same arena see the same frames, so one set of cells per arena is enough:
the first bot to see a tick applies it, the others skip it.

Tick numbers only grow within an arena. A tick frame is applied when its tick is above the
last one applied; a ``snapshot`` above it replaces the arena's cells (a round's end may
have emptied the board since); a ``round_ended`` empties them. Each cell keeps its owner,
so bots can aim at opponents' tiles to capture.
"""

from __future__ import annotations

import attrs

from tilemud.loadtest._moves import Cell
from tilemud.player_client import ArenaView
from tilemud.protocol import ArenaSnapshot, ArenaTick, RoundEnded, StreamMessage


@attrs.define
class SharedBoards:
    """Held cells and their owners, by arena id."""

    _cells: dict[str, dict[Cell, str]] = attrs.field(factory=dict, init=False)
    _ticks: dict[str, int] = attrs.field(factory=dict, init=False)
    #: The highest round number seen ended, by arena id.
    rounds: dict[str, int] = attrs.field(factory=dict, init=False)

    def cells(self, arena_id: str | None) -> dict[Cell, str]:
        """The held cells of ``arena_id`` and their owners (empty for an arena not seen)."""
        if arena_id is None:
            return {}
        return self._cells.setdefault(arena_id, {})

    def take(self, frame: ArenaSnapshot | ArenaTick | RoundEnded) -> None:
        """Apply a snapshot, a tick or a round's end, unless a later one was applied."""
        arena_id = frame.arena_id
        if isinstance(frame, RoundEnded):
            if frame.round > self.rounds.get(arena_id, 0):
                self.rounds[arena_id] = frame.round
                self._ticks[arena_id] = max(self._ticks.get(arena_id, -1), frame.tick)
                self.cells(arena_id).clear()
            return
        if frame.tick <= self._ticks.get(arena_id, -1):
            return
        self._ticks[arena_id] = frame.tick
        cells = self.cells(arena_id)
        if isinstance(frame, ArenaTick):
            cells.update(((x, y), owner) for x, y, owner, _ in frame.placed)
            return
        board = frame.board
        cells.clear()
        index = 0
        for length, code in zip(board.runs[0::2], board.runs[1::2], strict=True):
            if code:
                owner = board.palette[code - 1][0]
                cells.update(
                    ((n % board.width, n // board.width), owner)
                    for n in range(index, index + length)
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
        elif isinstance(frame, ArenaTick | RoundEnded) and frame.arena_id == self.arena_id:
            self.tick = frame.tick
            self.boards.take(frame)

    @property
    def occupied(self) -> dict[Cell, str]:
        """The held cells of the bot's arena and their owners."""
        return self.boards.cells(self.arena_id)
