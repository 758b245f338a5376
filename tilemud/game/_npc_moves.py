"""What an NPC places: its behaviour and its move in a tick, decided without Trio.

An NPC is a player without a socket. Its move in tick ``t`` is a pure function of the
state after tick ``t - 1``, the cells it holds (its :class:`Territory`, itself a function
of the arena's log), the arena's seed, its id and ``t``: the same inputs always give the
same placement, so a test reproduces it and a replay (which logs the placements) re-runs
bit-exact. Every candidate is judged by the very checks :func:`resolve_tick` runs on
everyone's placements (cooldown, occupied, adjacency, captures), so an NPC only proposes
placements the rules would accept on the board it saw; conflicts with players in the same
tick are resolved like any other.

Behaviours (``docs/game.md``, "NPCs"), one per NPC, chosen by :func:`npc_behaviour`:

- ``grow``: extend its own territory: an empty cell next to one of its tiles (a random
  empty cell while it holds none).
- ``contest``: go after the leading player (the best score that is not its own): a capture
  of one of the leader's tiles next to its own, else an empty cell of its frontier that
  also touches the leader's, else it grows. While it holds nothing it starts next to the
  leader's tiles when a few random looks find one.

Randomness comes from ``blake2b(person=b"tilemud.npc")`` of the seed, the tick and the id,
never from a global random source.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Literal, TypeAlias, get_args

from tilemud.game._board import PlacedTile
from tilemud.game._placement import Placement
from tilemud.game._resolve import Capture, _check
from tilemud.game._rules import RuleConfig
from tilemud.game._state import ArenaState

#: How an NPC plays.
Behaviour: TypeAlias = Literal["grow", "contest"]

#: Every :data:`Behaviour`.
BEHAVIOURS: Final[tuple[Behaviour, ...]] = get_args(Behaviour)

#: NPC ids start with this; ``tilemud.auth`` refuses tokens whose player id does.
NPC_PREFIX: Final = "npc:"

#: Own tiles an NPC looks around in one decision (its frontier sample).
FRONTIER_SAMPLE: Final = 12
#: Random cells an NPC looks at when it holds no tile.
RANDOM_LOOKS: Final = 16

_HEADER = struct.Struct(">QQ")
_ORTHOGONAL: Final = ((0, -1), (1, 0), (0, 1), (-1, 0))
Cell: TypeAlias = tuple[int, int]


def npc_id(number: int) -> str:
    """The id of an arena's ``number``-th NPC (``npc:7``)."""
    return f"{NPC_PREFIX}{number}"


def is_npc(player_id: str) -> bool:
    """Whether ``player_id`` names an NPC."""
    return player_id.startswith(NPC_PREFIX)


def _stream(*parts: bytes) -> Iterator[int]:
    """Endless deterministic 32-bit draws from ``parts``."""
    block = 0
    while True:
        digest = hashlib.blake2b(
            b"".join(parts) + block.to_bytes(4, "big"), digest_size=64, person=b"tilemud.npc"
        ).digest()
        yield from struct.unpack(">16I", digest)
        block += 1


def _draws(seed: int, tick: int, npc: str) -> Iterator[int]:
    return _stream(_HEADER.pack(seed, tick), npc.encode("utf-8", "surrogatepass"))


def npc_behaviour(seed: int, npc: str) -> Behaviour:
    """The behaviour NPC ``npc`` plays with in the arena of ``seed`` (fixed for its life)."""
    return BEHAVIOURS[next(_draws(seed, 0, npc)) % len(BEHAVIOURS)]


def npc_name(npc: str, behaviour: Behaviour) -> str:
    """The display name players see for an NPC."""
    return f"Bot {npc.removeprefix(NPC_PREFIX)} ({behaviour})"


