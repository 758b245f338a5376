"""A bug in one connection's work ends that connection, and nothing else.

Every connection's task runs in the gateway's handler nursery: an exception escaping one
of them would end the nursery, the gateway with it, and every other player's connection
(issue 11). Each connection's task catches what its work raised (``except*``) and hands it
to :func:`close_after_bug`: the failure is logged once, the connection is closed with 1011
(``internal``: the client may resume its session), and the gateway goes on.

Cancellation is never contained: it is how the gateway stops its connections.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import trio

from tilemud.protocol import CloseCode, ErrorCode, ErrorFrame, encode_server
from tilemud.wire import ConnectionClosed, WebSocket

log = logging.getLogger("tilemud.gateway")

_INTERNAL_FRAME = encode_server(
    ErrorFrame(
        code=ErrorCode.INTERNAL,
        message="the server failed on a bug while serving this connection; resume the session",
    )
)


async def close_after_bug(
    websocket: WebSocket,
    failure: BaseException,
    *,
    close_timeout: float,
    log_extra: dict[str, Any],
) -> None:
    """Log a bug that ended one connection's work once, and close it with 1011.

    Called from the connection's own ``except* Exception`` (the gateway's
    ``_serve_socket``): the handler lives in the connection's task rather than in a
    coroutine wrapped around its work, which each idle player held (~320 bytes, issue 13).
    The client going away while the work wrote to it (:class:`ConnectionClosed`) is not a
    bug: the caller lets it pass before this.

    Args:
        websocket: the connection the work served; closed with 1011.
        failure: what the work raised (an exception group of the bug).
        close_timeout: how long the 1011 close may wait for the client's close handshake.
        log_extra: the fields the failure is logged with (the player's id once the
            handshake named them).
    """
    log.error(
        "connection failed on a bug; closing it with 1011",
        exc_info=failure,
        extra=log_extra,
    )
    # Shielded and bounded: the gateway may be stopping while this close is sent. The
    # error frame first, as docs/protocol.md promises for 1011.
    deadline = trio.current_time() + close_timeout
    with trio.CancelScope(shield=True):
        with trio.move_on_at(deadline), contextlib.suppress(ConnectionClosed):
            await websocket.send_text(_INTERNAL_FRAME)
        await websocket.close(CloseCode.INTERNAL_ERROR, ErrorCode.INTERNAL, deadline=deadline)
