"""The send path over real sockets (issue 13): frames written from the fan-out while the
socket takes them, the rest by the connection's writer, and nothing lost or cut on the way:
a socket whose kernel buffer takes only part of a frame, a slow client closed 4008 while the
fast path is in use, a resume that gets exactly the frames it missed.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionClosed

from tests.integration.harness import (
    bot,
    make_settings,
    open_client,
    read_until_closed,
    running_server,
)
from tests.world.play import describe, join, server_last_seq
from tilemud.player_client import PlayerClient
from tilemud.protocol import Ping, Place, PlaceResult
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration

#: Players placing tiles, so that every tick carries a frame of a few hundred bytes.
PLACERS = 16
SPACING = 14


async def place_rows(
    server: TilemudServer, stop: trio.Event, done: list[int], *, rows: int = 1
) -> None:
    """``PLACERS`` bots each placing ``rows`` rows of tiles (or until ``stop`` is set)."""

    async def placer(index: int) -> None:
        async with bot(server, f"p_placer_{index:02}") as client:
            await join(client)
            x, y = (index % 16) * SPACING, 2 + (index // 16) * SPACING
            step = 0
            width = SPACING - 1
            while not stop.is_set() and step < width * rows:
                # Row after row, each cell next to the one before (arenas want adjacency).
                row, column = divmod(step, width)
                cell_x = x + (column if row % 2 == 0 else width - 1 - column)
                answer = await client.request(
                    Place(rid=client.next_rid(), x=cell_x, y=y + row, kind="stone")
                )
                assert isinstance(answer, PlaceResult), answer
                if answer.outcome == "accepted":
                    step += 1
                with trio.move_on_after(0.3):  # the arena's cooldown is 3 ticks
                    await client.receive_until(lambda _: False)
            done.append(index)

    async with trio.open_nursery() as nursery:
        for index in range(PLACERS):
            nursery.start_soon(placer, index)


async def read_until(client: PlayerClient, done: Callable[[], bool]) -> None:
    """Read (and ack) frames until ``done()`` holds, checking it at least every 0.1 s."""
    while not done():
        with trio.move_on_after(0.1):
            await client.receive_until(lambda _: done())


def connection_of(server: TilemudServer, player_id: str) -> Any:
    for connection in server.gateway.live_connections:
        if connection.session.player_id == player_id:
            return connection
    raise AssertionError(f"{player_id} is not connected")


async def catch_up_and_compare(server: TilemudServer, client: PlayerClient, player_id: str) -> None:
    await client.receive_until(lambda c: c.stream.last_seq >= server_last_seq(server, player_id))
    board = (await describe(server, player_id)).board
    assert client.stream.gaps == 0
    assert client.stream.duplicates == 0
    assert client.view.matches(board)


async def test_a_socket_that_takes_part_of_a_frame_continues_without_corruption(
    tmp_path: Path,
) -> None:
    """Tiny kernel buffers on both ends and a client that stops reading for a while: the
    fast path's writes are cut, the writer finishes them, and the client's view is the
    server's board, every seq once."""
    settings = make_settings(tmp_path, send_buffer_bytes=4096, slow_client_timeout=30)
    with trio.fail_after(90):
        async with running_server(settings) as server:
            token = server.tokens.mint_access(player_id="p_slow", name="slow")
            async with open_client(server, receive_buffer=1024) as connection:
                slow = PlayerClient(connection, ack_every=8)
                await slow.hello(token)
                await join(slow)
                stop, done = trio.Event(), list[int]()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(place_rows, server, stop, done)
                    await trio.sleep(4)  # reads nothing: the kernel buffers fill up
                    cut = connection_of(server, "p_slow").writes_cut
                    await read_until(slow, lambda: len(done) == PLACERS)
                await catch_up_and_compare(server, slow, "p_slow")
    assert cut > 0, "no write was cut: the kernel took everything, nothing was tested"


async def test_a_slow_client_is_closed_4008_while_the_fast_path_serves_the_others(
    tmp_path: Path,
) -> None:
    """A player in the arena who stops reading and keeps sending (pings) fills the kernel's
    buffers, then its outbox: closed 4008, while the fan-out keeps serving the others."""
    settings = make_settings(
        tmp_path,
        send_buffer_bytes=4096,
        outbound_queue=8,
        slow_client_timeout=0.5,
        close_timeout=10,
        frame_rate=10_000,
        frame_burst=10_000,
    )
    with trio.fail_after(90):
        async with running_server(settings) as server:
            token = server.tokens.mint_access(player_id="p_slow", name="slow")
            async with (
                open_client(server, receive_buffer=1024) as connection,
                bot(server, "p_quick") as quick,
            ):
                slow = PlayerClient(connection)
                await slow.hello(token)
                await join(slow)
                await join(quick)
                stop, done = trio.Event(), list[int]()
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(functools.partial(place_rows, rows=10), server, stop, done)

                    async def flood() -> None:
                        with contextlib.suppress(ConnectionClosed):
                            for _ in range(20_000):
                                await slow.send(Ping(rid="x" * 60))

                    nursery.start_soon(flood)
                    # The quick player reads all along, and is served from the fast path.
                    while not _closed_4008(server, "p_slow"):
                        with trio.move_on_after(0.1):
                            await quick.receive_until(lambda _: False)
                    assert connection_of(server, "p_quick").closing is None
                    # Now the slow client reads: its backlog, then the close frame.
                    closed = await read_until_closed(connection)
                    assert closed.code == 4008
                    stop.set()
                await catch_up_and_compare(server, quick, "p_quick")


def _closed_4008(server: TilemudServer, player_id: str) -> bool:
    connection = connection_of(server, player_id)
    return connection.closing is not None and connection.closing.code == 4008


async def test_a_resume_gets_exactly_the_frames_it_missed(tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with running_server(make_settings(tmp_path)) as server:
            token = server.tokens.mint_access(player_id="p_away", name="away")
            stop, done = trio.Event(), list[int]()
            async with trio.open_nursery() as nursery:
                async with open_client(server) as connection:
                    away = PlayerClient(connection, ack_every=1000)
                    welcome = await away.hello(token)
                    await join(away)
                    nursery.start_soon(place_rows, server, stop, done)
                    with trio.move_on_after(1.5):
                        await away.receive_until(lambda _: False)
                seen = away.stream.last_seq
                assert seen > 1
                await trio.sleep(1.5)  # gone: frames pile up in the session's stream
                missed = server_last_seq(server, "p_away") - seen
                assert missed > 0
                async with open_client(server) as connection:
                    back = PlayerClient(connection)
                    back.view, back.stream = away.view, away.stream
                    again = await back.hello(
                        token, resume_token=welcome.resume_token, last_seq=seen
                    )
                    assert again.resumed is True
                    first = await back.receive()
                    assert getattr(first, "seq", None) == seen + 1  # nothing skipped or repeated
                    await read_until(back, lambda: len(done) == PLACERS)
                    await catch_up_and_compare(server, back, "p_away")
