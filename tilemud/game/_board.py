"""The board: an immutable WxH grid of cells, each empty or holding one :class:`Tile`.

Storage is a tuple of rows, each a tuple of ``Tile | None``. :meth:`Board.with_tiles`
returns a new board that shares every untouched row with the old one, so a tick that places
``k`` tiles copies at most ``k`` rows (256 pointers each on the arena board) instead of the
whole grid, and old boards stay valid for whoever still holds them.

A board holds one :class:`Tile` per ``(owner, kind)``, not one per placement: boards derived
from one another share a table of the tiles placed, by owner and kind, and a placed tile
equal to one in it is replaced by that one (a half-full 256x256 board of 400 owners: ~1.5
MiB less, docs/performance.md, issue 13). An owner leaves the table when its last tile
leaves the board, so it holds the owners on the board, not every owner ever seen.

The checksum is kept incrementally. Each held cell contributes
``blake2b(x, y, owner, kind)`` (32 bytes, as a big-endian integer) to a sum modulo
``2**256``; :func:`board_checksum` hashes that sum together with the size and the tile
count. It depends only on the board's contents, costs one small hash per placed tile to
maintain and one to read, and detects divergence between a live arena and its replay. It is
not a commitment against an adversary who picks tiles to forge a collision.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Final, TypeAlias

import attrs


@attrs.frozen(kw_only=True)
class Tile:
    """What a held cell holds.

    Attributes:
        owner: the id of the player (or NPC) who placed it.
        kind: one of the rule config's tile kind names.
    """

    owner: str
    kind: str


@attrs.frozen(kw_only=True)
class PlacedTile:
    """A tile at a position: one accepted placement's effect on the board."""

    x: int
    y: int
    tile: Tile


Row: TypeAlias = tuple[Tile | None, ...]

_MOD_MASK: Final = (1 << 256) - 1
_CELL_XY = struct.Struct(">II")
_BOARD_HEADER = struct.Struct(">IIQ")
_NEIGHBOURS: Final = ((0, -1), (-1, 0), (1, 0), (0, 1))
_NO_KINDS: Final[Mapping[str, tuple[Tile, bytes]]] = MappingProxyType({})
#: The parameters of every cell's hash, fed nothing: only ever copied, never updated.
_CELL_HASHER: Final = hashlib.blake2b(digest_size=32, person=b"tilemud.cell")


def _text(value: str) -> bytes:
    # surrogatepass: any Python str an id may hold hashes instead of crashing the arena.
    return value.encode("utf-8", "surrogatepass")


def cell_digest(x: int, y: int, tile: Tile) -> int:
    """One held cell's contribution to the board checksum sum (before the modulus).

    The hashed bytes are ``x``, ``y`` and the owner's UTF-8 length as big-endian u32,
    then the owner and the kind in UTF-8, under ``blake2b(digest_size=32,
    person=b"tilemud.cell")``.
    """
    return _digest_at(x, y, _tile_bytes(tile))


def _tile_bytes(tile: Tile) -> bytes:
    """What the cell hash takes after ``x`` and ``y``: the owner's length, owner, kind."""
    owner = _text(tile.owner)
    return len(owner).to_bytes(4, "big") + owner + _text(tile.kind)


def _digest_at(x: int, y: int, tile_bytes: bytes) -> int:
    # A copy of a hasher made once is ~40 % cheaper than a new one with its parameters,
    # and one update of the joined bytes cheaper than three (a placed tile's share of the
    # tick, issue 13); the digest is the same.
    hasher = _CELL_HASHER.copy()
    hasher.update(_CELL_XY.pack(x, y) + tile_bytes)
    return int.from_bytes(hasher.digest(), "big")


