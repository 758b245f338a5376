"""The player gateway: WebSockets on their own port, one session actor per connection.

Owns:
    the listening sockets, the handler nursery in which every connection's task runs, the
    table of live sessions, and the count of open sockets.
Started by:
    the root supervisor, as child ``gateway`` (permanent, graceful shutdown). ``started``
    reports the bound port, so port 0 works in tests.
Connections:
    a socket counts (``connections``, ``tilemud_connections_open``, ``max_connections``)
    from its accept until it is closed, in every state: TLS handshake, HTTP upgrade,
    ``hello``, session, closing. Each state is bounded: the TLS handshake, the upgrade and
    the ``hello`` share ``gateway.hello_timeout`` from the accept; a close ends within
    ``gateway.close_timeout`` of its start. The upgrade is refused with an HTTP error in
    the API's shape for a wrong path (404), a foreign ``Origin`` (403) or an address over
    its connection-attempt limit (429 with ``Retry-After``). Over ``max_connections`` a
    connection gets ``server_full`` and close 1013; more than ``_REFUSING_AT_ONCE`` sockets
    beyond the limit are closed at once, unread, so that refusing stays cheap.
Shutdown:
    when its supervisor begins a graceful stop, the gateway stops accepting, stops reading
    players' frames and waits (``gateway.drain_timeout``) until every critical request it
    read is answered and written (tilemud/net/drain.py), then closes every
    session and every connection still in its ``hello`` with 1001 (``shutting_down``) in
    parallel, each within ``gateway.close_timeout``, then cancels what is left.

Why one module of over 400 lines: a socket's whole life (its count, the upgrade, the
greeting, the session, the containment of a bug, the refusals and the close of all on
shutdown) runs in one task of the gateway's nursery and shares the gateway's counters and
tables; it is written as few coroutines as possible, since each one is held by every idle
player for the connection's life (memory per player, issue 13).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Collection
from typing import Any, Protocol

import trio

from tilemud.actors.session import (
    CloseRequest,
    Connection,
    PresenceRegistry,
    SessionIdentity,
    SessionKeeper,
    SessionServices,
)
from tilemud.auth import TokenAuthority
from tilemud.config import GatewaySettings, ServerSettings
from tilemud.errors import TilemudError
from tilemud.metrics import ConnectionMeter, GatewayLoad
from tilemud.net.accept import accept_connections
from tilemud.net.containment import close_after_bug
from tilemud.net.doorway import Doorway
from tilemud.net.drain import drain_connections
from tilemud.net.handshake import Greeting, HandshakeRefused, check_admission, receive_hello
from tilemud.net.tls import server_tls_context
from tilemud.protocol import CloseCode, ErrorCode, ErrorFrame, Welcome, encode_server
from tilemud.supervisors import ChildContext
from tilemud.wire import ConnectionClosed, ReadHub, WebSocket

log = logging.getLogger("tilemud.gateway")

#: Seconds between two looks for slow clients (at most; a quarter of the timeout if less).
SLOW_CLIENT_SWEEP = 0.25

#: Sockets beyond ``max_connections`` that are still told ``server_full`` at once; any
#: more are closed without a word, so that a flood of refusals holds few descriptors.
_REFUSING_AT_ONCE = 64


class Watched(Protocol):
    """What :func:`close_slow_clients` needs of a connection."""

    @property
    def backlog_full(self) -> bool:
        """Whether a backlog of the connection is full now."""
        ...

    def close_if_stalled(self, now: float) -> bool:
        """Close as a slow client if a backlog stayed full too long."""
        ...


async def close_slow_clients(live: Collection[Watched], slow_after: float) -> None:
    """Close (4008) every connection of ``live`` whose backlog stayed full ``slow_after`` s.

    One task for all connections, a few times per ``slow_after``: two waiting tasks per
    connection cost more memory per player than the whole check costs CPU. Each sweep
    looks only at the suspects: the connections whose backlog was full at the last survey
    of all of them, every half ``slow_after``. A backlog that stalls at ``t`` was full without a
    break since ``t - slow_after``, and surveys are at most half ``slow_after`` and a sweep apart,
    so one in that span made it a suspect: it is closed at the same sweep as if every
    connection were looked at every time, which cost ~1,200 looks a second at 300 players
    to find none (issue 13).
    """
    interval = min(SLOW_CLIENT_SWEEP, slow_after / 4)
    suspects: list[Watched] = []
    next_survey = trio.current_time()
    while True:
        await trio.sleep(interval)
        now = trio.current_time()
        if now >= next_survey:
            next_survey = now + slow_after / 2
            suspects = [connection for connection in live if connection.backlog_full]
        for connection in suspects:
            if connection in live:
                connection.close_if_stalled(now)


class Gateway:
    """The WebSocket front door for players.

    Its connections feed ``meter``; :meth:`load` is what the metrics read of it at scrape
    time. Its session keeper keeps ``presence`` (the node's one, shared with every room
    that reaches players).
    """

    def __init__(
        self,
        server: ServerSettings,
        settings: GatewaySettings,
        tokens: TokenAuthority,
        services: SessionServices,
        meter: ConnectionMeter,
        *,
        presence: PresenceRegistry,
    ) -> None:
        self._server = server
        self._settings = settings
        self._tokens = tokens
        self._services = services
        self._meter = meter
        self._presence = presence
        self._doorway = Doorway(settings)
        # Frames written by connections that have ended (live ones keep their own count).
        self._frames_sent_before = 0
        self._table: SessionKeeper | None = None
        self._live: set[Connection] = set()
        # Connections waiting for their hello: cancelled (and closed 1001) on shutdown.
        self._greeting: set[trio.CancelScope] = set()
        self._stopping = False
        self._connections = 0
        self._all_closed: trio.Event | None = None
        self._handlers: trio.Nursery | None = None
        # The read hub (tilemud.wire.ReadHub), when gateway.read_hub_pause is not negative.
        self._hub: ReadHub | None = None
        self._tls: ssl.SSLContext | None = None
        #: The bound port while the gateway is accepting players, else None.
        self.port: int | None = None

    @property
    def live_connections(self) -> list[Connection]:
        """Connections serving a session right now."""
        return list(self._live)

    @property
    def sessions(self) -> SessionKeeper:
        """Every session of this node, connected or waiting out its reconnect grace."""
        if self._table is None:
            raise RuntimeError("the gateway is not running")
        return self._table

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

    @property
    def hub(self) -> ReadHub | None:
        """The read hub, while the gateway runs with one."""
        return self._hub

    async def run(self, ctx: ChildContext) -> None:
        """Serve players until cancelled or gracefully stopped (the child's entry point)."""
        self._tls = server_tls_context(self._server)
        async with trio.open_nursery() as handlers:
            self._handlers = handlers
            self._table = SessionKeeper(
                self._settings, self._services, self._presence, timers=handlers
            )
            handlers.start_soon(self._close_slow_clients)
            if self._settings.read_hub_pause >= 0:
                self._hub = ReadHub(pause=self._settings.read_hub_pause)
                handlers.start_soon(self._hub.run)
            listeners = await trio.open_tcp_listeners(self._server.ws_port, host=self._server.host)
            async with trio.open_nursery() as listening:
                for listener in listeners:
                    listening.start_soon(accept_connections, listener, self._accepted)
                self.port = listeners[0].socket.getsockname()[1]
                scheme = "ws" if self._tls is None else "wss"
                log.info(
                    "player gateway listening",
                    extra={
                        "url": f"{scheme}://{self._server.host}:{self.port}{self._settings.path}"
                    },
                )
                ctx.started(self.port)
                try:
                    await ctx.stopping.wait()
                finally:
                    self.port = None
                listening.cancel_scope.cancel()
            # Answer what was read, then close: a request without an answer was not applied.
            await drain_connections(list(self._live), within=self._settings.drain_timeout)
            await self._close_all()
            handlers.cancel_scope.cancel()

    async def _close_slow_clients(self) -> None:
        """Close (4008) every connection whose backlog stayed full too long."""
        await close_slow_clients(self._live, self._settings.slow_client_timeout)

    def _accepted(self, stream: trio.SocketStream) -> None:
        """A socket was accepted: count it at once and serve it in its own task."""
        assert self._handlers is not None
        try:
            address: str | None = str(stream.socket.getpeername()[0])
        except OSError:
            address = None  # already reset by the client
        if self._settings.send_buffer_bytes:
            with contextlib.suppress(OSError):  # a socket already reset is served and ends
                stream.setsockopt(
                    socket.SOL_SOCKET, socket.SO_SNDBUF, self._settings.send_buffer_bytes
                )
        self._connections += 1
        self._handlers.start_soon(self._serve_socket, stream, address)

    def accept_stream(self, stream: trio.abc.Stream) -> None:
        """Serve a connection that arrives on ``stream`` instead of the TCP listener.

        Everything from the WebSocket upgrade on is the same code as for TCP. Tests use it
        with ``trio.testing.memory_stream_pair`` so that reconnect graces and tick clocks
        run under the autojump clock, which real sockets do not allow.
        """
        if self._handlers is None or self.port is None:
            raise RuntimeError("the gateway is not running")
        self._connections += 1
        self._handlers.start_soon(self._serve_socket, stream, None)

    async def _serve_socket(self, stream: trio.abc.Stream, address: str | None) -> None:
        """One socket's whole life, counted until it is closed."""
        try:
            if self._connections <= self._settings.max_connections + _REFUSING_AT_ONCE:
                opened_at = trio.current_time()
                hello_deadline = opened_at + self._settings.hello_timeout
                websocket = await self._open(stream, address, hello_deadline)
                if websocket is not None:
                    # Contained here, in the socket's own task (no coroutine around the
                    # work, held by every idle player): a bug closes only this
                    # connection, with 1011. Cancellation is never contained.
                    extra: dict[str, Any] = {}
                    try:
                        await self._serve_player(websocket, opened_at, hello_deadline, extra)
                    except* ConnectionClosed:
                        # The client went away while the work was writing to it: not a bug.
                        log.debug("connection closed under its work", extra=extra)
                    except* Exception as failure:
                        await close_after_bug(
                            websocket,
                            failure,
                            close_timeout=self._settings.close_timeout,
                            log_extra=extra,
                        )
        except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError):
            pass  # the client broke the connection (or its TLS) first
        finally:
            await trio.aclose_forcefully(stream)
            self._connections -= 1

    async def _open(
        self, transport: trio.abc.Stream, address: str | None, hello_deadline: float
    ) -> WebSocket | None:
        """The TLS handshake and the WebSocket upgrade; None when the connection was
        refused (the socket is closed by the caller)."""
        websocket: WebSocket | None = None
        with trio.move_on_at(hello_deadline):
            stream = transport
            if self._tls is not None:
                stream = trio.SSLStream(transport, self._tls, server_side=True)
                await stream.do_handshake()
            websocket = await self._doorway.open(stream, address)
        if websocket is None:
            return None  # refused, or no upgrade in time
        if self._connections > self._settings.max_connections:
            await self._refuse(websocket, self._server_full())
            return None
        if self._stopping:
            await websocket.close(CloseCode.GOING_AWAY, ErrorCode.SHUTTING_DOWN)
            return None
        return websocket

    def _server_full(self) -> HandshakeRefused:
        full = TilemudError("the server is full; try again later", code=ErrorCode.SERVER_FULL)
        return HandshakeRefused(full, retry_after=self._settings.full_retry_after)

    async def _serve_player(
        self,
        websocket: WebSocket,
        opened_at: float,
        hello_deadline: float,
        extra: dict[str, Any],
    ) -> None:
        """The greeting, then the session: one coroutine for the connection's whole life.

        What only the greeting needs (the hello, the tokens, the welcome) lives in the
        frames of calls that have returned: an idle player's connection holds only what
        it serves with (memory per player, docs/performance.md).
        """
        greeting = await self._greet(websocket, hello_deadline)
        if greeting is None:
            return
        table = self.sessions
        session, resumed = await table.claim(greeting.identity)
        session.speak(greeting.version)
        assert self._handlers is not None
        connection = Connection(
            websocket,
            session,
            self._settings,
            meter=self._meter,
            opened_at=opened_at,
            writers=self._handlers,
            hub=self._hub,
        )
        extra.update(player_id=session.identity.player_id, session_id=session.identity.session_id)
        log.info("connection opened", extra={**extra, "resumed": resumed})
        table.attached(connection)
        self._live.add(connection)
        try:
            close = await connection.run(
                self._welcome(greeting, session.identity, resumed), greeting.last_seq
            )
        finally:
            self._live.discard(connection)
            self._frames_sent_before += connection.frames_sent
            table.released(connection)
            self._note_if_all_closed()
        log.info(
            "connection closed",
            extra={
                **extra,
                "close_code": None if close is None else close.code,
                "dropped": connection.dropped,
            },
        )

    async def _greet(self, websocket: WebSocket, hello_deadline: float) -> Greeting | None:
        """The client's hello, checked and admitted; None when the connection was refused
        (and closed) instead."""
        outcome: Greeting | HandshakeRefused | ConnectionClosed | None = None
        with trio.CancelScope() as greeting:
            self._greeting.add(greeting)
            try:
                outcome = await receive_hello(
                    websocket, self._settings, self._tokens, deadline=hello_deadline
                )
            except (HandshakeRefused, ConnectionClosed) as exc:
                outcome = exc
            finally:
                self._greeting.discard(greeting)
                self._note_if_all_closed()
        if isinstance(outcome, Greeting):  # a banned player goes no further
            outcome = check_admission(outcome, self._services.admission) or outcome
        if outcome is None:  # cancelled: the gateway is stopping
            await websocket.close(CloseCode.GOING_AWAY, ErrorCode.SHUTTING_DOWN)
        elif isinstance(outcome, HandshakeRefused):
            await self._refuse(websocket, outcome)
        elif isinstance(outcome, ConnectionClosed):
            # The client left or broke the protocol: echo its close, or send the wire's.
            await websocket.close(CloseCode.NORMAL, "")
        else:
            return outcome
        return None

    def _welcome(self, greeting: Greeting, identity: SessionIdentity, resumed: bool) -> str:
        """The encoded ``welcome`` (its resume token minted now, held by nobody after)."""
        return encode_server(
            Welcome(
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
        )

    async def _refuse(self, websocket: WebSocket, refused: HandshakeRefused) -> None:
        """Send the refusal's error frame, then close with its code, within close_timeout."""
        log.info(
            "handshake refused", extra={"code": refused.code, "close_code": int(refused.close_code)}
        )
        frame = encode_server(
            ErrorFrame(
                code=refused.code,
                message=refused.message,
                rid=refused.rid,
                retry_after=refused.retry_after,
                until=refused.until,
            )
        )
        deadline = trio.current_time() + self._settings.close_timeout
        with trio.move_on_at(deadline), contextlib.suppress(ConnectionClosed):
            await websocket.send_text(frame)
            self._frames_sent_before += 1
        close = CloseRequest(refused.close_code, refused.code)
        await websocket.close(close.code, close.reason, deadline=deadline)

    def _note_if_all_closed(self) -> None:
        if self._all_closed is not None and not self._live and not self._greeting:
            self._all_closed.set()

    async def _close_all(self) -> None:
        """Close every session and greeting connection with 1001, each within close_timeout."""
        log.info(
            "closing all connections",
            extra={"sessions": len(self._live), "greeting": len(self._greeting)},
        )
        self._stopping = True
        self._all_closed = trio.Event()
        for connection in list(self._live):
            # Each closes itself, bounded by close_timeout.
            connection.request_close(CloseCode.GOING_AWAY, ErrorCode.SHUTTING_DOWN)
        for greeting in list(self._greeting):
            greeting.cancel()
        self._note_if_all_closed()
        with trio.move_on_after(self._settings.close_timeout + 1.0):
            await self._all_closed.wait()
