"""What a board snapshot costs the arena's tick: run-length encoding, the join frame, storage.

::

    .venv/bin/python -m benchmarks.board_snapshot --runs 7

A 256x256 board filled half-way the way an arena fills it (60 placements a tick, a fresh
``Tile`` per placement, 300 owners) is encoded by:

- ``cell by cell``: the run-length encoding before issue 13's second pass, one Python
  step per cell (kept here as the reference; the test suite holds both equal);
- ``board_to_dict``: the encoding now (whole lists in C);
- ``BoardSnapshot.from_board`` + ``encode_stream_body``: the ``snapshot`` frame a joining
  or resyncing player gets;
- ``encode_board``: what the journal stores every ``snapshot_ticks`` (the encoding, JSON,
  zlib at level 1), and the same before (cell by cell, zlib at level 6);
- ``SnapshotRows``, after a tick: what an arena's join (or stored snapshot) costs now: a
  tick of 60 placements changed the board since the last snapshot, and only its rows are
  encoded again (the board, the cache and the tick are made before the clock starts).

Runs alternate; prints the median ms of each (``time.perf_counter``, this process only).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import zlib
from collections.abc import Callable
from typing import Any

import orjson

from tilemud.game import Board, PlacedTile, SnapshotRows, Tile, board_to_dict, encode_board
from tilemud.protocol import UNSTAMPED, ArenaSnapshot, BoardSnapshot, encode_stream_body


def half_full_board(seed: int = 1) -> Board:
    """A 256x256 board half full, placed 60 tiles at a time by 300 owners."""
    rng = random.Random(seed)
    board = Board(256, 256)
    cells = rng.sample(range(256 * 256), 256 * 128)
    owners = [f"guest-{i:04d}-0123456789abcdef" for i in range(300)]
    for start in range(0, len(cells), 60):
        board = board.with_tiles(
            PlacedTile(x=c % 256, y=c // 256, tile=Tile(owner=rng.choice(owners), kind="stone"))
            for c in cells[start : start + 60]
        )
    return board


def cell_by_cell(board: Board) -> dict[str, Any]:
    """The run-length encoding one cell at a time (the reference)."""
    palette = sorted({(t.tile.owner, t.tile.kind) for t in board.tiles()})
    codes = {Tile(owner=owner, kind=kind): i + 1 for i, (owner, kind) in enumerate(palette)}
    runs: list[int] = []
    current = length = 0
    for row in board.rows():
        for tile in row:
            code = 0 if tile is None else codes[tile]
            if code == current:
                length += 1
            else:
                if length:
                    runs += (length, current)
                current, length = code, 1
    runs += (length, current)
    return {
        "format": 1,
        "width": board.width,
        "height": board.height,
        "palette": [list(p) for p in palette],
        "runs": runs,
    }


def stored_before(board: Board) -> bytes:
    """``encode_board`` before: cell by cell, then zlib at level 6."""
    return b"TMB1" + zlib.compress(orjson.dumps(cell_by_cell(board)), 6)


def snapshot_frame(board: Board) -> str:
    """The ``snapshot`` body a joining player gets (board, 300 scores and players)."""
    owners = sorted(board.holdings)
    return encode_stream_body(
        ArenaSnapshot(
            seq=UNSTAMPED,
            sent_at=time.time(),
            arena_id="epic",
            tick=1,
            board=BoardSnapshot.from_board(board),
            scores=tuple((o, 1) for o in owners),
            players=tuple((o, o) for o in owners),
        )
    )


class AfterATick:
    """Snapshots through :class:`SnapshotRows` of the board after one more tick each time."""

    def __init__(self, board: Board, seed: int = 2) -> None:
        self._rng = random.Random(seed)
        self._rows = SnapshotRows()
        self._rows.to_dict(board)
        self._next = self._tick(board)

    def _tick(self, board: Board) -> Board:
        rng = self._rng
        return board.with_tiles(
            (
                PlacedTile(
                    x=rng.randrange(256),
                    y=rng.randrange(256),
                    tile=Tile(
                        owner=f"guest-{rng.randrange(300):04d}-0123456789abcdef", kind="stone"
                    ),
                )
                for _ in range(60)
            ),
            replace=True,
        )

    def frame(self, _: Board) -> object:
        board = self._next
        encoded = self._rows.to_dict(board)
        self._next = self._tick(board)  # timed too: subtracted below
        return encoded

    def tick_only(self, _: Board) -> object:
        board = self._next
        self._next = self._tick(board)
        return board


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    board = half_full_board()
    fast = board_to_dict(board)
    assert cell_by_cell(board) == fast
    ways: dict[str, Callable[[Board], object]] = {
        "cell by cell (before)": cell_by_cell,
        "board_to_dict": board_to_dict,
        "snapshot frame": snapshot_frame,
        "stored, before": stored_before,
        "encode_board (stored)": encode_board,
    }
    after = AfterATick(board)
    ways["rows after a tick (+tick)"] = after.frame
    ways["the tick alone"] = after.tick_only
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.runs):
        for name, way in ways.items():
            started = time.perf_counter()
            way(board)
            times[name].append((time.perf_counter() - started) * 1000)
    print(f"half-full 256x256 board: {board.tile_count} tiles, {len(fast['runs']) // 2} runs")
    for name, samples in times.items():
        print(f"{name:26} {statistics.median(samples):6.1f} ms")
    rows = statistics.median(times["rows after a tick (+tick)"])
    print(f"{'rows after a tick':26} {rows - statistics.median(times['the tick alone']):6.1f} ms")


if __name__ == "__main__":
    main()
