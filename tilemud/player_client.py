"""A player client speaking the current protocol version: what tests, bots and the load
tester drive.

It keeps what a real client keeps: the numbered stream (checking it for gaps and
duplicates, acknowledging it), and a view of its arena's board built only from the frames
it received, so a test can compare that view with the server's board.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import trio

from tilemud.errors import TilemudError
from tilemud.game import Board
from tilemud.protocol import (
    PROTOCOL_VERSION,
    STREAM_MESSAGES,
    Ack,
    ArenaSnapshot,
    ArenaTick,
    BattleEnded,
    ClientMessage,
    ErrorFrame,
    Hello,
    PlayerJoined,
    PlayerLeft,
    RoundEnded,
    ServerMessage,
    StreamGap,
    StreamMessage,
    Welcome,
    decode_server,
    encode_client,
)


class MessageSocket(Protocol):
    """What the client needs of a WebSocket: trio-websocket's connection, or the load
    tester's own (:class:`tilemud.loadtest._client_wire.ClientWebSocket`)."""

    async def send_message(self, message: str | bytes) -> None:
        """Send one message."""
        ...

    async def get_message(self) -> str | bytes:
        """The next message."""
        ...


class HandshakeFailed(TilemudError):
    """The server answered the hello with an error frame."""

    def __init__(self, error: ErrorFrame) -> None:
        super().__init__(f"{error.code}: {error.message}", code=error.code)
        self.error = error


@attrs.define
class StreamCheck:
    """What a client saw of its numbered stream."""

    #: The highest seq received (0: none yet).
    last_seq: int = 0
    frames: int = 0
    #: Frames whose seq was not last_seq + 1 and that were not a snapshot.
    gaps: int = 0
    #: Frames whose seq had been seen already.
    duplicates: int = 0
    #: Seqs missing before a snapshot (the server replaced them with the snapshot).
    skipped_before_snapshot: int = 0

    def see(self, seq: int, *, snapshot: bool) -> None:
        """Record one stream frame."""
        self.frames += 1
        if seq <= self.last_seq:
            self.duplicates += 1
            return
        if seq != self.last_seq + 1:
            if snapshot:
                self.skipped_before_snapshot += seq - self.last_seq - 1
            else:
                self.gaps += 1
        self.last_seq = seq


@attrs.define
class ArenaView:
    """One arena as a client knows it, built only from the frames it received."""

    arena_id: str | None = None
    tick: int = 0
    width: int = 0
    height: int = 0
    tiles: dict[tuple[int, int], tuple[str, str]] = attrs.field(factory=dict)
    scores: dict[str, int] = attrs.field(factory=dict)
    players: dict[str, str] = attrs.field(factory=dict)
    #: Ids the server marked as NPCs (protocol version 3), seated or holding tiles.
    npcs: set[str] = attrs.field(factory=set)
    ended: BattleEnded | None = None
    #: The rounds that ended while this view followed the arena, in order.
    rounds: list[RoundEnded] = attrs.field(factory=list)

    def apply(self, frame: StreamMessage) -> None:
        """Update the view with one stream frame (frames of other kinds are not its)."""
        if not isinstance(frame, ARENA_FRAMES):
            return
        if isinstance(frame, ArenaSnapshot):
            board = frame.board.to_board()
            self.arena_id, self.tick = frame.arena_id, frame.tick
            self.width, self.height = board.width, board.height
            self.tiles = {(t.x, t.y): (t.tile.owner, t.tile.kind) for t in board.tiles()}
            self.scores = dict(frame.scores)
            self.players = dict(frame.players)
            self.npcs = set(frame.npcs)
            self.ended = None
        elif not isinstance(frame, _ARENA_FRAMES) or frame.arena_id != self.arena_id:
            return  # not an arena frame, or one of an arena this view does not follow
        elif isinstance(frame, ArenaTick):
            self.tick = frame.tick
            for x, y, owner, kind in frame.placed:
                self.tiles[(x, y)] = (owner, kind)
            # A score of 0 is a player who lost their last tile: no longer a holder.
            for player, score in frame.scores:
                if score or any(o == player for o, _ in self.tiles.values()):
                    self.scores[player] = score
                else:
                    self.scores.pop(player, None)
        elif isinstance(frame, RoundEnded):
            self.tick = frame.tick
            self.rounds.append(frame)
            self.tiles.clear()
            self.scores.clear()
        elif isinstance(frame, PlayerJoined):
            self.players.update(frame.players)
            self.npcs.update(frame.npcs)
        elif isinstance(frame, PlayerLeft):
            self.players.pop(frame.player_id, None)
            if frame.npc:
                self.npcs.add(frame.player_id)  # its tiles and score stay an NPC's
        elif isinstance(frame, BattleEnded):
            self.ended = frame

    def matches(self, board: Board) -> bool:
        """Whether this view holds exactly the tiles of ``board``."""
        return self.tiles == {(t.x, t.y): (t.tile.owner, t.tile.kind) for t in board.tiles()}


