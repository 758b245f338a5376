"""The values the repositories take and give back: frozen, plain, no database types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

import attrs

from tilemud.game import (
    ArenaState,
    Board,
    Placement,
    ReplayCheck,
    ReplayTick,
    RuleConfig,
    SnapshotError,
    SnapshotRows,
    board_checksum,
    check_replay,
    decode_board,
    encode_board,
    score_board,
    slot_setters,
)

#: ``arenas.state``.
ArenaLifecycle: TypeAlias = Literal["live", "ended"]


def _frozen_ticks(value: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(value.items())))


@attrs.frozen(kw_only=True)
class PlayerRecord:
    """A player as stored."""

    player_id: str
    name: str
    created: dt.datetime
    last_seen: dt.datetime


@attrs.frozen(kw_only=True)
class ArenaRecord:
    """An arena as stored.

    Attributes:
        arena_id: the arena's id.
        mode: ``battle`` or ``arena``.
        region: where it runs.
        rules_version: the content hash of its rule config.
        seed: its seed, ``0 <= seed < 2**64``.
        state: ``live`` until it ends, then ``ended``.
        created: when it was created.
        ended: when it ended, once it has.
        result: how it ended (``BattleResult.to_dict()``), when the caller said.
        purged: when its replay (placements, checksums, snapshots) was purged.
    """

    arena_id: str
    mode: str
    region: str
    rules_version: str
    seed: int
    state: ArenaLifecycle
    created: dt.datetime
    ended: dt.datetime | None = None
    result: Mapping[str, Any] | None = None
    purged: dt.datetime | None = None
    parent_id: str | None = None
    round: int | None = None
    first_tick: int | None = None


@attrs.frozen(kw_only=True)
class PlacementRecord:
    """One accepted placement in the log: the ``ordinal``-th one resolved in ``tick``."""

    arena_id: str
    tick: int
    ordinal: int
    player_id: str
    x: int
    y: int
    kind: str
    #: The client's request id (None: logged before migration 0009).
    rid: str | None = None

    @classmethod
    def of(cls, arena_id: str, tick: int, ordinal: int, placement: Placement) -> PlacementRecord:
        """The log row of a placement accepted in ``tick``, with its ``rid``."""
        # Each field set through its slot, not attrs' frozen __init__ (object.__setattr__
        # per field): one row per accepted placement, ~600 a second on epic-300, at less
        # than half the cost (issue 13). The class has no validators to skip.
        record: PlacementRecord = _NEW(cls)
        _SET_ARENA_ID(record, arena_id)
        _SET_TICK(record, tick)
        _SET_ORDINAL(record, ordinal)
        _SET_PLAYER_ID(record, placement.player_id)
        _SET_X(record, placement.x)
        _SET_Y(record, placement.y)
        _SET_KIND(record, placement.kind)
        _SET_RID(record, placement.rid)
        return record

    def to_placement(self) -> Placement:
        """The game's placement (without a ``rid``)."""
        return Placement(player_id=self.player_id, x=self.x, y=self.y, kind=self.kind)


_NEW: Final = object.__new__
(
    _SET_ARENA_ID,
    _SET_TICK,
    _SET_ORDINAL,
    _SET_PLAYER_ID,
    _SET_X,
    _SET_Y,
    _SET_KIND,
    _SET_RID,
) = slot_setters(PlacementRecord)


@attrs.frozen(kw_only=True)
class ParticipantRecord:
    """A player who took part in an arena, and when they first joined it.

    Participants may fetch the arena's replay. Joining again keeps the first ``joined``.
    """

    arena_id: str
    player_id: str
    joined: dt.datetime


@attrs.frozen(kw_only=True)
class RoundStart:
    """A round of the epic arena ``parent_id`` begins: store it as arena ``arena_id``.

    The row copies the parent's mode, region, rules and seed; storing it again changes
    nothing (a restarted arena offers its current round again).
    """

    arena_id: str
    parent_id: str
    round: int
    first_tick: int


@attrs.frozen(kw_only=True)
class RoundEnd:
    """The round stored as ``arena_id`` ended with ``result`` (``RoundResult.to_dict()``)."""

    arena_id: str
    result: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class ArenaEvent:
    """Something that happened to an arena at the end of ``tick``, beside its placements.

    ``kind`` ``npc_capacity``: the elasticity supervisor changed the arena's NPC capacity;
    ``detail`` is ``{"npc_cap": effective cap, "shed_steps": steps shed on the node}``.
    Events do not change the board: a replay re-simulates without them.
    """

    arena_id: str
    tick: int
    kind: str
    detail: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class TickChecksum:
    """The board checksum of ``arena_id`` after ``tick`` (``board_checksum``)."""

    arena_id: str
    tick: int
    checksum: str


