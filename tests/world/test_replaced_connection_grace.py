"""A connection replaced by the same player's next one leaves no grace timer behind (issue 11).

The bug: a second ``hello`` with the same token closed the first connection with 4009, and
the first connection's end started the session's reconnect grace although the second one
had taken the session over. That timer then expired the session under the connected player
(others saw ``player_left`` ``timeout``), or, once the player had also dropped the second
connection, two timers ran for one session and the second raised ``KeyError`` in the
session table: the gateway crashed and the root restarted the whole tree.

Players connect over in-memory streams (tests/world/memory.py) so the 120 s grace runs on
the autojump clock; everything from the WebSocket up is the real server.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed

from tests.integration.harness import make_settings, running_server
from tests.world.memory import MemoryPlayer, memory_player
from tests.world.play import describe, join, place
from tilemud.protocol import Ping, PlaceResult, PlayerLeft, Pong

DEADLINE = 2000.0  # seconds of Trio time, far beyond what any of these tests needs
GRACE = 120.0


async def replaced(first: MemoryPlayer) -> None:
    """Wait until ``first`` is closed with 4009 (replaced)."""
    with pytest.raises(ConnectionClosed) as closed:
        await first.client.receive_until(lambda _: False)
    assert closed.value.reason is not None
    assert closed.value.reason.code == 4009


def left_frames(player: MemoryPlayer) -> list[tuple[str, str]]:
    return [(f.player_id, f.reason) for f in player.seen if isinstance(f, PlayerLeft)]


def no_crash(caplog: pytest.LogCaptureFixture) -> None:
    """No supervisor restarted anything and nothing was logged as an error."""
    restarts = [r.getMessage() for r in caplog.records if "restarting child" in r.getMessage()]
    assert restarts == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


async def test_a_replaced_connection_does_not_expire_the_session_of_its_successor(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_b") as bob,
        ):
            async with memory_player(server, "p_a") as first:
                arena = (await join(first.client)).arena_id
                assert (await join(bob.client)).arena_id == arena
                async with memory_player(server, "p_a") as second:
                    await replaced(first)
                    # Ada stays connected on the second connection well past the grace.
                    await trio.sleep(GRACE * 2)
                    assert server.gateway.sessions.session_of("p_a") is not None
                    answer = await place(second.client, 3, 3)
                    assert isinstance(answer, PlaceResult), answer
                    assert answer.outcome == "accepted"
                    view = await describe(server, "p_b")
                    assert view.arena_id == arena
                    assert "p_a" in view.players
                    # Bob's stream carries Ada's tile: everything up to it has been read.
                    await bob.client.receive_until(lambda c: (3, 3) in c.view.tiles)
                    assert left_frames(bob) == []
            no_crash(caplog)


async def test_dropping_the_second_connection_expires_the_session_once_and_nothing_crashes(
    tmp_path: Path, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_b") as bob,
        ):
            async with memory_player(server, "p_a") as first:
                arena = (await join(first.client)).arena_id
                assert (await join(bob.client)).arena_id == arena
                async with memory_player(server, "p_a") as second:
                    await replaced(first)
                    await trio.sleep(10)
                    dropped_at = trio.current_time()
                    await second.drop()
            # Past the first connection's would-be grace, not yet the second's.
            await trio.sleep_until(dropped_at + GRACE - 1)
            assert server.gateway.sessions.session_of("p_a") is not None
            assert "p_a" in (await describe(server, "p_b")).players
            # Past both: the session is gone, once, and Bob plays on, on the same connection.
            await trio.sleep_until(dropped_at + GRACE * 3)
            assert server.gateway.sessions.session_of("p_a") is None
            answer = await place(bob.client, 4, 4)
            assert isinstance(answer, PlaceResult), answer
            assert answer.outcome == "accepted"
            pong = await bob.client.request(Ping(rid=bob.client.next_rid()))
            assert isinstance(pong, Pong)
            view = await describe(server, "p_b")
            assert view.arena_id == arena
            assert "p_a" not in view.players
            assert left_frames(bob) == [("p_a", "timeout")]
            # Ada comes back later: a new session, which plays in the same arena.
            async with memory_player(server, "p_a") as back:
                assert back.client.welcome is not None
                assert back.client.welcome.resumed is False
                assert (await join(back.client)).arena_id == arena
            no_crash(caplog)
