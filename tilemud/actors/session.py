"""Session actor: one per player WebSocket connection.

Owns:
    the connection, its :class:`Outbox`, and who the player is for this session.
Started by:
    the gateway, in its handler nursery, once the handshake succeeded. Restart type:
    temporary: a session that ends is gone; the player reconnects (and, from issue 3 on,
    resumes its seat and stream).
Takes:
    the player's frames, read from the socket by the session's own reader task. The reader
    waits while the outbox is full, so a player who floods is backpressured at the socket.
    Other actors reach the session through :class:`SessionRef`: ``deliver`` (fan-out,
    never blocks, dropped and counted when full) and ``request_close``.
Sends:
    replies and fan-out frames to its player, in order, from one writer task.
Mailbox:
    the outbox, ``gateway.outbound_queue`` frames. Overflow: fan-out is dropped and counted,
    replies wait; an outbox full for more than ``gateway.slow_client_timeout`` seconds
    disconnects the client with close code 4008 (slow client).
"""

from __future__ import annotations

import logging
import time
from typing import assert_never

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from tilemud.actors._outbox import Outbox
from tilemud.config import GatewaySettings
from tilemud.errors import ProtocolError
from tilemud.protocol import (
    ClientMessage,
    CloseCode,
    ErrorCode,
    ErrorFrame,
    Hello,
    Ping,
    Pong,
    ServerMessage,
    binary_frame_error,
    close_code_for,
    decode_client,
    encode_server,
    error_reply,
)

log = logging.getLogger("tilemud.session")

#: Not a close code on the wire: marks a session whose client closed or vanished first.
CLIENT_LEFT = -1


@attrs.frozen(kw_only=True)
class SessionIdentity:
    """Who is on the other end of a session, as proven by the handshake."""

    player_id: str
    name: str
    session_id: str
    roles: tuple[str, ...] = ()


@attrs.frozen
class CloseRequest:
    """Why a session is being closed: the WebSocket close code and reason."""

    code: int
    reason: str


class SessionRef:
    """What other actors hold to reach a session."""

    def __init__(self, identity: SessionIdentity, outbox: Outbox) -> None:
        self.identity = identity
        self._outbox = outbox
        self._close_requested = trio.Event()
        self._close: CloseRequest | None = None

    def deliver(self, frame: str) -> bool:
        """Queue an encoded frame for the player; never blocks. False when it was dropped."""
        return self._outbox.offer(frame)

    def request_close(self, code: int, reason: str) -> None:
        """Ask the session to close its connection with ``code``; the first request wins."""
        if self._close is None:
            self._close = CloseRequest(code, reason)
            self._close_requested.set()

    @property
    def closing(self) -> CloseRequest | None:
        """The close under way, if any (the first one requested)."""
        return self._close

    @property
    def dropped(self) -> int:
        """Fan-out frames dropped because this player's outbox was full."""
        return self._outbox.dropped


class Session:
    """The session actor's state and tasks. Only its own tasks touch it."""

    def __init__(
        self,
        connection: WebSocketConnection,
        identity: SessionIdentity,
        settings: GatewaySettings,
    ) -> None:
        self._connection = connection
        self._settings = settings
        self._outbox = Outbox(settings.outbound_queue, settings.slow_client_timeout)
        self.ref = SessionRef(identity, self._outbox)
        self._log_extra = {"player_id": identity.player_id, "session_id": identity.session_id}

    async def run(self) -> CloseRequest | None:
        """Serve the player until the connection ends or a close is requested.

        Returns:
            The close that ended the session, or None when the client went away first.
        """
        ref = self.ref
        writer_done = trio.Event()

        async def write() -> None:
            try:
                await self._write_frames()
            finally:
                writer_done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            async with trio.open_nursery() as inbound:
                inbound.start_soon(self._close_when_stalled)
                inbound.start_soon(self._read_until_client_leaves)
                await ref._close_requested.wait()
                inbound.cancel_scope.cancel()
            # The writer may be in the middle of a frame: cancelling it there would leave
            # half a frame on the wire before the close frame. Closing the outbox lets it
            # finish that frame and stop; only a writer stuck past the timeout is cancelled.
            self._outbox.close()
            close = ref._close
            if close is None or close.code == CLIENT_LEFT:
                nursery.cancel_scope.cancel()
                return None
            with trio.move_on_after(self._settings.close_timeout):
                await writer_done.wait()
            if not writer_done.is_set():
                nursery.cancel_scope.cancel()
                await abort_connection(self._connection)
                return close
        await close_connection(self._connection, close, self._settings.close_timeout)
        return close

    async def _close_when_stalled(self) -> None:
        await self._outbox.wait_stalled()
        log.warning("slow client: outbox full too long", extra=self._log_extra)
        self.ref.request_close(CloseCode.SLOW_CLIENT, "slow client")

    async def _read_until_client_leaves(self) -> None:
        await self._read_player_frames()
        self.ref.request_close(CLIENT_LEFT, "client left")

    async def _read_player_frames(self) -> None:
        while True:
            try:
                frame = await self._connection.get_message()
            except ConnectionClosed:
                return
            reply = self._answer(frame)
            if reply is None:
                continue
            await self._outbox.put(encode_server(reply))
            if isinstance(reply, ErrorFrame):
                close = close_code_for(reply.code, before_welcome=False)
                if close is not None:
                    self.ref.request_close(close, reply.code)
                    return

    def _answer(self, frame: str | bytes) -> ServerMessage | None:
        try:
            if isinstance(frame, bytes):
                raise binary_frame_error()
            message = decode_client(frame)
        except ProtocolError as exc:
            return error_reply(exc, rid=exc.rid)
        return self._dispatch(message)

    def _dispatch(self, message: ClientMessage) -> ServerMessage | None:
        match message:
            case Ping(rid=rid):
                return Pong(rid=rid, server_time=time.time())
            case Hello():
                return ErrorFrame(
                    code=ErrorCode.DUPLICATE_HELLO,
                    message="hello is only valid as the first frame of a connection",
                )
            case _:
                assert_never(message)

    async def _write_frames(self) -> None:
        while True:
            try:
                frame = await self._outbox.take()
            except (trio.ClosedResourceError, trio.EndOfChannel):
                return  # the session is closing
            try:
                await self._connection.send_message(frame)
            except ConnectionClosed:
                self.ref.request_close(CLIENT_LEFT, "client left")
                return


async def close_connection(
    connection: WebSocketConnection, close: CloseRequest, grace: float
) -> None:
    """Close with ``close.code``, waiting at most ``grace`` seconds for the client's handshake.

    A client that stopped reading cannot take the close frame; after ``grace`` the TCP
    connection is dropped instead (the client then sees 1006).
    """
    with trio.move_on_after(grace, shield=True):
        await connection.aclose(close.code, close.reason)


async def abort_connection(connection: WebSocketConnection) -> None:
    """Drop the TCP connection without a close frame (the stream may hold half a frame).

    trio-websocket has no public abort; an ``aclose`` cancelled before it can send anything
    still closes the underlying stream in its ``finally``.
    """
    with trio.CancelScope(shield=True) as scope:
        scope.cancel()
        await connection.aclose()