@attrs.frozen(kw_only=True)
class Snapshot:
    """An arena's board after ``tick``, encoded, with the cooldowns still running.

    Attributes:
        arena_id: whose board.
        tick: the last tick resolved on it.
        board: ``encode_board`` of the board.
        checksum: ``board_checksum`` of the board.
        last_placed: ``ArenaState.last_placed``: player id -> tick of their last accepted
            placement, for the cooldowns that may still block a later tick.
    """

    arena_id: str
    tick: int
    board: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    checksum: str
    last_placed: Mapping[str, int] = attrs.field(factory=dict, converter=_frozen_ticks)

    @classmethod
    def of_state(
        cls, arena_id: str, state: ArenaState, *, rows: SnapshotRows | None = None
    ) -> Snapshot:
        """Snapshot an arena's rules state (its board, tick and cooldowns).

        ``rows``, the arena's encoding of its earlier boards' rows, re-encodes only the
        rows changed since (the same bytes as without it).
        """
        return cls(
            arena_id=arena_id,
            tick=state.tick,
            board=encode_board(state.board) if rows is None else rows.encode(state.board),
            checksum=board_checksum(state.board),
            last_placed=state.last_placed,
        )

    def decode(self) -> Board:
        """The board, checked against :attr:`checksum`.

        Raises:
            SnapshotError: the bytes are not a board, or not the board of the checksum.
        """
        board = decode_board(self.board)
        if board_checksum(board) != self.checksum:
            raise SnapshotError(
                f"snapshot of {self.arena_id} at tick {self.tick}: the board does not match "
                f"its checksum {self.checksum}"
            )
        return board

    def to_state(self, rules: RuleConfig) -> ArenaState:
        """The rules state this snapshot was taken of (scores recounted from the board).

        A battle's ``ended`` is not part of a snapshot: an ended arena is not recovered.

        Raises:
            SnapshotError: the board is corrupt or not of the rules' size.
        """
        board = self.decode()
        if (board.width, board.height) != (rules.width, rules.height):
            raise SnapshotError("the snapshot's board does not have the rules' size")
        return ArenaState(
            board=board,
            tick=self.tick,
            last_placed=self.last_placed,
            scores=MappingProxyType(score_board(board, rules)),
        )


@attrs.frozen(kw_only=True)
class Recovery:
    """What a restarted arena needs: its record, rules, latest snapshot and the log after it.

    Attributes:
        arena: the arena's record.
        rules: its rule config.
        snapshot: the latest snapshot, or None when none was saved (start from an empty
            board, ``ArenaState.start(rules)``).
        placements: the accepted placements after the snapshot's tick (all of them without
            a snapshot), by tick then ordinal.
        checksums: the tick checksums after the snapshot's tick, by tick.
    """

    arena: ArenaRecord
    rules: RuleConfig
    snapshot: Snapshot | None
    placements: tuple[PlacementRecord, ...]
    checksums: tuple[TickChecksum, ...]

    def ticks(self) -> tuple[ReplayTick, ...]:
        """The log after the snapshot as ticks: placements in order, checksum if stored."""
        return logged_ticks(self.placements, self.checksums)


@attrs.frozen(kw_only=True)
class Replay:
    """Everything needed to replay an arena from an empty board.

    Replaying applies each tick's placements, in order, from ``ArenaState.start(rules)``
    with ``arena.seed``; after a tick with a ``checksum`` the board must have that checksum
    (:meth:`verify` does it). Its ticks are the game's :class:`~tilemud.game.ReplayTick`.

    Attributes:
        arena: the arena's record (seed, result).
        rules: its rule config.
        ticks: the ticks with placements or a checksum, in order.
    """

    arena: ArenaRecord
    rules: RuleConfig
    ticks: tuple[ReplayTick, ...]
    #: Its events (NPC capacity changes), by tick; none for arenas logged before them.
    events: tuple[ArenaEvent, ...] = ()

    def verify(self) -> ReplayCheck:
        """Re-simulate the replay with the game rules and compare it with what is stored.

        Returns:
            ``ok`` when every logged placement is accepted again and every stored checksum
            reproduced; otherwise ``divergence`` names the first tick that is not.
        """
        return check_replay(self.ticks, rules=self.rules, seed=self.arena.seed)


@attrs.frozen(kw_only=True)
class PlayerSeen:
    """A player seen at ``seen_at`` under ``name``: upserted into ``players``."""

    player_id: str
    name: str
    seen_at: dt.datetime


def logged_ticks(
    placements: Iterable[PlacementRecord], checksums: Iterable[TickChecksum]
) -> tuple[ReplayTick, ...]:
    """The log's rows as ticks: each tick's placements in order, and its checksum if stored."""
    by_tick: dict[int, list[Placement]] = {}
    for record in placements:
        by_tick.setdefault(record.tick, []).append(record.to_placement())
    stored = {c.tick: c.checksum for c in checksums}
    return tuple(
        ReplayTick(tick=tick, placements=tuple(by_tick.get(tick, ())), checksum=stored.get(tick))
        for tick in sorted(by_tick.keys() | stored.keys())
    )
