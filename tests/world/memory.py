"""Players connected to a real server through in-memory streams, for autojump tests.

Everything from the WebSocket upgrade on runs the server's real code (gateway, handshake,
sessions, world, arenas); only TCP is replaced by ``trio.testing.memory_stream_pair``, so
the reconnect grace and the arenas' tick clocks run under ``autojump_clock`` and a 120 s
grace costs milliseconds. The HTTP side and the TCP listener run too, idle. Servers are
started with ``tests.integration.harness.running_server``; autojump tests run them with
``durable=False``: the storage actor works in threads, and the autojump clock races ahead
while a thread runs (tests/world/test_recovery.py runs with storage on the real clock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio
import trio.testing
from trio_websocket import wrap_client_stream

from tilemud.player_client import PlayerClient
from tilemud.protocol import ServerMessage
from tilemud.server import TilemudServer


@attrs.define
class MemoryPlayer:
    """A connected player and the means to cut its connection like a network would."""

    client: PlayerClient
    transport: trio.abc.Stream
    #: Every frame this connection received, in order.
    seen: list[ServerMessage]

    async def drop(self) -> None:
        """Lose the connection without a close handshake (the server sees it vanish)."""
        await self.transport.aclose()


@asynccontextmanager
async def memory_player(
    server: TilemudServer,
    player_id: str,
    *,
    resume_token: str | None = None,
    last_seq: int | None = None,
    auto_ack: bool = True,
) -> AsyncIterator[MemoryPlayer]:
    """Connect and greet ``player_id`` (its token minted by the server's authority)."""
    token = server.tokens.mint_access(player_id=player_id, name=player_id)
    client_side, server_side = trio.testing.memory_stream_pair()
    server.gateway.accept_stream(server_side)
    async with trio.open_nursery() as nursery:
        # trio-websocket annotates this as taking socket streams only, but it uses nothing
        # beyond trio.abc.Stream (its server-side twin is annotated that way).
        websocket = await wrap_client_stream(
            nursery,
            client_side,  # type: ignore[arg-type]
            "memory",
            "/v1/ws",
            max_message_size=16 * 1024 * 1024,
        )
        seen: list[ServerMessage] = []
        client = PlayerClient(websocket, auto_ack=auto_ack, on_frame=seen.append)
        await client.hello(token, resume_token=resume_token, last_seq=last_seq)
        try:
            yield MemoryPlayer(client=client, transport=client_side, seen=seen)
        finally:
            # Shielded: an await in a cancelled scope here would replace the test's own
            # failure with a Cancelled that the nursery then swallows.
            with trio.CancelScope(shield=True):
                await client_side.aclose()
            nursery.cancel_scope.cancel()
