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
from typing import Any, Final

import orjson

from tilemud.game._board import Board, Tile
from tilemud.game._errors import SnapshotError
from tilemud.game._rules import MAX_BOARD_SIDE

#: The layout version of board snapshots.
SNAPSHOT_FORMAT: Final = 1
_MAGIC: Final = b"TMB1"


def board_to_dict(board: Board) -> dict[str, Any]:
    """Encode ``board`` as a run-length-encoded, JSON-friendly dict."""
    palette = sorted({(t.tile.owner, t.tile.kind) for t in board.tiles()})
    codes = {Tile(owner=owner, kind=kind): i + 1 for i, (owner, kind) in enumerate(palette)}
    runs: list[int] = []
    current = 0
    length = 0
    width = board.width
    for row in board.rows():
        # Most rows of a big board are empty: count them in one step (row.count runs in C).
        if current == 0 and row.count(None) == width:
            length += width
            continue
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
    return _MAGIC + zlib.compress(orjson.dumps(board_to_dict(board)), 6)


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
