"""Small moves shared by the world tests: join, place in a line, read the server's board."""

from __future__ import annotations

import trio

from tilemud.actors.arena import ArenaView, DescribeArena
from tilemud.game import Mode
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Join, Joined, Place, ServerMessage
from tilemud.server import TilemudServer


async def join(client: PlayerClient, mode: Mode = "arena", region: str = "eu") -> Joined:
    """Join and return the ``joined`` answer, retrying as a client should on a passing refusal.

    A refusal with ``retry_after`` (matchmaking overloaded) is retried with a new rid after
    that delay; any other answer fails the test.
    """
    while True:
        answer = await client.request(Join(rid=client.next_rid(), mode=mode, region=region))
        if isinstance(answer, ErrorFrame) and answer.retry_after is not None:
            await trio.sleep(answer.retry_after)
            continue
        assert isinstance(answer, Joined), answer
        return answer


async def place(client: PlayerClient, x: int, y: int, rid: str | None = None) -> ServerMessage:
    """Place a stone at (x, y) and wait for its answer."""
    return await client.request(Place(rid=rid or client.next_rid(), x=x, y=y, kind="stone"))


async def describe(server: TilemudServer, player_id: str) -> ArenaView:
    """The server's own view of the arena ``player_id`` sits in."""
    session = server.gateway.sessions.session_of(player_id)
    assert session is not None
    assert session.seat is not None
    return await session.seat.ticket.ref.ask(lambda reply: DescribeArena(reply=reply))


def server_last_seq(server: TilemudServer, player_id: str) -> int:
    """The last seq the server published to ``player_id``'s stream."""
    session = server.gateway.sessions.session_of(player_id)
    assert session is not None
    return session.stream.last_seq