#: The stream frames an arena sends (what :class:`ArenaView` follows).
ARENA_FRAMES = (ArenaSnapshot, ArenaTick, PlayerJoined, PlayerLeft, BattleEnded, RoundEnded)
#: Every stream frame: numbered, acknowledged, checked for gaps and duplicates.
STREAM_TYPES = tuple(STREAM_MESSAGES.values())
_ARENA_FRAMES = (ArenaTick, PlayerJoined, PlayerLeft, BattleEnded, RoundEnded)


class PlayerClient:
    """One player's connection: send requests, receive and check everything that comes back.

    Args:
        websocket: an open WebSocket to the gateway.
        auto_ack: acknowledge the stream cumulatively, once ``ack_every`` frames arrived
            since the last acknowledgement (acks are cumulative: one covers them all).
        ack_every: frames between two automatic acks.
        on_frame: called with every decoded frame as it arrives (the load tester times
            them).
    """

    def __init__(
        self,
        websocket: MessageSocket,
        *,
        auto_ack: bool = True,
        ack_every: int = 32,
        on_frame: Callable[[ServerMessage], None] | None = None,
    ) -> None:
        self.websocket = websocket
        self.auto_ack = auto_ack
        self.ack_every = ack_every
        #: The highest seq acknowledged to the server.
        self.acked = 0
        self.stream = StreamCheck()
        self.view = ArenaView()
        self.welcome: Welcome | None = None
        #: Answers (replies and errors) that carried a rid, by rid, as received.
        self.answers: dict[str, list[ServerMessage]] = {}
        self._on_frame = on_frame
        # Request ids must stay unique across the player's reconnects (the server answers
        # a repeated rid with its first answer), so each client draws its own prefix.
        prefix = secrets.token_hex(4)
        self._rids = (f"{prefix}-{n}" for n in itertools.count(1))
        self._answered = trio.Event()

    def next_rid(self) -> str:
        """A fresh request id."""
        return next(self._rids)

    async def hello(
        self, token: str, *, resume_token: str | None = None, last_seq: int | None = None
    ) -> Welcome:
        """Send the hello and wait for the welcome.

        Raises:
            HandshakeFailed: the server refused the hello.
        """
        await self.send(
            Hello(v=PROTOCOL_VERSION, token=token, resume_token=resume_token, last_seq=last_seq)
        )
        reply = await self._receive_one()
        if isinstance(reply, ErrorFrame):
            raise HandshakeFailed(reply)
        if not isinstance(reply, Welcome):
            raise AssertionError(f"expected a welcome, got {reply!r}")
        self.welcome = reply
        return reply

    async def send(self, message: ClientMessage) -> None:
        """Send one message."""
        await self.websocket.send_message(encode_client(message))

    async def request(self, message: Any) -> ServerMessage:
        """Send a message that has a ``rid`` and receive frames until its answer comes."""
        rid: str = message.rid
        await self.send(message)
        while rid not in self.answers:
            await self.receive()
        return self.answers[rid][-1]

    async def receive(self) -> ServerMessage:
        """Receive one frame, record it, and acknowledge stream frames when asked to."""
        frame = await self._receive_one()
        if isinstance(frame, STREAM_TYPES):
            self.stream.see(frame.seq, snapshot=isinstance(frame, ArenaSnapshot | StreamGap))
            self.view.apply(frame)
            if self.auto_ack and self.stream.last_seq - self.acked >= self.ack_every:
                await self.ack()
        else:
            rid = getattr(frame, "rid", None)
            if rid is not None:
                self.answers.setdefault(rid, []).append(frame)
        return frame

    async def ack(self) -> None:
        """Acknowledge everything received so far."""
        if self.stream.last_seq > self.acked:
            await self.send(Ack(seq=self.stream.last_seq))
            self.acked = self.stream.last_seq

    async def receive_until(self, done: Callable[[PlayerClient], bool]) -> None:
        """Receive frames until ``done(self)`` holds (checked before each frame)."""
        while not done(self):
            await self.receive()

    async def _receive_one(self) -> ServerMessage:
        frame = decode_server(await self.websocket.get_message())
        if self._on_frame is not None:
            self._on_frame(frame)
        return frame
