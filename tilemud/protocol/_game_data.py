"""Game data that messages carry as nested objects: a rules summary and a board snapshot.

These are not messages (they have no ``TYPE`` and are in no union); they are the values of
fields of ``joined`` and ``snapshot``. Each mirrors a shape of :mod:`tilemud.game` and
converts from it, so the arena never assembles wire dicts by hand:

- :class:`RulesSummary` is what a client needs of a :class:`~tilemud.game.RuleConfig`,
  identified by its content hash;
- :class:`BoardSnapshot` is exactly the layout of :func:`tilemud.game.board_to_dict`.

Their fields follow the message rules: a constraint from ``_fields`` on every str and int,
an ``Attributes:`` entry for every field (the schema's descriptions).
"""

from __future__ import annotations

from typing import Literal

import attrs

from tilemud.game import (
    SNAPSHOT_FORMAT,
    Board,
    RuleConfig,
    SnapshotRows,
    board_from_dict,
    board_to_dict,
)
from tilemud.protocol._fields import (
    ID,
    KIND,
    MAX_CELLS,
    SIDE,
    Fixed,
    Items,
    Number,
    Text,
)
from tilemud.protocol._unchecked import unchecked

#: Most tile kinds a rule config may have.
MAX_TILE_KINDS = 64


@attrs.frozen(kw_only=True)
class TileKindSummary:
    """One kind of tile players may place.

    Attributes:
        name: the kind's name, the ``kind`` of a ``place``.
        points: what one tile of this kind scores when the rules count kind points.
    """

    name: str = attrs.field(validator=KIND)
    points: int = attrs.field(validator=Number(minimum=0))


@attrs.frozen(kw_only=True)
class RulesSummary:
    """The rules the arena runs under, as far as a client needs them.

    Attributes:
        version: the rule config's content hash, ``sha256:`` and 64 hex digits; equal
            hashes mean equal rules, so a client may cache what it derives from them.
        width: board width in cells.
        height: board height in cells.
        tick_rate_hz: ticks per second.
        cooldown_ticks: after an accepted placement in tick ``t`` the player's next one is
            accepted no earlier than tick ``t + cooldown_ticks``; 0 means no cooldown.
        require_adjacency: a player who holds tiles may only place orthogonally next to one.
        tile_kinds: the kinds players may place, in display order.
        player_cap: most players the arena seats.
        battle_ticks: a battle covers ticks 1 to ``battle_ticks``; absent for an arena that
            never ends by time.
        captures: a placement on an opponent's tile may capture it (docs/game.md).
        capture_margin: a capture needs attack >= defence + ``capture_margin``.
        round_ticks: the arena runs in rounds of this many ticks (round ``r`` covers ticks
            ``(r-1)*round_ticks+1 .. r*round_ticks``); absent without rounds.
    """

    version: str = attrs.field(validator=Text(pattern="sha256:[0-9a-f]{64}"))
    width: int = attrs.field(validator=SIDE)
    height: int = attrs.field(validator=SIDE)
    tick_rate_hz: int = attrs.field(validator=Number(minimum=1))
    cooldown_ticks: int = attrs.field(validator=Number(minimum=0))
    require_adjacency: bool
    tile_kinds: tuple[TileKindSummary, ...] = attrs.field(
        validator=Items(min_items=1, max_items=MAX_TILE_KINDS)
    )
    player_cap: int = attrs.field(validator=Number(minimum=1))
    battle_ticks: int | None = attrs.field(default=None, validator=Number(minimum=1))
    captures: bool = False
    capture_margin: int = attrs.field(default=0, validator=Number(minimum=0, maximum=8))
    round_ticks: int | None = attrs.field(default=None, validator=Number(minimum=1))

    @classmethod
    def from_rules(cls, rules: RuleConfig) -> RulesSummary:
        """Summarise a rule config; ``version`` is its content hash."""
        return cls(
            version=rules.content_hash,
            width=rules.width,
            height=rules.height,
            tick_rate_hz=rules.tick_rate_hz,
            cooldown_ticks=rules.cooldown_ticks,
            require_adjacency=rules.require_adjacency,
            tile_kinds=tuple(
                TileKindSummary(name=kind.name, points=kind.points) for kind in rules.tile_kinds
            ),
            player_cap=rules.player_cap,
            battle_ticks=rules.battle_ticks,
            captures=rules.captures,
            capture_margin=rules.capture_margin,
            round_ticks=rules.round_ticks,
        )


@attrs.frozen(kw_only=True)
class BoardSnapshot:
    """A whole board, run-length encoded (the layout of ``tilemud.game.board_to_dict``).

    Attributes:
        format: the layout version; only 1 exists.
        width: board width in cells.
        height: board height in cells.
        palette: every distinct ``[owner, kind]`` on the board, sorted; run code ``c > 0``
            stands for ``palette[c - 1]``.
        runs: ``[length, code, length, code, ...]`` over the cells in row-major order (row
            0 from x = 0 up, then row 1 ...); code 0 is an empty cell; every length is at
            least 1 and the lengths add up to ``width * height``.
    """

    format: Literal[1]
    width: int = attrs.field(validator=SIDE)
    height: int = attrs.field(validator=SIDE)
    palette: tuple[tuple[str, str], ...] = attrs.field(
        validator=Items(item=Fixed(ID, KIND), max_items=MAX_CELLS)
    )
    runs: tuple[int, ...] = attrs.field(
        validator=Items(item=Number(minimum=0, maximum=MAX_CELLS), max_items=2 * MAX_CELLS)
    )

    @classmethod
    def from_board(cls, board: Board, *, rows: SnapshotRows | None = None) -> BoardSnapshot:
        """Snapshot ``board`` (through :func:`tilemud.game.board_to_dict`).

        Args:
            board: the board.
            rows: the encoding of an earlier board's rows, to re-encode only the rows
                changed since (an arena's joins and resyncs); None encodes every row.
        """
        data = board_to_dict(board) if rows is None else rows.to_dict(board)
        assert data["format"] == SNAPSHOT_FORMAT == 1, "a new board format needs a new field"
        # Built from a Board, which holds only valid tiles: the values are not checked
        # again. Checking the ~100,000 runs of a half-full 256x256 board took ~50 ms of the
        # arena's tick (docs/performance.md); the codec's tests hold both ways equal.
        return unchecked(
            cls,
            format=1,
            width=data["width"],
            height=data["height"],
            palette=tuple((owner, kind) for owner, kind in data["palette"]),
            runs=tuple(data["runs"]),
        )

    def to_board(self) -> Board:
        """The board this snapshot describes.

        Raises:
            tilemud.game.SnapshotError: the runs or the palette are inconsistent (the
                decoder checks each value, not how they fit together).
        """
        return board_from_dict(
            {
                "format": self.format,
                "width": self.width,
                "height": self.height,
                "palette": [list(pair) for pair in self.palette],
                "runs": list(self.runs),
            }
        )
