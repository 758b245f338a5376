"""The player gateway: trio-websocket on its own port, one session actor per connection.

Owns:
    the listening sockets, the handler nursery in which every connection's task runs, and
    the table of live sessions.
Started by:
    the root supervisor, as child ``gateway`` (permanent, graceful shutdown). ``started``
    reports the bound port, so port 0 works in tests.
Shutdown:
    when its supervisor begins a graceful stop, the gateway stops accepting, stops reading
    players' frames and waits (``gateway.drain_timeout``) until every critical request it
    read is answered and written (tilemud/net/drain.py), closes every session with 1001
    (going away) in parallel, waiting at most ``gateway.close_timeout``
    for the clients' close handshakes, then cancels what is left.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import trio
from trio_websocket import (
    ConnectionClosed,
    WebSocketConnection,
    WebSocketRequest,
    WebSocketServer,
    wrap_server_stream,
)

from tilemud.actors.connection import CloseRequest, Connection, close_connection
from tilemud.actors.session import SessionServices
from tilemud.actors.session_table import SessionTable
from tilemud.auth import TokenAuthority
from tilemud.config import GatewaySettings, ServerSettings
from tilemud.metrics import ConnectionMeter, GatewayLoad
from tilemud.net.containment import serve_contained
from tilemud.net.drain import drain_connections
from tilemud.net.handshake import HandshakeRefused, receive_hello
from tilemud.protocol import CloseCode, ErrorFrame, Welcome, encode_server
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.gateway")

#: Bytes read from a socket at a time. Frames are small; this keeps per-read work small too.
_RECEIVE_BYTES = 16 * 1024


class Gateway:
    """The WebSocket front door for players.

    Its connections feed ``meter``; :meth:`load` is what the metrics read of it at scrape
    time.
    """

    def __init__(
        self,
        server: ServerSettings,
        settings: GatewaySettings,
        tokens: TokenAuthority,
        services: SessionServices,
        meter: ConnectionMeter,
    ) -> None:
        self._server = server
        self._settings = settings
        self._tokens = tokens
        self._services = services
        self._meter = meter
        # Frames written by connections that have ended (live ones keep their own count).
        self._frames_sent_before = 0
        self._table: SessionTable | None = None
        self._live: set[Connection] = set()
        # Accepted connections that have not become sessions yet (in their handshake).
        self._greeting: set[WebSocketConnection] = set()
        self._connections = 0
        self._all_closed: trio.Event | None = None
        self._handlers: trio.Nursery | None = None
        #: The bound port while the gateway is accepting players, else None.
        self.port: int | None = None

    @property
    def live_connections(self) -> list[Connection]:
        """Connections serving a session right now."""
        return list(self._live)

    @property
    def sessions(self) -> SessionTable:
        """Every session of this node, connected or waiting out its reconnect grace."""
        if self._table is None:
            raise RuntimeError("the gateway is not running")
        return self._table

    def is_online(self, player_id: str) -> bool:
        """Whether ``player_id`` has a session here (:class:`~tilemud.actors.presence.Presence`)."""
        return self._table is not None and self._table.session_of(player_id) is not None

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame to the player's session, if they have one here."""
        session = None if self._table is None else self._table.session_of(player_id)
        if session is None:
            return False
        session.publish(body)
        return True

    @property
    def connections(self) -> int:
        """Open WebSocket connections, including those still in their handshake."""
        return self._connections

    def load(self) -> GatewayLoad:
        """The figures the metrics read at scrape time: one pass over the live connections.

        Synchronous and read-only; it runs in the scraping task, between two of the
        connections' own steps, so every figure comes from the same instant.
        """
        sent = self._frames_sent_before
        outbox = stream = deepest_outbox = deepest_stream = 0
        for connection in self._live:
            sent += connection.frames_sent
            waiting = connection.outbox_depth
            unsent = connection.session.stream.unsent
            outbox += waiting
            stream += unsent
            deepest_outbox = max(deepest_outbox, waiting)
            deepest_stream = max(deepest_stream, unsent)
        return GatewayLoad(
            connections=self._connections,
            players_connected=len(self._live),
            sessions=0 if self._table is None else len(self._table),
            frames_sent=sent,
            outbox_frames=outbox,
            stream_frames=stream,
            deepest_outbox=deepest_outbox,
            deepest_stream=deepest_stream,
        )

    async def run(self, ctx: ChildContext) -> None:
        """Serve players until cancelled or gracefully stopped (the child's entry point)."""
        async with trio.open_nursery() as handlers:
            self._handlers = handlers
            self._table = SessionTable(self._settings, self._services, timers=handlers)
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
            # Answer what was read, then close: a request without an answer was not applied.
            await drain_connections(list(self._live), within=self._settings.drain_timeout)
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

    def accept_stream(self, stream: trio.abc.Stream) -> None:
        """Serve a connection that arrives on ``stream`` instead of the TCP listener.

        Everything from the WebSocket upgrade on is the same code as for TCP. Tests use it
        with ``trio.testing.memory_stream_pair`` so that reconnect graces and tick clocks
        run under the autojump clock, which real sockets do not allow.
        """
        if self._handlers is None or self.port is None:
            raise RuntimeError("the gateway is not running")
        self._handlers.start_soon(self._upgrade_stream, stream)

    async def _upgrade_stream(self, stream: trio.abc.Stream) -> None:
        assert self._handlers is not None
        request: WebSocketRequest | None = None
        with trio.move_on_after(self._settings.hello_timeout):
            request = await wrap_server_stream(
                self._handlers, stream, max_message_size=self._settings.max_frame_bytes
            )
        if request is None:
            await stream.aclose()  # no upgrade request in time
            return
        await self._serve_connection(request)

    async def _serve_connection(self, request: WebSocketRequest) -> None:
        if request.path != self._settings.path:
            await request.reject(404, body=b"unknown path; players connect to /v1/ws\n")
            return
        opened_at = trio.current_time()
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
            extra: dict[str, Any] = {}
            await serve_contained(
                connection,
                lambda: self._greet_and_serve(connection, opened_at, extra),
                close_timeout=self._settings.close_timeout,
                log_extra=extra,
            )
        finally:
            self._connections -= 1

    async def _greet_and_serve(
        self, websocket: WebSocketConnection, opened_at: float, extra: dict[str, Any]
    ) -> None:
        self._greeting.add(websocket)
        try:
            greeting = await receive_hello(websocket, self._settings, self._tokens)
        except HandshakeRefused as refused:
            await self._refuse(websocket, refused)
            return
        except ConnectionClosed:
            return  # the client left before its hello: nothing to clean up
        finally:
            self._greeting.discard(websocket)
        table = self.sessions
        session, resumed = await table.claim(greeting.identity)
        identity = session.identity
        connection = Connection(
            websocket, session, self._settings, meter=self._meter, opened_at=opened_at
        )
        welcome = Welcome(
            v=greeting.version,
            player_id=identity.player_id,
            session_id=identity.session_id,
            resume_token=self._tokens.mint_resume(
                player_id=identity.player_id, session_id=identity.session_id
            ),
            resumed=resumed,
            server_time=time.time(),
            max_frame_bytes=self._settings.max_frame_bytes,
            resume_grace=self._settings.reconnect_grace,
        )
        extra.update(player_id=identity.player_id, session_id=identity.session_id)
        log.info("connection opened", extra={**extra, "resumed": resumed})
        table.attached(connection)
        self._live.add(connection)
        try:
            close = await connection.run(encode_server(welcome), greeting.last_seq)
        finally:
            self._live.discard(connection)
            self._frames_sent_before += connection.frames_sent
            table.released(connection)
            if not self._live and self._all_closed is not None:
                self._all_closed.set()
        log.info(
            "connection closed",
            extra={
                **extra,
                "close_code": None if close is None else close.code,
                "dropped": connection.dropped,
            },
        )

    async def _refuse(self, connection: WebSocketConnection, refused: HandshakeRefused) -> None:
        log.info(
            "handshake refused", extra={"code": refused.code, "close_code": int(refused.close_code)}
        )
        frame = encode_server(
            ErrorFrame(code=refused.code, message=refused.message, rid=refused.rid)
        )
        with (
            trio.move_on_after(self._settings.close_timeout),
            contextlib.suppress(ConnectionClosed),
        ):
            await connection.send_message(frame)
            self._frames_sent_before += 1
        await close_connection(
            connection, CloseRequest(refused.close_code, refused.code), self._settings.close_timeout
        )

    async def _close_all(self, code: int, reason: str) -> None:
        """Close every connection with ``code``, each within ``close_timeout``."""
        log.info(
            "closing all connections",
            extra={"sessions": len(self._live), "greeting": len(self._greeting)},
        )
        self._all_closed = trio.Event()
        if not self._live:
            self._all_closed.set()
        for connection in list(self._live):
            connection.request_close(code, reason)  # each closes itself, bounded
        close = CloseRequest(code, reason)
        with trio.move_on_after(self._settings.close_timeout + 1.0):
            async with trio.open_nursery() as closing:
                for websocket in list(self._greeting):
                    closing.start_soon(
                        close_connection, websocket, close, self._settings.close_timeout
                    )
                await self._all_closed.wait()
