"""Stream frames: the high-volume tier, server -> client, and their closed union.

Every stream frame has ``seq`` (the session's stream number: 1, 2, 3 ... one per frame),
``sent_at`` (the server's Unix time when the frame was built, so a client can measure
delivery latency) and ``arena_id``. A frame is built once per arena event for every
subscriber with ``seq=UNSTAMPED``; ``encode_stream_body`` encodes it without ``seq`` and
``stamp`` splices each session's number into that text (see ``_codec``).

The frames of one arena, read in ``seq`` order, rebuild its state: a ``snapshot`` replaces
the client's whole view, each ``tick`` adds the tiles placed in it and the scores that
changed. All are also members of :data:`~tilemud.protocol.ServerMessage`.

Lists are bounded in the schemas: ``placed`` by :data:`MAX_PLACED`; lists with at most one
entry per cell or per tile holder by the largest board's cell count.

Why one module of over 400 lines: it is the closed union of the stream frames, each with
the constructors that build it from game values; split, the union would be read in pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal, TypeAlias

import attrs

from tilemud.game import ArenaState, BattleResult, EndReason, RoundResult, TickOutcome
from tilemud.protocol._chat import ChatStreamMessage
from tilemud.protocol._fields import (
    COORD,
    ID,
    KIND,
    MAX_CELLS,
    NAME,
    SCORE,
    STREAM_SEQ,
    TICK,
    UNIX_TIME,
    UNSTAMPED,
    Fixed,
    Items,
)
from tilemud.protocol._game_data import BoardSnapshot
from tilemud.protocol._guilds import GuildEvent
from tilemud.protocol._parties import PartyEvent
from tilemud.protocol._registry import tag_registry
from tilemud.protocol._unchecked import unchecked

#: Most tiles one ``tick`` frame lists.
MAX_PLACED = 65536

#: Most players one ``snapshot`` lists (the largest player cap plus the largest NPC cap).
MAX_PLAYERS = 20_000

#: Why a player left an arena: asked to (``leave``), lost the connection for longer than
#: the reconnect grace, or the battle ended.
LeaveReason: TypeAlias = Literal["left", "timeout", "battle_over"]

_SCORES = Items(item=Fixed(ID, SCORE), max_items=MAX_CELLS)


def _scores(scores: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(scores.items()))


@attrs.frozen(kw_only=True)
class ArenaSnapshot:
    """The whole state of an arena: replaces everything the client knew of it.

    Sent first after ``joined``, and instead of the missed frames when a resumed session's
    resend buffer no longer holds them (then ``seq`` may jump: frames before it are
    superseded, not lost) or after the arena restarted.

    Attributes:
        seq: this frame's number in the session's stream; unlike other frames it may be
            more than one above the previous frame's (those between are superseded).
        sent_at: the server's clock when the frame was built, Unix seconds.
        arena_id: the arena.
        tick: the last tick resolved; later ``tick`` frames continue from it.
        board: every cell of the board.
        scores: ``[player_id, score]`` for every tile holder, in player id order; a player
            who holds no tile is absent (score 0).
        players: ``[player_id, name]`` for every player seated in the arena, in player id
            order, NPCs included.
        npcs: the ids among ``players`` and ``scores`` that are NPCs (computer players),
            sorted (since protocol version 3). Every NPC id starts with ``npc:``, which no
            human's id may.
    """

    TYPE: ClassVar[str] = "snapshot"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    arena_id: str = attrs.field(validator=ID)
    tick: int = attrs.field(validator=TICK)
    board: BoardSnapshot
    scores: tuple[tuple[str, int], ...] = attrs.field(validator=_SCORES)
    players: tuple[tuple[str, str], ...] = attrs.field(
        validator=Items(item=Fixed(ID, NAME), max_items=MAX_PLAYERS)
    )
    npcs: tuple[str, ...] = attrs.field(default=(), validator=Items(item=ID, max_items=MAX_CELLS))

    @classmethod
    def from_state(
        cls,
        state: ArenaState,
        *,
        arena_id: str,
        sent_at: float,
        players: Mapping[str, str],
    ) -> ArenaSnapshot:
        """The unstamped snapshot of an arena's state.

        Args:
            state: the arena's state after its last resolved tick.
            arena_id: the arena.
            sent_at: the server's clock now, Unix seconds.
            players: player id -> display name, for every seated player.
        """
        return cls(
            seq=UNSTAMPED,
            sent_at=sent_at,
            arena_id=arena_id,
            tick=state.tick,
            board=BoardSnapshot.from_board(state.board),
            scores=_scores(state.scores),
            players=tuple(sorted(players.items())),
        )

    @classmethod
    def from_arena(
        cls,
        *,
        sent_at: float,
        arena_id: str,
        tick: int,
        board: BoardSnapshot,
        scores: tuple[tuple[str, int], ...],
        players: tuple[tuple[str, str], ...],
        npcs: tuple[str, ...],
    ) -> ArenaSnapshot:
        """The unstamped snapshot an arena sends a joiner, from values it holds.

        Built unchecked: the board comes from a :class:`~tilemud.game.Board`, the scores
        from the game, the players' ids and names from their checked logins; checking 300
        players and scores again for every joiner cost the arena's tick (the arena's tests
        decode every snapshot it sends with the strict decoder).
        """
        return unchecked(
            cls,
            seq=UNSTAMPED,
            sent_at=sent_at,
            arena_id=arena_id,
            tick=tick,
            board=board,
            scores=scores,
            players=players,
            npcs=npcs,
        )


@attrs.frozen(kw_only=True)
class ArenaTick:
    """What one resolved tick changed: the tiles placed and the scores that moved.

    Apply it to the view built from the last ``snapshot``: set each placed cell, overwrite
    each listed score. A tick that placed nothing may send no frame, so ``tick`` numbers
    of consecutive frames may jump.

    Attributes:
        seq: this frame's number in the session's stream: one more than the previous
            frame's; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
        arena_id: the arena.
        tick: the tick resolved.
        placed: ``[x, y, owner, kind]`` for every tile accepted in this tick, row-major
            (by ``y``, then ``x``); a cell appears at most once.
        scores: ``[player_id, score]`` for each player whose score changed in this tick,
            the new total, in player id order (0 for a player who lost every tile).
        captured: ``[x, y, previous_owner]`` for every cell of ``placed`` that was taken
            from another player (a capture), in the same order; empty when none was
            (since protocol version 2).
    """

    TYPE: ClassVar[str] = "tick"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    arena_id: str = attrs.field(validator=ID)
    tick: int = attrs.field(validator=TICK)
    placed: tuple[tuple[int, int, str, str], ...] = attrs.field(
        validator=Items(item=Fixed(COORD, COORD, ID, KIND), max_items=MAX_PLACED)
    )
    scores: tuple[tuple[str, int], ...] = attrs.field(
        validator=Items(item=Fixed(ID, SCORE), max_items=MAX_PLACED)
    )
    captured: tuple[tuple[int, int, str], ...] = attrs.field(
        validator=Items(item=Fixed(COORD, COORD, ID), max_items=MAX_PLACED)
    )

    @classmethod
    def from_outcome(
        cls,
        outcome: TickOutcome,
        *,
        arena_id: str,
        sent_at: float,
        scores_before: Mapping[str, int],
    ) -> ArenaTick:
        """The unstamped frame of a resolved tick.

        Built unchecked: coordinates, owners, kinds and scores are the game's own, already
        checked when the placements were taken; checking every tile again cost the arena
        ~3 % of the server's CPU at epic-300 (issue 13; the tests hold it equal to the
        checked constructor's result).

        Args:
            outcome: what :func:`tilemud.game.resolve_tick` returned for the tick.
            arena_id: the arena.
            sent_at: the server's clock now, Unix seconds.
            scores_before: every holder's score before the tick (the previous outcome's
                ``scores``), to list only those that changed.
        """
        changed = {
            player: score
            for player, score in outcome.scores.items()
            if scores_before.get(player) != score
        }
        # A player whose last tile was captured leaves the score map: say 0 for them.
        changed.update((p, 0) for p in scores_before if p not in outcome.scores)
        return unchecked(
            cls,
            seq=UNSTAMPED,
            sent_at=sent_at,
            arena_id=arena_id,
            tick=outcome.tick,
            placed=tuple((p.x, p.y, p.tile.owner, p.tile.kind) for p in outcome.placed),
            scores=_scores(changed),
            captured=tuple((c.x, c.y, c.previous) for c in outcome.captures),
        )


@attrs.frozen(kw_only=True)
class PlayerJoined:
    """Players took seats in the arena during the last tick (one frame for all of them).

    Sent at the end of the tick, before its ``tick`` frame. A joiner's own ``snapshot``
    already lists the players seated at that moment; this frame may name some of them
    again (adding a known player changes nothing). A player who joined and left within
    the same tick is not announced.

    Attributes:
        seq: this frame's number in the session's stream: one more than the previous
            frame's; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
        arena_id: the arena.
        players: ``[player_id, name]`` of each player who joined, in the order they did.
        npcs: the ids among ``players`` that are NPCs, in the same order (since protocol
            version 3).
    """

    TYPE: ClassVar[str] = "player_joined"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    arena_id: str = attrs.field(validator=ID)
    players: tuple[tuple[str, str], ...] = attrs.field(
        validator=Items(item=Fixed(ID, NAME), min_items=1, max_items=MAX_PLAYERS)
    )
    npcs: tuple[str, ...] = attrs.field(default=(), validator=Items(item=ID, max_items=MAX_PLAYERS))


@attrs.frozen(kw_only=True)
class PlayerLeft:
    """A player gave up their seat; the tiles they placed stay theirs.

    Attributes:
        seq: this frame's number in the session's stream: one more than the previous
            frame's; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
        arena_id: the arena.
        player_id: who left.
        reason: ``left`` (they sent ``leave``), ``timeout`` (their connection was gone
            for longer than the reconnect grace) or ``battle_over``; an NPC leaves with
            ``left`` when the arena's NPC capacity shrinks.
        npc: whether the player who left is an NPC (since protocol version 3).
    """

    TYPE: ClassVar[str] = "player_left"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    arena_id: str = attrs.field(validator=ID)
    player_id: str = attrs.field(validator=ID)
    reason: LeaveReason
    npc: bool = False


@attrs.frozen(kw_only=True)
class BattleEnded:
    """The battle is over: final scores and winners. No ``place`` is accepted after it.

    Attributes:
        seq: this frame's number in the session's stream: one more than the previous
            frame's; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
        arena_id: the arena.
        tick: the battle's last tick (the one at whose end it ended).
        reason: ``time`` (its last tick passed) or ``board_full``.
        scores: ``[player_id, score]`` for every tile holder, in player id order.
        winners: the players tied on the best positive score, sorted; empty when nobody
            scored.
    """

    TYPE: ClassVar[str] = "battle_ended"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    arena_id: str = attrs.field(validator=ID)
    tick: int = attrs.field(validator=TICK)
    reason: EndReason
    scores: tuple[tuple[str, int], ...] = attrs.field(validator=_SCORES)
    winners: tuple[str, ...] = attrs.field(validator=Items(item=ID, max_items=MAX_CELLS))

    @classmethod
    def from_result(cls, result: BattleResult, *, arena_id: str, sent_at: float) -> BattleEnded:
        """The unstamped frame announcing ``result``."""
        return cls(
            seq=UNSTAMPED,
            sent_at=sent_at,
            arena_id=arena_id,
            tick=result.tick,
            reason=result.reason,
            scores=_scores(result.scores),
            winners=result.winners,
        )


@attrs.frozen(kw_only=True)
class RoundEnded:
    """A round of the arena is over: its scores and winners; the board is now empty.

    Sent at the end of a round's last tick (since protocol version 2). Clear the board
    of the view built from the last ``snapshot`` and keep playing: the next round starts
    at once, in the same arena, with the same players; the next ``tick`` frames build the
    new round's board.

    Attributes:
        seq: this frame's number in the session's stream; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
        arena_id: the arena.
        round: the round that ended, from 1.
        replay_id: the id of the round's replay (``GET /v1/replays/{replay_id}``).
        first_tick: the round's first tick.
        tick: the round's last tick.
        next_round_tick: the first tick of the next round.
        scores: ``[player_id, score]`` for every tile holder at the end, in id order.
        winners: the players tied on the best positive score, sorted; empty when nobody
            held a tile.
    """

    TYPE: ClassVar[str] = "round_ended"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    arena_id: str = attrs.field(validator=ID)
    round: int = attrs.field(validator=TICK)
    replay_id: str = attrs.field(validator=ID)
    first_tick: int = attrs.field(validator=TICK)
    tick: int = attrs.field(validator=TICK)
    next_round_tick: int = attrs.field(validator=TICK)
    scores: tuple[tuple[str, int], ...] = attrs.field(validator=_SCORES)
    winners: tuple[str, ...] = attrs.field(validator=Items(item=ID, max_items=MAX_CELLS))

    @classmethod
    def from_result(
        cls, result: RoundResult, *, arena_id: str, replay_id: str, sent_at: float
    ) -> RoundEnded:
        """The unstamped frame announcing ``result``."""
        return cls(
            seq=UNSTAMPED,
            sent_at=sent_at,
            arena_id=arena_id,
            round=result.round,
            replay_id=replay_id,
            first_tick=result.first_tick,
            tick=result.last_tick,
            next_round_tick=result.last_tick + 1,
            scores=_scores(result.scores),
            winners=result.winners,
        )


@attrs.frozen(kw_only=True)
class StreamGap:
    """Frames before this one were lost for good; the stream goes on from here.

    Sent instead of a ``snapshot`` when the session is in no arena and its stream
    overflowed (a flood of chat while the client was away, or a resume from a position
    the server no longer holds). What the lost frames said is not repeated: ask
    ``chat_history`` again for the channels that matter. Direct messages are not lost
    this way: one not acknowledged comes again on the next session.

    Attributes:
        seq: this frame's number in the session's stream; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
    """

    TYPE: ClassVar[str] = "stream_gap"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)


#: Every stream frame (the high-volume tier), closed.
StreamMessage: TypeAlias = (
    ArenaSnapshot
    | ArenaTick
    | PlayerJoined
    | PlayerLeft
    | BattleEnded
    | RoundEnded
    | StreamGap
    # social: guilds (tilemud/protocol/_guilds.py)
    | GuildEvent
    # social: parties (tilemud/protocol/_parties.py)
    | PartyEvent
    # social: chat, direct messages and blocks (tilemud/protocol/_chat.py)
    | ChatStreamMessage
)

#: ``type`` tag -> class, for every member of :data:`StreamMessage`.
STREAM_MESSAGES: Mapping[str, type[StreamMessage]] = tag_registry(StreamMessage)
