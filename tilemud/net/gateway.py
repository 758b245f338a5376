"""The player gateway: trio-websocket on its own port, one session actor per connection.

Owns:
    the listening sockets, the handler nursery in which every connection's task runs, and
    the table of live sessions.
Started by:
    the root supervisor, as child ``gateway`` (permanent, graceful shutdown). ``started``
    reports the bound port, so port 0 works in tests.
Shutdown:
    when its supervisor begins a graceful stop, the gateway stops accepting, closes every
    session with 1001 (going away) in parallel, waiting at most ``gateway.close_timeout``
    for the clients' close handshakes, then cancels what is left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import trio
from trio_websocket import WebSocketConnection, WebSocketRequest, WebSocketServer

from tilemud.actors.session import CloseRequest, Session, SessionRef, close_connection
from tilemud.auth import TokenAuthority
from tilemud.config import GatewaySettings, ServerSettings
from tilemud.net.handshake import HandshakeRefused, receive_hello
from tilemud.protocol import CloseCode, ErrorFrame, Welcome, encode_server
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.gateway")

#: Bytes read from a socket at a time. Frames are small; this keeps per-read work small too.
_RECEIVE_BYTES = 16 * 1024


class Gateway:
    """The WebSocket front door for players."""

    def __init__(
        self,
        server: ServerSettings,
        settings: GatewaySettings,
        tokens: TokenAuthority,
    ) -> None:
        self._server = server
        self._settings = settings
        self._tokens = tokens
        self._sessions: dict[str, SessionRef] = {}
        # Accepted connections that have not become sessions yet (in their handshake).
        self._greeting: set[WebSocketConnection] = set()
        self._connections = 0
        self._sessions_gone: trio.Event | None = None
        #: The bound port while the gateway is accepting players, else None.
        self.port: int | None = None

    @property
    def sessions(self) -> Mapping[str, SessionRef]:
        """Live sessions by session id (read-only view)."""
        return self._sessions

    @property
    def connections(self) -> int:
        """Open WebSocket connections, including those still in their handshake."""
        return self._connections

    async def run(self, ctx: ChildContext) -> None:
        """Serve players until cancelled or gracefully stopped (the child's entry point)."""
        async with trio.open_nursery() as handlers:
            async with trio.open_nursery() as listening:
                server = await listening.start(self._listen, handlers)
                self.port = server.port
                log.info(
                    "player gateway listening",
                    extra={"url": f"ws://{self._server.host}:{self.port}{self._settings.path}"},
                )
                ctx.started(self.port)
                try:
                    await ctx.stopping.wait()
                finally:
                    self.port = None
                listening.cancel_scope.cancel()
            await self._close_all(CloseCode.GOING_AWAY, "server shutting down")
            handlers.cancel_scope.cancel()

    async def _listen(
        self,
        handlers: trio.Nursery,
        *,
        task_status: trio.TaskStatus[WebSocketServer] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        listeners = await trio.open_tcp_listeners(self._server.ws_port, host=self._server.host)
        server = WebSocketServer(
            self._serve_connection,
            listeners,
            handler_nursery=handlers,
            # trio-websocket closes with 1009 by itself when a message is larger.
            max_message_size=self._settings.max_frame_bytes,
            receive_buffer_size=_RECEIVE_BYTES,
            connect_timeout=self._settings.hello_timeout,
            disconnect_timeout=self._settings.close_timeout,
        )
        await server.run(task_status=task_status)

    async def _serve_connection(self, request: WebSocketRequest) -> None:
        if request.path != self._settings.path:
            await request.reject(404, body=b"unknown path; players connect to /v1/ws\n")
            return
        connection = await request.accept()
        self._connections += 1
        try:
            if self._connections > self._settings.max_connections:
                await close_connection(
                    connection,
                    CloseRequest(CloseCode.TRY_AGAIN_LATER, "server full"),
                    self._settings.close_timeout,
                )
                return
            await self._greet_and_serve(connection)
        finally:
            self._connections -= 1

    async def _greet_and_serve(self, connection: WebSocketConnection) -> None:
        self._greeting.add(connection)
        try:
            greeting = await receive_hello(connection, self._settings, self._tokens)
        except HandshakeRefused as refused:
            await self._refuse(connection, refused)
            return
        finally:
            self._greeting.discard(connection)
        session = Session(connection, greeting.identity, self._settings)
        identity = greeting.identity
        welcome = Welcome(
            v=greeting.version,
            player_id=identity.player_id,
            session_id=identity.session_id,
            resume_token=self._tokens.mint_resume(
                player_id=identity.player_id, session_id=identity.session_id
            ),
            resumed=False,
            server_time=time.time(),
            max_frame_bytes=self._settings.max_frame_bytes,
            resume_grace=self._settings.reconnect_grace,
        )
        # The welcome is queued like any reply, so it is the first frame the writer sends.
        session.ref.deliver(encode_server(welcome))
        self._sessions[identity.session_id] = session.ref
        extra = {"player_id": identity.player_id, "session_id": identity.session_id}
        log.info("session opened", extra=extra)
        try:
            close = await session.run()
        finally:
            del self._sessions[identity.session_id]
            if not self._sessions and self._sessions_gone is not None:
                self._sessions_gone.set()
        log.info(
            "session closed",
            extra={
                **extra,
                "close_code": None if close is None else close.code,
                "dropped": session.ref.dropped,
            },
        )

    async def _refuse(self, connection: WebSocketConnection, refused: HandshakeRefused) -> None:
        log.info(
            "handshake refused", extra={"code": refused.code, "close_code": int(refused.close_code)}
        )
        frame = encode_server(
            ErrorFrame(code=refused.code, message=refused.message, rid=refused.rid)
        )
        with trio.move_on_after(self._settings.close_timeout):
            await connection.send_message(frame)
        await close_connection(
            connection, CloseRequest(refused.close_code, refused.code), self._settings.close_timeout
        )

    async def _close_all(self, code: int, reason: str) -> None:
        """Close every connection with ``code``, each within ``close_timeout``."""
        log.info(
            "closing all connections",
            extra={"sessions": len(self._sessions), "greeting": len(self._greeting)},
        )
        self._sessions_gone = trio.Event()
        if not self._sessions:
            self._sessions_gone.set()
        for ref in list(self._sessions.values()):
            ref.request_close(code, reason)  # each session closes itself, bounded
        close = CloseRequest(code, reason)
        with trio.move_on_after(self._settings.close_timeout + 1.0):
            async with trio.open_nursery() as closing:
                for connection in list(self._greeting):
                    closing.start_soon(
                        close_connection, connection, close, self._settings.close_timeout
                    )
                await self._sessions_gone.wait()
