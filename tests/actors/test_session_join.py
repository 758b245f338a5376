"""A join that fails half-way leaves nothing behind: no reserved seat, no live link.

The world and the arena are stand-ins that read their mailboxes by hand and answer late
or never; all timing is Trio time under ``autojump_clock``.
"""

from __future__ import annotations

import trio
import trio.testing

from tilemud.actors.arena import (
    ArenaMessage,
    ArenaTicket,
    DirectoryMessage,
    FindArena,
    JoinArena,
    LeaveArena,
    ReleaseSeat,
)
from tilemud.actors.session import Session, SessionIdentity, SessionServices
from tilemud.actors.session._seat import ASK_TIMEOUT
from tilemud.cluster import InProcessRateLimiter
from tilemud.config import GatewaySettings
from tilemud.game import ARENA_RULES
from tilemud.mailbox import Mailbox, Overflow, open_mailbox
from tilemud.metrics import ServerMetrics
from tilemud.protocol import Join, decode_server

DEADLINE = 600.0


def make_session(world: Mailbox[DirectoryMessage]) -> Session:
    return Session(
        SessionIdentity(player_id="p_a", name="ada", session_id="s_1"),
        settings=GatewaySettings(),
        services=SessionServices(
            directory=world.ref,
            actions=InProcessRateLimiter(limit=60, window=10.0),
            meter=ServerMetrics(process=False).session,
        ),
    )


async def test_a_join_whose_matchmaking_timed_out_releases_any_reserved_seat(
    autojump_clock: trio.testing.MockClock,
) -> None:
    world: Mailbox[DirectoryMessage] = open_mailbox("world", 8, Overflow.BLOCK)
    session = make_session(world)
    with trio.fail_after(DEADLINE):
        answer = await session.handle(Join(rid="j1", mode="arena", region="eu"))
        assert answer is not None
        error = decode_server(answer)
        assert getattr(error, "code", None) == "arena_unavailable"
        assert trio.current_time() >= ASK_TIMEOUT
        # The world got the request (and may have reserved a seat it could not report)...
        assert isinstance(world.inbox.receive_nowait(), FindArena)
        # ...so the session releases every seat the world may hold for the player.
        assert world.inbox.receive_nowait() == ReleaseSeat(arena_id=None, player_id="p_a")
    assert session.seat is None


async def test_a_join_the_arena_answered_too_late_leaves_and_silences_its_link(
    autojump_clock: trio.testing.MockClock,
) -> None:
    world: Mailbox[DirectoryMessage] = open_mailbox("world", 8, Overflow.BLOCK)
    arena: Mailbox[ArenaMessage] = open_mailbox("arena", 8, Overflow.BLOCK)
    session = make_session(world)
    ticket = ArenaTicket(arena_id="a_1", ref=arena.ref, rules=ARENA_RULES)

    async def matchmaking() -> None:
        request = await world.inbox.receive()
        assert isinstance(request, FindArena)
        request.reply.send(ticket)

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(matchmaking)
            answer = await session.handle(Join(rid="j1", mode="arena", region="eu"))
        assert answer is not None
        assert getattr(decode_server(answer), "code", None) == "arena_unavailable"
        join = arena.inbox.receive_nowait()
        assert isinstance(join, JoinArena)
        # The late arena still holds the join: the leave queued behind it takes it back...
        assert arena.inbox.receive_nowait() == LeaveArena(player_id="p_a", reason="left")
        assert world.inbox.receive_nowait() == ReleaseSeat(arena_id="a_1", player_id="p_a")
        # ...and what the arena sends through that link no longer reaches the stream.
        join.link.reset_stream('{"type":"snapshot"}')
        join.link.publish('{"type":"tick"}')
        assert session.stream.last_seq == 0
    assert session.seat is None
