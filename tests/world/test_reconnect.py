"""Reconnect grace, resume and the critical tier, through the gateway, under autojump.

Players connect over in-memory streams (tests/world/memory.py) so Trio's mock clock drives
the 120 s grace and the arenas' ticks; everything from the WebSocket up is the real server.
Every test has an absolute deadline in Trio time: the arenas tick forever, so a wait that
never ends would otherwise spin the mock clock instead of failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed

from tests.integration.harness import make_settings, running_server
from tests.world.memory import MemoryPlayer, memory_player
from tests.world.play import describe, join, place, server_last_seq
from tilemud.actors.session._critical import ANSWER_MARGIN, answer_window
from tilemud.player_client import PlayerClient
from tilemud.protocol import ArenaSnapshot, ErrorFrame, Place, PlaceResult, PlayerLeft
from tilemud.server import TilemudServer

DEADLINE = 1000.0  # seconds of Trio time, far beyond what any of these tests needs


async def join_both_then_drop_ada(server: TilemudServer, bob: MemoryPlayer) -> PlayerClient:
    """Ada and Bob join one arena; Ada reads her stream to its end, then her link drops.

    Returns:
        Ada's client as it was when the connection dropped (its view and stream check).
    """
    async with memory_player(server, "p_a") as ada:
        await join(ada.client)
        await join(bob.client)
        await ada.client.receive_until(
            lambda c: c.stream.last_seq == server_last_seq(server, "p_a")
        )
        await ada.drop()
        return ada.client


async def test_seat_is_kept_at_119_s_and_released_at_121_s(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_a") as ada,
            memory_player(server, "p_b") as bob,
        ):
            arena = (await join(ada.client)).arena_id
            assert (await join(bob.client)).arena_id == arena
            dropped_at = trio.current_time()
            await ada.drop()

            await trio.sleep_until(dropped_at + 119)
            assert "p_a" in (await describe(server, "p_b")).players
            assert server.gateway.sessions.session_of("p_a") is not None

            await trio.sleep_until(dropped_at + 121)
            assert "p_a" not in (await describe(server, "p_b")).players
            assert server.gateway.sessions.session_of("p_a") is None
            await bob.client.receive_until(
                lambda _: any(isinstance(f, PlayerLeft) for f in bob.seen)
            )
            assert "p_a" not in bob.client.view.players
            left = [f for f in bob.seen if isinstance(f, PlayerLeft)]
            assert [(f.player_id, f.reason) for f in left] == [("p_a", "timeout")]


async def test_resume_after_60_s_gets_every_missed_frame_once_in_order(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_b") as bob,
        ):
            before = await join_both_then_drop_ada(server, bob)
            assert before.welcome is not None

            # Bob plays for 60 s while Ada is away: one tile every half second.
            missed_from = before.stream.last_seq + 1
            for step in range(120):
                assert isinstance(await place(bob.client, step, 0), PlaceResult)
                await trio.sleep(0.5)
            published = server_last_seq(server, "p_a")
            assert published - missed_from + 1 >= 100

            async with memory_player(
                server,
                "p_a",
                resume_token=before.welcome.resume_token,
                last_seq=before.stream.last_seq,
            ) as back:
                assert back.client.welcome is not None
                assert back.client.welcome.resumed is True
                back.client.view = before.view
                back.client.stream = before.stream
                await back.client.receive_until(lambda c: c.stream.last_seq >= published)
                seqs = [f.seq for f in back.seen if hasattr(f, "seq")]
                assert seqs == list(range(missed_from, published + 1))
                assert back.client.stream.gaps == 0
                assert back.client.stream.duplicates == 0
                assert back.client.view.matches((await describe(server, "p_b")).board)


async def test_resume_after_the_buffer_overflowed_gets_a_snapshot_of_the_live_board(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False, stream_buffer=8)) as server,
            memory_player(server, "p_b") as bob,
        ):
            before = await join_both_then_drop_ada(server, bob)
            for step in range(30):  # 30 tick frames: far more than the 8 kept
                await place(bob.client, step, 5)
                await trio.sleep(0.5)

            async with memory_player(server, "p_a", last_seq=before.stream.last_seq) as back:
                back.client.stream = before.stream
                await back.client.receive_until(
                    lambda c: c.stream.last_seq == server_last_seq(server, "p_a")
                )
                first = back.seen[1]  # after the welcome
                assert isinstance(first, ArenaSnapshot)
                assert back.client.stream.gaps == 0
                assert back.client.stream.skipped_before_snapshot > 0
                live = await describe(server, "p_b")
                assert first.board.to_board() == live.board
                assert back.client.view.matches(live.board)
                # Drops are counted per session and per arena, and they agree.
                session = server.gateway.sessions.session_of("p_a")
                assert session is not None
                assert session.stream.dropped > 0
                assert live.frames_dropped == session.stream.dropped


async def test_a_repeated_rid_after_resume_changes_nothing(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            async with memory_player(server, "p_a") as ada:
                await join(ada.client)
                first = await place(ada.client, 10, 10, rid="once")
                assert isinstance(first, PlaceResult)
                assert first.outcome == "accepted"
                before = ada.client.stream.last_seq
                await ada.drop()
            board_before = (await describe(server, "p_a")).board
            await trio.sleep(30)
            async with memory_player(server, "p_a", last_seq=before) as back:
                # The same rid, even with other coordinates, gets the first answer.
                again = await back.client.request(Place(rid="once", x=11, y=10, kind="stone"))
                assert again == first
                await trio.sleep(1)  # ten ticks: nothing may resolve later either
                assert (await describe(server, "p_a")).board == board_before
                assert len(back.client.answers["once"]) == 1
                assert not any(isinstance(f, ErrorFrame) for f in back.seen)


async def test_an_answer_lost_in_flight_is_repeated_until_the_grace_and_the_margin_ran_out(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """The request log's window (issue 13): an answer lost with a connection that died
    later than the answer (the client noticed only then) is still the answer to a repeat
    one grace after that; once the window has run out the rid is a new request."""
    grace = 120.0
    with trio.fail_after(DEADLINE):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            async with memory_player(server, "p_a") as ada:
                await join(ada.client)
                first = await place(ada.client, 10, 10, rid="late")
                assert isinstance(first, PlaceResult)
                assert first.outcome == "accepted"
                answered_at = trio.current_time()
                await trio.sleep_until(answered_at + ANSWER_MARGIN - 1)
                before = ada.client.stream.last_seq
                await ada.drop()
            dropped_at = trio.current_time()
            board_before = (await describe(server, "p_a")).board
            await trio.sleep_until(dropped_at + grace - 1)
            async with memory_player(server, "p_a", last_seq=before) as back:
                again = await back.client.request(Place(rid="late", x=11, y=10, kind="stone"))
                assert again == first
                await trio.sleep(1)
                assert (await describe(server, "p_a")).board == board_before
                # Kept no longer: the same rid after the window is resolved as new.
                await trio.sleep_until(answered_at + answer_window(grace) + 1)
                del back.client.answers["late"]  # (the client's own record of the answer)
                later = await back.client.request(Place(rid="late", x=10, y=10, kind="stone"))
                assert isinstance(later, PlaceResult)
                assert later.tick > first.tick


async def test_a_new_connection_of_the_same_player_replaces_the_old_one(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_a") as first,
        ):
            arena = (await join(first.client)).arena_id
            async with memory_player(server, "p_a") as second:
                assert second.client.welcome is not None
                assert second.client.welcome.resumed is True
                assert first.client.welcome is not None
                assert second.client.welcome.session_id == first.client.welcome.session_id
                with pytest.raises(ConnectionClosed) as closed:
                    await first.client.receive_until(lambda _: False)
                assert closed.value.reason is not None
                assert closed.value.reason.code == 4009
                # The seat came along: the new connection plays in the same arena.
                answer = await place(second.client, 1, 1)
                assert isinstance(answer, PlaceResult), answer
                assert "p_a" in (await describe(server, "p_a")).players
                assert server.gateway.sessions.session_of("p_a") is not None
                assert (await describe(server, "p_a")).arena_id == arena
