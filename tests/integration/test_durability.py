"""``kill -9`` of a real ``tilemud serve`` while 50 players place tiles, then a restart:
every placement any client saw acknowledged is on the board.

Real process, real sockets, the embedded SQLite database, the real clock; bounded in
players (50) and time (a few seconds of play, one absolute deadline).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio
from trio_websocket import ConnectionClosed

from benchmarks.databases import throwaway_database
from tests.integration.processes import (
    ServerProcess,
    guest_login,
    open_client,
    running_process,
    serve_argv,
    tilemud_process,
)
from tests.storage.conftest import ADMIN_URL
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Join, Joined, Place, PlaceResult

pytestmark = pytest.mark.integration

PLAYERS = 50
#: A long write-behind interval: rows that no acknowledgement waits on would sit in memory
#: for seconds, so a server that acknowledged before storing would lose some to the kill.
ENV = {"TILEMUD_DATABASE_FLUSH_INTERVAL": "3"}
#: Kill the server once this many placements were acknowledged (each player then has a
#: few, and more are in flight: answered by nobody yet, or committed but not answered).
KILL_AFTER = 150


async def play_until_cut(
    server: ServerProcess,
    index: int,
    acknowledged: dict[tuple[int, int], str],
    enough: trio.Event,
) -> None:
    """Join the arena and walk a row of tiles until the server goes away."""
    login = await guest_login(server, f"walker{index}")
    player_id = login["player_id"]
    x, y = 2, 2 + index * 4  # a row of one's own: always adjacent, never contested
    try:
        async with open_client(server) as connection:
            client = PlayerClient(connection)
            await client.hello(login["token"])
            while True:
                joined = await client.request(
                    Join(rid=client.next_rid(), mode="arena", region="eu")
                )
                if isinstance(joined, Joined):
                    break
                assert isinstance(joined, ErrorFrame)
                assert joined.retry_after is not None, joined
                await trio.sleep(joined.retry_after)
            while True:
                answer = await client.request(Place(rid=client.next_rid(), x=x, y=y, kind="stone"))
                if isinstance(answer, PlaceResult) and answer.outcome == "accepted":
                    acknowledged[(x, y)] = player_id
                    if len(acknowledged) >= KILL_AFTER:
                        enough.set()
                    x += 1
                else:
                    await trio.sleep(0.1)  # cooldown: try the same cell again
    except* (ConnectionClosed, trio.BrokenResourceError, OSError):
        pass  # the server was killed


async def test_kill_9_loses_no_acknowledged_placement(tmp_path: Path) -> None:
    acknowledged: dict[tuple[int, int], str] = {}
    with trio.fail_after(120):
        async with running_process(tmp_path, env=ENV) as server:
            enough = trio.Event()
            async with trio.open_nursery() as nursery:
                for index in range(PLAYERS):
                    nursery.start_soon(play_until_cut, server, index, acknowledged, enough)
                await enough.wait()
                os.kill(server.process.pid, signal.SIGKILL)
            assert await server.process.wait() == -signal.SIGKILL
        seen_acknowledged = dict(acknowledged)
        assert len(seen_acknowledged) >= KILL_AFTER

        async with running_process(tmp_path, env=ENV) as again:
            assert any(r.get("msg") == "arena brought back from storage" for r in again.log.records)
            login = await guest_login(again, "inspector")
            async with open_client(again) as connection:
                client = PlayerClient(connection)
                await client.hello(login["token"])
                joined = await client.request(Join(rid="j1", mode="arena", region="eu"))
                assert isinstance(joined, Joined), joined
                await client.receive_until(lambda c: c.view.width > 0)
                tiles = client.view.tiles
    missing = {
        cell: owner
        for cell, owner in seen_acknowledged.items()
        if tiles.get(cell, ("", ""))[0] != owner
    }
    assert missing == {}


# postgres_url: for its check (skip, or under CI fail, when PostgreSQL is not there).
@pytest.mark.usefixtures("postgres_url")
async def test_serve_refuses_an_empty_postgres_database_and_names_the_fix(tmp_path: Path) -> None:
    """``tilemud serve`` on a PostgreSQL database behind its schema exits 1 with one log
    line that names `tilemud migrate`; it never migrates a shared database itself."""
    with (
        throwaway_database(ADMIN_URL, prefix="tilemud_test_empty", migrated=False) as url,
        trio.fail_after(60),
    ):
        async with tilemud_process(
            tmp_path, serve_argv(tmp_path), env={"TILEMUD_DATABASE_URL": url}
        ) as server:
            status = await server.exit_status()
    assert status == 1
    errors = [r for r in server.log.records if r.get("level") == "error"]
    assert len(errors) == 1, server.log.text()
    assert "tilemud migrate" in errors[0]["msg"]
    assert "Traceback" not in server.log.text()