class Board:
    """An immutable grid of cells; ``(0, 0)`` is the top-left corner, ``y`` grows downwards.

    Build an empty one with ``Board(width, height)`` and derive others with
    :meth:`with_tiles`. Boards compare equal when their sizes and every cell are equal.
    """

    __slots__ = ("_count", "_height", "_held", "_rows", "_sum", "_tiles", "_width")

    _width: int
    _height: int
    _rows: tuple[Row, ...]
    _held: MappingProxyType[str, int]
    # The tiles on the board by owner and kind, each with its bytes for the cell hash,
    # shared by the boards derived from this one (a cache: sharing or not never changes
    # what a board holds).
    _tiles: dict[str, dict[str, tuple[Tile, bytes]]]
    _count: int
    _sum: int

    def __init__(self, width: int, height: int) -> None:
        """Make an empty board.

        Raises:
            ValueError: a side is not a positive integer.
        """
        if type(width) is not int or type(height) is not int or width < 1 or height < 1:
            raise ValueError(f"a board needs positive integer sides, not {width!r}x{height!r}")
        # Every row may be the same tuple: rows are never mutated, only replaced.
        self._init(width, height, (tuple([None] * width),) * height, {}, 0, 0, {})

    def _init(
        self,
        width: int,
        height: int,
        rows: tuple[Row, ...],
        held: dict[str, int],
        count: int,
        digest_sum: int,
        tiles: dict[str, dict[str, tuple[Tile, bytes]]],
    ) -> None:
        self._width = width
        self._height = height
        self._rows = rows
        self._held = MappingProxyType(held)  # held is always a fresh dict of our own
        self._count = count
        self._sum = digest_sum
        self._tiles = tiles

    @property
    def width(self) -> int:
        """Cells per row."""
        return self._width

    @property
    def height(self) -> int:
        """Rows."""
        return self._height

    @property
    def tile_count(self) -> int:
        """How many cells hold a tile."""
        return self._count

    @property
    def is_full(self) -> bool:
        """Whether every cell holds a tile."""
        return self._count == self._width * self._height

    @property
    def holdings(self) -> Mapping[str, int]:
        """Tiles held per owner, for every owner holding at least one (read-only)."""
        return self._held

    @property
    def checksum(self) -> str:
        """The same as :func:`board_checksum` of this board."""
        header = _BOARD_HEADER.pack(self._width, self._height, self._count)
        data = header + self._sum.to_bytes(32, "big")
        return "b2add:" + hashlib.blake2b(data, digest_size=16, person=b"tilemud.board").hexdigest()

    def in_bounds(self, x: int, y: int) -> bool:
        """Whether ``(x, y)`` is a cell of this board."""
        return 0 <= x < self._width and 0 <= y < self._height

    def get(self, x: int, y: int) -> Tile | None:
        """The tile at ``(x, y)``, or ``None`` when the cell is empty.

        Raises:
            IndexError: ``(x, y)`` is outside the board.
        """
        if not (0 <= x < self._width and 0 <= y < self._height):
            raise IndexError(f"({x}, {y}) is outside the {self._width}x{self._height} board")
        return self._rows[y][x]

    def tiles_held(self, owner: str) -> int:
        """How many tiles ``owner`` holds."""
        return self._held.get(owner, 0)

    def touches(self, owner: str, x: int, y: int) -> bool:
        """Whether an orthogonal neighbour of ``(x, y)`` holds a tile of ``owner``."""
        rows = self._rows
        for dx, dy in _NEIGHBOURS:
            nx, ny = x + dx, y + dy
            if 0 <= nx < self._width and 0 <= ny < self._height:
                tile = rows[ny][nx]
                if tile is not None and tile.owner == owner:
                    return True
        return False

    def contest(self, x: int, y: int, attacker: str, holder: str) -> tuple[bool, int, int]:
        """Judge ``attacker``'s capture of ``holder``'s tile on ``(x, y)``, in one look around
        (``attacker`` and ``holder`` are two different players).

        Returns:
            Whether one of ``attacker``'s tiles touches the cell orthogonally; the
            *attack*, ``attacker``'s tiles among the eight cells around (0..8); the
            *defence*, ``holder``'s tiles among the four orthogonal neighbours (0..4).
        """
        rows = self._rows
        width, height = self._width, self._height
        touching = False
        attack = defence = 0
        for dy in (-1, 0, 1):
            ny = y + dy
            if not 0 <= ny < height:
                continue
            row = rows[ny]
            for dx in (-1, 0, 1):
                nx = x + dx
                if not (dx or dy) or not 0 <= nx < width:
                    continue
                tile = row[nx]
                if tile is None:
                    continue
                owner = tile.owner
                if owner == attacker:
                    attack += 1
                    touching = touching or not (dx and dy)
                elif owner == holder and not (dx and dy):
                    defence += 1
        return touching, attack, defence

    @property
    def grid(self) -> tuple[Row, ...]:
        """The rows, top to bottom: ``grid[y][x]`` is cell ``(x, y)``, with no bounds check
        (immutable, as the board; for loops that read many cells)."""
        return self._rows

    def tile_of(self, owner: str, kind: str) -> Tile:
        """A tile of ``owner`` and ``kind``: the one this board's lineage shares, if any
        (so a placed tile is not made twice)."""
        shared = self._tiles.get(owner, _NO_KINDS).get(kind)
        return Tile(owner=owner, kind=kind) if shared is None else shared[0]

    def rows(self) -> Iterator[Row]:
        """Yield each row, top to bottom, as a tuple of ``Tile | None``."""
        return iter(self._rows)

    def tiles(self) -> Iterator[PlacedTile]:
        """Yield every held cell in row-major order (by ``y``, then ``x``)."""
        width = self._width
        for y, row in enumerate(self._rows):
            if row.count(None) == width:  # an empty row, skipped at C speed
                continue
            for x, tile in enumerate(row):
                if tile is not None:
                    yield PlacedTile(x=x, y=y, tile=tile)

    def with_tiles(self, placed: Iterable[PlacedTile], *, replace: bool = False) -> Board:
        """Return a board that also holds ``placed``; this board is unchanged.

        Args:
            placed: the tiles to put down, on distinct cells.
            replace: a tile may replace the one on its cell (a capture); without it a held
                cell is an error.

        Raises:
            ValueError: a position is outside the board, or already holds a tile without
                ``replace``, or two of ``placed`` share a cell. Resolution asks for none.
        """
        width, height = self._width, self._height
        changed: dict[int, list[Tile | None]] = {}
        seen: set[tuple[int, int]] | None = set() if replace else None
        held: dict[str, int] | None = None
        count = self._count
        digest_sum = self._sum
        tiles = self._tiles
        copy_hasher, pack_xy, from_bytes = _CELL_HASHER.copy, _CELL_XY.pack, int.from_bytes
        for item in placed:
            x, y, tile = item.x, item.y, item.tile
            if not (0 <= x < width and 0 <= y < height):
                raise ValueError(f"({x}, {y}) is outside the {width}x{height} board")
            row = changed.get(y)
            if row is None:
                row = changed[y] = list(self._rows[y])
            if held is None:
                # copy(): dict() of a mapping proxy takes its slow path, ~15x slower.
                held = self._held.copy()
            previous = row[x]
            if previous is not None:
                if seen is None or (x, y) in seen:
                    raise ValueError(f"({x}, {y}) already holds a tile")
                # A capture: the previous owner loses the cell, the count stays.
                gone = previous.owner
                known = tiles.get(gone, _NO_KINDS).get(previous.kind)
                digest_sum -= _digest_at(x, y, _tile_bytes(previous) if known is None else known[1])
                left = held[gone] - 1
                if left:
                    held[gone] = left
                else:
                    del held[gone]
                    if gone != tile.owner:
                        tiles.pop(gone, None)
                count -= 1
            if seen is not None:
                seen.add((x, y))
            owner = tile.owner
            kinds = tiles.get(owner)
            if kinds is None:
                kinds = tiles[owner] = {}
            shared = kinds.get(tile.kind)
            if shared is None:
                shared = kinds[tile.kind] = (tile, _tile_bytes(tile))
            row[x] = shared[0]
            held[owner] = held.get(owner, 0) + 1
            count += 1
            # _digest_at inline, its parts in locals: once per placed tile.
            hasher = copy_hasher()
            hasher.update(pack_xy(x, y) + shared[1])
            digest_sum += from_bytes(hasher.digest(), "big")
        if held is None:
            return self
        rows = list(self._rows)
        for y, row in changed.items():
            rows[y] = tuple(row)
        board = Board.__new__(Board)
        board._init(
            self._width, self._height, tuple(rows), held, count, digest_sum & _MOD_MASK, tiles
        )
        return board

    @classmethod
    def from_tiles(cls, width: int, height: int, tiles: Iterable[PlacedTile]) -> Board:
        """Build a ``width``x``height`` board holding exactly ``tiles``.

        Raises:
            ValueError: bad sides, or a tile outside the board or on a shared cell.
        """
        return cls(width, height).with_tiles(tiles)

    @classmethod
    def from_rows(cls, rows: Iterable[Iterable[Tile | None]]) -> Board:
        """Build a board from its rows, top to bottom (the inverse of :meth:`rows`).

        Raises:
            ValueError: there are no rows, a row is empty, or rows differ in length.
        """
        frozen = tuple(tuple(row) for row in rows)
        width = len(frozen[0]) if frozen else 0
        if not width or any(len(row) != width for row in frozen):
            raise ValueError("a board needs equally long, non-empty rows")
        held: dict[str, int] = {}
        digest_sum = 0
        for y, row in enumerate(frozen):
            for x, tile in enumerate(row):
                if tile is not None:
                    held[tile.owner] = held.get(tile.owner, 0) + 1
                    digest_sum += cell_digest(x, y, tile)
        board = cls.__new__(cls)
        count = sum(held.values())
        board._init(width, len(frozen), frozen, held, count, digest_sum & _MOD_MASK, {})
        return board

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Board):
            return NotImplemented
        if self is other:
            return True
        return (
            self._width == other._width
            and self._height == other._height
            and self._count == other._count
            and self._sum == other._sum
            and self._rows == other._rows
        )

    def __hash__(self) -> int:
        return hash((self._width, self._height, self._count, self._sum))

    def __repr__(self) -> str:
        return (
            f"Board(width={self._width}, height={self._height}, "
            f"tiles={self._count}, checksum={self.checksum!r})"
        )


def board_checksum(board: Board) -> str:
    """A stable, content-only checksum of ``board``, e.g. ``"b2add:0f3a…"`` (32 hex digits).

    It is ``blake2b(digest_size=16, person=b"tilemud.board")`` over ``width``, ``height``
    (big-endian u32), the tile count (u64) and ``sum(cell_digest) mod 2**256`` (32 bytes,
    big-endian). Reading it costs one small hash whatever the board's size.
    """
    return board.checksum