class Territory:
    """The cells each NPC holds, kept up to date from tick outcomes.

    Order matters for determinism and is itself deterministic: cells are appended in the
    order of the outcomes' ``placed`` (row-major) and removed by swapping the last cell
    into the hole, so equal logs give equal territories.
    """

    __slots__ = ("_cells", "_where")

    def __init__(self) -> None:
        self._cells: dict[str, list[Cell]] = {}
        self._where: dict[str, dict[Cell, int]] = {}

    @classmethod
    def of_board(cls, state: ArenaState) -> Territory:
        """The NPCs' territories on ``state``'s board (a full scan: restarts only)."""
        territory = cls()
        for y, row in enumerate(state.board.rows()):
            for x, tile in enumerate(row):
                if tile is not None and is_npc(tile.owner):
                    territory._add(tile.owner, (x, y))
        return territory

    def cells(self, npc: str) -> Sequence[Cell]:
        """The cells ``npc`` holds (read-only use)."""
        return self._cells.get(npc, ())

    def update(self, placed: Iterable[PlacedTile], captures: Iterable[Capture]) -> None:
        """Apply one tick's accepted tiles and captures."""
        for capture in captures:
            if is_npc(capture.previous):
                self._remove(capture.previous, (capture.x, capture.y))
        for tile in placed:
            if is_npc(tile.tile.owner):
                self._add(tile.tile.owner, (tile.x, tile.y))

    def clear(self) -> None:
        """Forget every cell (a round cleared the board)."""
        self._cells.clear()
        self._where.clear()

    def _add(self, npc: str, cell: Cell) -> None:
        where = self._where.setdefault(npc, {})
        if cell not in where:
            cells = self._cells.setdefault(npc, [])
            where[cell] = len(cells)
            cells.append(cell)

    def _remove(self, npc: str, cell: Cell) -> None:
        where = self._where.get(npc)
        if where is None or cell not in where:
            return
        cells = self._cells[npc]
        index = where.pop(cell)
        last = cells.pop()
        if index < len(cells):
            cells[index] = last
            where[last] = index


def _leader(state: ArenaState, npc: str) -> str | None:
    best: tuple[int, str] | None = None
    for player, score in state.scores.items():
        if player != npc and score > 0 and (best is None or (-score, player) < best):
            best = (-score, player)
    return None if best is None else best[1]


def decide_npc_move(
    state: ArenaState,
    *,
    rules: RuleConfig,
    seed: int,
    npc: str,
    tick: int,
    behaviour: Behaviour,
    own: Sequence[Cell],
) -> Placement | None:
    """The placement NPC ``npc`` makes in ``tick``, or None (cooling down, nothing found).

    Args:
        state: the state after tick ``tick - 1``.
        rules: the arena's rules.
        seed: the arena's seed.
        npc: the NPC's id.
        tick: the tick the placement is for.
        behaviour: how it plays (:func:`npc_behaviour`).
        own: the cells it holds (:meth:`Territory.cells`).
    """
    if state.ended is not None or state.ready_at(npc, rules) > tick:
        return None
    draws = _draws(seed, tick, npc)
    kinds = rules.kind_names
    kind = kinds[next(draws) % len(kinds)]
    leader = _leader(state, npc) if behaviour == "contest" else None
    board = state.board
    if own:
        candidates, enough = _frontier(own, draws, board.width, board.height), 2
    else:
        looks = range(RANDOM_LOOKS)
        candidates = ((next(draws) % board.width, next(draws) % board.height) for _ in looks)
        enough = 1
    best: tuple[int, Placement] | None = None
    for x, y in candidates:
        placement = Placement(player_id=npc, x=x, y=y, kind=kind)
        if _check(state, placement, tick, rules) is not None:
            continue
        worth = _worth(state, placement, leader)
        if best is None or worth > best[0]:
            best = (worth, placement)
        if leader is None or worth >= enough:
            break
    return None if best is None else best[1]


def _frontier(own: Sequence[Cell], draws: Iterator[int], width: int, height: int) -> Iterator[Cell]:
    """Cells next to up to ``FRONTIER_SAMPLE`` own tiles, from a random one, in a random turn."""
    start = next(draws) % len(own)
    turn = next(draws) % 4
    for i in range(min(FRONTIER_SAMPLE, len(own))):
        ox, oy = own[(start + i) % len(own)]
        for j in range(4):
            dx, dy = _ORTHOGONAL[(turn + j) % 4]
            x, y = ox + dx, oy + dy
            if 0 <= x < width and 0 <= y < height:
                yield x, y


def _worth(state: ArenaState, placement: Placement, leader: str | None) -> int:
    """How much a contesting NPC likes a legal placement: 2 takes a leader's tile, 1 sits
    on the leader's frontier, 0 anything else (and always 0 without a leader)."""
    if leader is None:
        return 0
    board = state.board
    held = board.get(placement.x, placement.y)
    if held is not None and held.owner == leader:
        return 2
    return 1 if board.touches(leader, placement.x, placement.y) else 0
