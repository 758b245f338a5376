"""The wire frames one arena sends, built from game values and encoded once.

Stream frames (``snapshot``, ``tick``, ``player_joined``, ``player_left``,
``battle_ended``, ``round_ended``) are encoded with
:func:`~tilemud.protocol.encode_stream_body`, without a ``seq``: each player's stream
stamps its own. Their ``sent_at`` is the wall clock (``time.time()``) when the body is
built: it leaves the process, for latency measurement.
Replies (``place_result``, ``error``) are whole frames from
:func:`~tilemud.protocol.encode_server`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import orjson

from tilemud.game import (
    ArenaState,
    BattleResult,
    Board,
    PlacementResult,
    RoundResult,
    SnapshotRows,
    TickOutcome,
    is_npc,
)
from tilemud.protocol import (
    UNSTAMPED,
    ArenaSnapshot,
    ArenaTick,
    BattleEnded,
    BoardSnapshot,
    EncodedBoard,
    ErrorCode,
    ErrorFrame,
    LeaveReason,
    PlaceResult,
    PlayerJoined,
    PlayerLeft,
    RoundEnded,
    encode_server,
    encode_snapshot_body,
    encode_stream_body,
)

#: Seconds a player should wait before repeating a placement the arena could not take.
RETRY_AFTER = 1.0


class ArenaFrames:
    """Builds and encodes the frames of one arena.

    Keeps the wire form of the last board it snapshotted: the board only changes at tick
    ends, and run-length encoding a large board costs milliseconds, so the joins and
    resyncs between two ticks share it. Across ticks, :attr:`rows` keeps each row's runs:
    a snapshot after a tick re-encodes only the rows the tick changed (a half-full
    256x256 board after a tick of 60 placements: ~6 ms where encoding it all took ~23 ms,
    on the arena's tick; docs/performance.md, "The send path, third pass").
    """

    __slots__ = ("_arena_id", "_board", "_encoded_board", "rows")

    def __init__(self, arena_id: str, rows: SnapshotRows | None = None) -> None:
        self._arena_id = arena_id
        #: The rows' runs, shared with the arena's journal (its stored snapshots).
        self.rows = SnapshotRows() if rows is None else rows
        self._board: Board | None = None
        self._encoded_board: EncodedBoard | None = None

    def snapshot(self, state: ArenaState, *, players: Mapping[str, str]) -> str:
        """The ``snapshot`` body: board, tile holders' scores and seated players."""
        encoded = self._encoded_board
        if self._board is not state.board or encoded is None:
            self._board = state.board
            encoded = EncodedBoard(BoardSnapshot.from_board(state.board, rows=self.rows))
            self._encoded_board = encoded
        frame = ArenaSnapshot.from_arena(
            sent_at=time.time(),
            arena_id=self._arena_id,
            tick=state.tick,
            board=encoded.snapshot,
            scores=tuple(sorted(state.scores.items())),
            players=tuple(sorted(players.items())),
            npcs=tuple(sorted(p for p in {*players, *state.scores} if is_npc(p))),
        )
        return encode_snapshot_body(frame, encoded)

    def tick(self, outcome: TickOutcome, *, scores_before: Mapping[str, int]) -> str:
        """The ``tick`` body: tiles placed in the tick and the scores that changed."""
        # The board changed, so the wire form kept for joins is stale: let it go now, not
        # at the next join, which may never come (~100 KB a sparse 256x256 board, kept
        # with the old board for the arena's life; docs/performance.md, "The join's memory").
        self._board = self._encoded_board = None
        return self.tick_body(outcome, scores_before=scores_before, sent_at=time.time())

    def tick_body(
        self, outcome: TickOutcome, *, scores_before: Mapping[str, int], sent_at: float
    ) -> str:
        """The ``tick`` body sent at ``sent_at``.

        The text of ``encode_stream_body(ArenaTick.from_outcome(...))`` made from a dict (a
        test holds the two equal), as :meth:`place_result` is: the converter's pass over
        every placed tile, and comparing every holder's score where only the tick's
        placers and the players it captured from can have moved (``resolve_tick`` changes
        no other score), cost ~3/4 of the frame (issue 13).
        """
        scores = outcome.scores
        movers = {item.tile.owner for item in outcome.placed}
        movers.update(capture.previous for capture in outcome.captures)
        changed: list[tuple[str, int]] = []
        for player in movers:  # any order: sorted below
            score = scores.get(player)
            if score is None:
                if player in scores_before:  # lost their last tile: 0
                    changed.append((player, 0))
            elif scores_before.get(player) != score:
                changed.append((player, score))
        changed.sort()
        payload = {
            "type": ArenaTick.TYPE,
            "sent_at": sent_at,
            "arena_id": self._arena_id,
            "tick": outcome.tick,
            "placed": [(p.x, p.y, p.tile.owner, p.tile.kind) for p in outcome.placed],
            "scores": changed,
            "captured": [(c.x, c.y, c.previous) for c in outcome.captures],
        }
        return orjson.dumps(payload).decode()

    def players_joined(self, players: Sequence[tuple[str, str]]) -> str:
        """The ``player_joined`` body announcing ``players`` (id, name) at once."""
        frame = PlayerJoined(
            seq=UNSTAMPED,
            sent_at=time.time(),
            arena_id=self._arena_id,
            players=tuple(players),
            npcs=tuple(player_id for player_id, _ in players if is_npc(player_id)),
        )
        return encode_stream_body(frame)

    def player_left(self, *, player_id: str, reason: LeaveReason) -> str:
        """The ``player_left`` body."""
        frame = PlayerLeft(
            seq=UNSTAMPED,
            sent_at=time.time(),
            arena_id=self._arena_id,
            player_id=player_id,
            reason=reason,
            npc=is_npc(player_id),
        )
        return encode_stream_body(frame)

    def battle_ended(self, result: BattleResult) -> str:
        """The ``battle_ended`` body: final scores and winners."""
        frame = BattleEnded.from_result(result, arena_id=self._arena_id, sent_at=time.time())
        return encode_stream_body(frame)

    def round_ended(self, result: RoundResult, *, replay_id: str) -> str:
        """The ``round_ended`` body: the round's scores, winners and replay id."""
        frame = RoundEnded.from_result(
            result, arena_id=self._arena_id, replay_id=replay_id, sent_at=time.time()
        )
        return encode_stream_body(frame)

    def place_result(self, result: PlacementResult, *, rid: str, tick: int) -> str:
        """The ``place_result`` frame answering the placement ``rid``.

        The text of ``encode_server(PlaceResult.from_result(...))``, its fields in their
        order and its absent ones left out, made from a dict (a test holds the two equal):
        an answer for every placement, ~600 a second on epic-300, and the message and its
        unstructuring cost several times the dict (issue 13).
        """
        placement = result.placement
        payload: dict[str, object] = {
            "type": PlaceResult.TYPE,
            "rid": rid,
            "arena_id": self._arena_id,
            "tick": tick,
            "x": placement.x,
            "y": placement.y,
            "kind": placement.kind,
            "outcome": result.outcome,
        }
        if result.reason is not None:
            payload["reason"] = result.reason
        if result.winner is not None:
            payload["winner"] = result.winner
        if result.captured is not None:
            payload["captured"] = result.captured
        return orjson.dumps(payload).decode()

    def not_in_arena(self, rid: str) -> str:
        """The ``error`` frame for a placement from a player holding no seat here."""
        return encode_server(
            ErrorFrame(
                code=ErrorCode.NOT_IN_ARENA,
                message=f"not seated in arena {self._arena_id}; join one first",
                rid=rid,
            )
        )

    def bad_cell(self, rid: str) -> str:
        """The ``error`` frame for a placement whose cell no ``place`` frame can name."""
        return encode_server(
            ErrorFrame(
                code=ErrorCode.INVALID_MESSAGE,
                message="x and y must be cell coordinates",
                rid=rid,
            )
        )

    def arena_gone(self, rid: str) -> str:
        """The ``error`` frame for a placement that found the arena closing."""
        return encode_server(
            ErrorFrame(
                code=ErrorCode.ARENA_UNAVAILABLE,
                message=f"arena {self._arena_id} closed before the placement was resolved",
                rid=rid,
                retry_after=RETRY_AFTER,
            )
        )

    def not_stored(self, rid: str, retry_after: float) -> str:
        """The ``error`` frame for a placement refused because it could not be stored."""
        return encode_server(
            ErrorFrame(
                code=ErrorCode.UNAVAILABLE,
                message="the database is unavailable and the arena cannot keep more placements",
                rid=rid,
                retry_after=round(retry_after, 3),
            )
        )
