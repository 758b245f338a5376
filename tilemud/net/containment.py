"""A bug in one connection's work ends that connection, and nothing else.

Every connection's task runs in the gateway's handler nursery: an exception escaping one
of them would end the nursery, the gateway with it, and every other player's connection
(issue 11). :func:`serve_contained` is the wall between them: the connection's work runs
inside it, and a failure there is logged once, the connection is closed with 1011
(``internal``: the client may resume its session), and the gateway goes on.

Cancellation is never contained: it is how the gateway stops its connections.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable
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


async def serve_contained(
    websocket: WebSocket,
    work: Awaitable[None],
    *,
    close_timeout: float,
    log_extra: dict[str, Any],
) -> bool:
    """Run one connection's ``work``; a bug in it closes that connection with 1011.

    Args:
        websocket: the connection ``work`` serves; closed with 1011 if ``work`` fails.
        work: everything the connection does after its WebSocket upgrade, not awaited
            yet (a coroutine rather than a function that makes one: one object less held
            for each connection's whole life).
        close_timeout: how long the 1011 close may wait for the client's close handshake.
        log_extra: the fields the failure is logged with; ``work`` may add to it (the
            player's id once the handshake named them).

    Returns:
        True when ``work`` failed and was contained, False when it returned.
    """
    failed = False
    try:
        await work
    except* ConnectionClosed:
        # The client went away while the work was writing to it: not a bug.
        log.debug("connection closed under its work", extra=log_extra)
    except* Exception as failure:
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
        failed = True
    return failed
