"""Board snapshots that re-encode only the rows changed since the last one.

:func:`~tilemud.game.board_to_dict` run-length encodes all ``W x H`` cells each time: ~23 ms
for a half-full 256x256 board, on the arena's tick whenever a player joins after the board
changed (in an epic arena it changes every tick). Boards share every untouched row with the
board they came from (:meth:`~tilemud.game.Board.with_tiles`), and a tick changes at most
one row per placement, so :class:`SnapshotRows` keeps, per row, the row it encoded (held, so
that ``is`` stays a valid test of "unchanged") and that row's runs: which ``(owner, kind)``
each run holds, and the runs as ``[length, code, ...]`` in the codes of the last palette.

A snapshot then encodes the changed rows, unions the rows' pair sets into the palette (a
set operation in C), re-codes the rows only when the palette changed (a new owner or kind
on the board, or the last tile of one gone), and joins the rows' runs, merging a run that
ends a row with one of the same code that starts the next (the runs cross row ends).
The result is exactly :func:`~tilemud.game.board_to_dict`'s (the tests hold both equal
over random sequences of boards).

Pure and synchronous; one instance per arena, used by its task only.
"""

from __future__ import annotations

from collections import Counter
from itertools import compress, islice
from operator import attrgetter, ne, sub
from typing import Any, Final, TypeAlias

from tilemud.game._board import Board, Row
from tilemud.game._snapshot import SNAPSHOT_FORMAT, pack_board_dict

Pair: TypeAlias = tuple[str, str]

_OWNER_KIND: Final = attrgetter("owner", "kind")


class _RowRuns:
    """One row's runs: the row itself, each run's length and pair, and the row's runs in
    the codes of the palette :attr:`coded_for` (None: not coded yet)."""

    __slots__ = ("coded", "coded_for", "lengths", "pairs", "row")

    def __init__(self, row: Row, pairs: dict[Pair | None, Pair | None]) -> None:
        self.row = row
        # Only held cells pass through attrgetter (a C call per cell); empty cells stay None.
        cells: list[Pair | None] = [None if t is None else _OWNER_KIND(t) for t in row]
        width = len(cells)
        starts = [0, *compress(range(1, width), map(ne, cells, islice(cells, 1, None)))]
        self.lengths: list[int] = list(map(sub, [*islice(starts, 1, None), width], starts))
        # Each run's pair as the one tuple the cache keeps for it (memory: one per pair,
        # not one per run), looked up in C.
        run_pairs = list(map(cells.__getitem__, starts))
        self.pairs: list[Pair | None] = list(map(pairs.setdefault, run_pairs, run_pairs))
        self.coded: list[int] = []
        self.coded_for: object = None

    def used(self) -> set[Pair]:
        """The row's distinct pairs (made when needed: a set per row was ~2 MB a board)."""
        # Pairs are non-empty tuples (true), empty cells None (false).
        return set(compress(self.pairs, self.pairs))  # type: ignore[arg-type]


class SnapshotRows:
    """Keeps each row's run-length encoding between snapshots of one arena's boards.

    Memory: three list entries per run (a half-full 256x256 board: ~49,000 runs, ~2 MiB
    by tracemalloc), kept for as long as the arena keeps the cache.
    """

    __slots__ = ("_codes", "_pairs", "_palette", "_rows", "_rows_with", "_size")

    def __init__(self) -> None:
        self._rows: list[_RowRuns] = []
        self._size: tuple[int, int] = (0, 0)
        # How many rows hold each pair: the palette is what counts above 0. Kept as rows
        # change (a union of every row's pairs cost ~2 ms a snapshot).
        self._rows_with: Counter[Pair] = Counter()
        # One tuple per (owner, kind) for every run that holds it.
        self._pairs: dict[Pair | None, Pair | None] = {}
        self._palette: list[Pair] = []
        # The palette's codes; a new dict for every new palette (rows compare it by `is`).
        self._codes: dict[Pair | None, int] = {None: 0}

    def to_dict(self, board: Board) -> dict[str, Any]:
        """The run-length-encoded dict of ``board``, equal to ``board_to_dict(board)``."""
        size = (board.width, board.height)
        rows = self._rows
        rows_with = self._rows_with
        pairs = self._pairs
        if size != self._size:
            rows.clear()
            rows_with.clear()
            pairs.clear()
            self._size = size
        if not rows:
            rows.extend(_RowRuns(row, pairs) for row in board.rows())
            for r in rows:
                rows_with.update(r.used())
        else:
            for y, row in enumerate(board.rows()):
                old = rows[y]
                if old.row is not row:
                    rows[y] = new = _RowRuns(row, pairs)
                    # Set differences in C: a tick changes a row's pairs by one or none.
                    old_used, new_used = old.used(), new.used()
                    for pair in old_used - new_used:
                        rows_with[pair] -= 1
                    for pair in new_used - old_used:
                        rows_with[pair] += 1
        palette = sorted(pair for pair, held in rows_with.items() if held > 0)
        if palette != self._palette:
            self._palette = palette
            for gone in [pair for pair, held in rows_with.items() if held <= 0]:
                del rows_with[gone]  # an owner's last tile left the board
                pairs.pop(gone, None)
            self._codes = {None: 0} | {pair: i + 1 for i, pair in enumerate(palette)}
        codes = self._codes
        code_of = codes.__getitem__
        runs: list[int] = []
        for r in rows:
            if r.coded_for is not codes:
                coded = [0] * (2 * len(r.lengths))
                coded[0::2] = r.lengths
                coded[1::2] = map(code_of, r.pairs)
                r.coded, r.coded_for = coded, codes
            coded = r.coded
            if runs and runs[-1] == coded[1]:
                # The row starts with the code the last one ended with: one run across.
                runs[-2] += coded[0]
                runs += islice(coded, 2, None)
            else:
                runs += coded
        return {
            "format": SNAPSHOT_FORMAT,
            "width": board.width,
            "height": board.height,
            "palette": [list(pair) for pair in palette],
            "runs": runs,
        }

    def encode(self, board: Board) -> bytes:
        """The stored bytes of ``board``, equal to ``encode_board(board)``."""
        return pack_board_dict(self.to_dict(board))
