"""Compact board snapshots: a JSON-friendly dict, and bytes for storage.

The dict is ``{"format": 1, "width": W, "height": H, "palette": [[owner, kind], ...],
"runs": [n, code, n, code, ...]}``. ``palette`` lists every distinct ``(owner, kind)`` on
the board, sorted; ``runs`` run-length encodes the cells in row-major order, where code 0
is an empty cell and code ``c > 0`` is ``palette[c - 1]``. Equal boards give equal
snapshots. The bytes form is ``b"TMB1"`` followed by the zlib-compressed JSON of the dict.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from itertools import chain, compress, islice, repeat
from operator import attrgetter, is_not, ne, sub
from typing import Any, Final

import orjson

from tilemud.game._board import Board, Tile
from tilemud.game._errors import SnapshotError
from tilemud.game._rules import MAX_BOARD_SIDE

#: The layout version of board snapshots.
SNAPSHOT_FORMAT: Final = 1
_MAGIC: Final = b"TMB1"
#: zlib's fastest level: ~2 ms for a half-full 256x256 board where level 6 took 15-20 ms,
#: on the arena's tick every ``snapshot_ticks``; the bytes are ~20 % larger.
_ZLIB_LEVEL: Final = 1
_OWNER: Final = attrgetter("owner")
_KIND: Final = attrgetter("kind")


def board_to_dict(board: Board) -> dict[str, Any]:
    """Encode ``board`` as a run-length-encoded, JSON-friendly dict.

    Every step runs over whole lists in C (``map``, ``compress``, slices), not cell by
    cell in Python: it runs on the arena's tick when a player joins or the board is
    stored, and a half-full 256x256 board took 34.8 ms cell by cell, 21.9 ms this way
    (``benchmarks/board_snapshot.py``, docs/performance.md).
    """
    cells = list(chain.from_iterable(board.rows()))
    held = list(compress(cells, map(is_not, cells, repeat(None))))
    owners = list(map(_OWNER, held))
    kinds = list(map(_KIND, held))
    palette = sorted(set(zip(owners, kinds, strict=True)))
    codes = {pair: i + 1 for i, pair in enumerate(palette)}
    # Tiles are looked up by identity (an int hash in C), not through Tile's own hash
    # and equality, which attrs writes in Python; ``cells`` keeps every tile alive. No
    # tuple per tile is kept: tens of thousands of them woke the garbage collector.
    held_codes = map(codes.__getitem__, zip(owners, kinds, strict=True))
    code_of = dict(zip(map(id, held), held_codes, strict=True))
    code_of[id(None)] = 0
    cell_codes = list(map(code_of.__getitem__, map(id, cells)))
    total = len(cell_codes)
    # A run starts at 0 and wherever a cell's code differs from the one before it.
    starts = [0, *compress(range(1, total), map(ne, cell_codes, islice(cell_codes, 1, None)))]
    runs = [0] * (2 * len(starts))
    runs[0::2] = map(sub, [*islice(starts, 1, None), total], starts)
    runs[1::2] = map(cell_codes.__getitem__, starts)
    return {
        "format": SNAPSHOT_FORMAT,
        "width": board.width,
        "height": board.height,
        "palette": [list(pair) for pair in palette],
        "runs": runs,
    }


def board_from_dict(data: Mapping[str, Any]) -> Board:
    """Decode :func:`board_to_dict`'s output; the result equals the encoded board.

    Raises:
        SnapshotError: the dict is malformed, inconsistent or of an unknown format.
    """
    if not isinstance(data, Mapping):
        raise SnapshotError("a board snapshot must be a mapping")
    if data.get("format") != SNAPSHOT_FORMAT or type(data.get("format")) is not int:
        raise SnapshotError(f"unknown board snapshot format {data.get('format')!r}")
    if set(data) != {"format", "width", "height", "palette", "runs"}:
        raise SnapshotError(f"board snapshot keys are {sorted(map(str, data))}")
    width, height = data["width"], data["height"]
    if not all(type(side) is int and 1 <= side <= MAX_BOARD_SIDE for side in (width, height)):
        raise SnapshotError(f"bad board size {width!r}x{height!r}")
    tiles = _palette(data["palette"])
    runs = data["runs"]
    if not isinstance(runs, list) or len(runs) % 2:
        raise SnapshotError("runs must be a list of (length, code) pairs")
    cells: list[Tile | None] = []
    for i in range(0, len(runs), 2):
        length, code = runs[i], runs[i + 1]
        if type(length) is not int or type(code) is not int or length < 1:
            raise SnapshotError(f"bad run {length!r}, {code!r}")
        if not 0 <= code <= len(tiles):
            raise SnapshotError(f"run code {code} is not in the palette")
        if len(cells) + length > width * height:
            raise SnapshotError(f"runs cover more than the board's {width * height} cells")
        cells += [tiles[code - 1] if code else None] * length
    if len(cells) != width * height:
        raise SnapshotError(f"runs cover {len(cells)} cells, the board has {width * height}")
    return Board.from_rows(cells[y * width : (y + 1) * width] for y in range(height))


def _palette(raw: object) -> list[Tile]:
    if not isinstance(raw, list):
        raise SnapshotError("palette must be a list")
    tiles = []
    for entry in raw:
        if (
            not isinstance(entry, list)
            or len(entry) != 2
            or not all(type(part) is str for part in entry)
        ):
            raise SnapshotError(f"bad palette entry {entry!r}")
        tiles.append(Tile(owner=entry[0], kind=entry[1]))
    if len(set(tiles)) != len(tiles):
        raise SnapshotError("palette entries must be distinct")
    return tiles


def encode_board(board: Board) -> bytes:
    """Encode ``board`` as compact bytes (magic, then zlib-compressed JSON snapshot)."""
    return pack_board_dict(board_to_dict(board))


def pack_board_dict(data: Mapping[str, Any]) -> bytes:
    """The bytes of :func:`encode_board` from the board's dict (:func:`board_to_dict`)."""
    return _MAGIC + zlib.compress(orjson.dumps(data), _ZLIB_LEVEL)


def decode_board(data: bytes) -> Board:
    """Decode :func:`encode_board`'s output.

    Raises:
        SnapshotError: the bytes are not a board snapshot this version can read.
    """
    if not data.startswith(_MAGIC):
        raise SnapshotError("not a tilemud board snapshot")
    try:
        decoded = orjson.loads(zlib.decompress(data[len(_MAGIC) :]))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise SnapshotError(f"corrupt board snapshot: {exc}") from exc
    return board_from_dict(decoded)
