"""Arenas over real sockets: 300 players in one arena, sharding, the actions rate limit."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.integration.harness import bot, make_settings, running_server
from tests.world.play import describe, join, server_last_seq
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Ping, Place, PlaceResult, Pong

pytestmark = pytest.mark.integration

ARENA_CAP = 300
#: Starting cells far enough apart that the players' short rows never touch.
SPACING = 14


async def keep_reading(client: PlayerClient, seconds: float) -> None:
    """Read (and ack) frames for a while, as a client between two actions does."""
    with trio.move_on_after(seconds):
        await client.receive_until(lambda _: False)


async def test_300_players_in_one_arena_see_the_servers_board_and_the_301st_goes_elsewhere(
    tmp_path: Path,
) -> None:
    arenas: set[str] = set()
    results: list[PlaceResult] = []
    views_checked = 0
    with trio.fail_after(240):
        # 301 clients share the server's event loop: on a busy machine a hello can wait
        # longer than the harness's short handshake timeout, which this test is not about.
        async with running_server(make_settings(tmp_path, hello_timeout=30.0)) as server:
            everyone_played = trio.Event()
            playing = ARENA_CAP

            async def play(index: int) -> None:
                nonlocal playing, views_checked
                player_id = f"p_{index:03}"
                # Players arrive over three seconds rather than in one instant: the clients
                # share this process (and two cores) with the server.
                await trio.sleep(index * 0.01)
                async with bot(server, player_id) as client:
                    arenas.add((await join(client)).arena_id)
                    x, y = (index % 18) * SPACING, (index // 18) * SPACING
                    for step in range(3):
                        answer = await client.request(
                            Place(rid=client.next_rid(), x=x + step, y=y, kind="stone")
                        )
                        assert isinstance(answer, PlaceResult), answer
                        results.append(answer)
                        await keep_reading(client, 0.35)  # the arena's cooldown is 3 ticks
                    playing -= 1
                    if playing == 0:
                        everyone_played.set()
                    while not everyone_played.is_set():
                        await keep_reading(client, 0.2)
                    # Nobody places any more: catch up with the stream, then compare.
                    await client.receive_until(
                        lambda c: c.stream.last_seq >= server_last_seq(server, player_id)
                    )
                    board = (await describe(server, player_id)).board
                    assert client.stream.gaps == 0
                    assert client.stream.duplicates == 0
                    assert client.view.matches(board)
                    views_checked += 1

            async with trio.open_nursery() as nursery:
                for index in range(ARENA_CAP):
                    nursery.start_soon(play, index)

            async with bot(server, "p_301") as late:
                late_arena = (await join(late)).arena_id
    assert len(arenas) == 1
    assert views_checked == ARENA_CAP
    assert len(results) == 3 * ARENA_CAP
    assert sum(r.outcome == "accepted" for r in results) > 2 * ARENA_CAP
    assert late_arena not in arenas


async def test_the_61st_action_in_10_s_is_refused_and_the_connection_stays(
    tmp_path: Path,
) -> None:
    with trio.fail_after(60):
        async with running_server(make_settings(tmp_path)) as server:
            async with bot(server, "p_fast") as client:
                await join(client)  # action 1
                rids = [client.next_rid() for _ in range(60)]  # actions 2..61
                for n, rid in enumerate(rids):
                    await client.send(Place(rid=rid, x=n, y=0, kind="stone"))
                while not all(rid in client.answers for rid in rids):
                    await client.receive()
                answers = [client.answers[rid][0] for rid in rids]
                assert all(isinstance(a, PlaceResult) for a in answers[:59])
                refused = answers[59]
                assert isinstance(refused, ErrorFrame)
                assert refused.code == "rate_limited"
                assert refused.retry_after is not None
                assert 0 < refused.retry_after <= 10
                assert isinstance(await client.request(Ping(rid="still-open")), Pong)
