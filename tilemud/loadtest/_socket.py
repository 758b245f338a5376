"""A bot's WebSocket to the player gateway, whose TCP stream the bot owns.

The bot owns the stream, so it is closed in every case, and speaks WebSocket over it with
the load tester's own client (:mod:`tilemud.loadtest._client_wire`: no reader task, no
wsproto message per frame; the bots' CPU per frame is part of the broadcast latency they
measure). The message size limit is well above 1 MiB: a snapshot of a busy 256x256 arena
is larger than that.
"""

from __future__ import annotations

import errno
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final
from urllib.parse import urlsplit

import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, HandshakeError

from tilemud.errors import TilemudError
from tilemud.loadtest._client_wire import ClientWebSocket, upgrade

#: The largest frame a bot accepts from the server.
MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
#: Bytes read from the socket at a time (4 KiB would make a large snapshot cost hundreds
#: of reads).
RECEIVE_CHUNK: Final = 64 * 1024
#: Seconds a clean close may take before the TCP stream is just closed.
CLOSE_TIMEOUT: Final = 2.0


class ConnectFailed(TilemudError):
    """The WebSocket could not be opened; ``code`` says why, for the report."""

    def __init__(self, code: str) -> None:
        super().__init__(code, code=code)


class PlayerSocket:
    """An open WebSocket; :meth:`drop` makes its end a lost connection, not a close."""

    def __init__(self, websocket: ClientWebSocket) -> None:
        self.websocket = websocket
        self.dropped = False

    def drop(self) -> None:
        """On exit, close the TCP stream without a WebSocket close handshake."""
        self.dropped = True


def close_label(closed: ConnectionClosed) -> str:
    """How a connection was closed, as a report key: ``"1001 shutting_down"``."""
    reason = closed.reason
    if reason is None:
        return "unknown"
    text = (reason.reason or "").strip()
    return f"{reason.code} {text}" if text else str(reason.code)


def _connect_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRejected):
        return f"rejected_http_{exc.status_code}"
    if isinstance(exc, HandshakeError):
        return "websocket_handshake"
    if isinstance(exc, OSError):
        if exc.errno == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
            return "refused"
        name = errno.errorcode.get(exc.errno or 0)
        return f"os_{name.lower()}" if name else "os_error"
    return type(exc).__name__


@asynccontextmanager
async def open_player_socket(url: str, *, within: float) -> AsyncIterator[PlayerSocket]:
    """Open a WebSocket to ``url`` (``ws://host:port/path``) within ``within`` seconds.

    Raises:
        ConnectFailed: refused, rejected by the server, or too slow (``timeout``).
    """
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with trio.fail_after(within):
            stream = await trio.open_tcp_stream(host, parts.port or 80)
    except trio.TooSlowError:
        raise ConnectFailed("timeout") from None
    except OSError as exc:
        raise ConnectFailed(_connect_error(exc)) from exc
    async with stream:
        websocket = await _handshake(stream, host, resource, within)
        socket = PlayerSocket(websocket)
        try:
            yield socket
        finally:
            if not socket.dropped:
                with trio.move_on_after(CLOSE_TIMEOUT, shield=True):
                    await websocket.aclose()


async def _handshake(
    stream: trio.SocketStream, host: str, resource: str, within: float
) -> ClientWebSocket:
    try:
        with trio.fail_after(within):
            return await upgrade(
                stream,
                host,
                resource,
                max_message_bytes=MAX_MESSAGE_BYTES,
                receive_bytes=RECEIVE_CHUNK,
            )
    except trio.TooSlowError:
        raise ConnectFailed("timeout") from None
    except (HandshakeError, ConnectionClosed, OSError, trio.BrokenResourceError) as exc:
        raise ConnectFailed(_connect_error(exc)) from exc
