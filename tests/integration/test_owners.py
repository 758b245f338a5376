"""One owner per database's live arenas: a second ``tilemud serve`` refuses to start (issue 11).

Two real processes on one database, on both backends: the first runs a live arena; the
second exits 1 with one error line naming the holder, before it brought anything back or
bound a port; the first plays on. Once the first has ended (SIGTERM on SQLite, SIGKILL on
PostgreSQL: the lock goes with the process either way), the next node starts and brings
the arena back.

Policy of tests/integration/harness.py: loopback, port 0, the real clock, one absolute
``trio.fail_after`` per test. The PostgreSQL test runs on the run's throwaway database
(tests/storage/conftest.py), which fails under CI when PostgreSQL is not there.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.integration.processes import (
    ServerProcess,
    guest_login,
    open_client,
    running_process,
    serve_argv,
    tilemud_process,
)
from tests.storage.conftest import truncate_all
from tilemud.player_client import PlayerClient
from tilemud.protocol import Join, Joined, Place, PlaceResult

pytestmark = pytest.mark.integration


def errors_in(server: ServerProcess) -> list[dict[str, Any]]:
    return [r for r in server.log.records if r.get("level") in {"error", "critical"}]


async def join_and_place(server: ServerProcess, name: str, x: int) -> str:
    """A player joins an arena (it is stored as live) and places a tile; its arena id."""
    login = await guest_login(server, name)
    async with open_client(server) as connection:
        client = PlayerClient(connection)
        await client.hello(login["token"])
        joined = await client.request(Join(rid=client.next_rid(), mode="arena", region="eu"))
        assert isinstance(joined, Joined), joined
        placed = await client.request(Place(rid=client.next_rid(), x=x, y=3, kind="stone"))
        assert isinstance(placed, PlaceResult), placed
        assert placed.outcome == "accepted", placed
        return joined.arena_id


async def second_node_is_refused(where: Path, env: dict[str, str], holder: str) -> None:
    """Start a node in ``where`` on the same database; it must exit 1 with one clear line."""
    async with tilemud_process(where, serve_argv(where), env=env) as second:
        status = await second.exit_status()
    text = second.log.text()
    assert status == 1, text
    errors = errors_in(second)
    assert len(errors) == 1, text
    message = errors[0]["msg"]
    assert message.startswith("cannot start: the live arenas of "), message
    assert "are owned by a running node" in message, message
    assert holder in message, message
    assert "Traceback" not in text
    # Refused before it brought anything back, migrated anything or bound a port.
    assert "arena brought back from storage" not in second.log.messages
    assert "player gateway listening" not in second.log.messages


async def two_owners_are_refused(
    tmp_path: Path, second_dir: Path, env: dict[str, str], stop: signal.Signals
) -> None:
    async with running_process(tmp_path, env=env) as first:
        arena_id = await join_and_place(first, "ada", 3)
        await second_node_is_refused(second_dir, env, f"pid {first.process.pid}")
        # The owner plays on, alone.
        assert await join_and_place(first, "bob", 9) == arena_id
        first.process.send_signal(stop)
        await first.exit_status()
    assert errors_in(first) == [], first.log.text()
    # The owner gone, the next node owns the arenas and brings the live one back.
    async with running_process(tmp_path, env=env) as next_node:
        brought_back = [
            r["arena_id"]
            for r in next_node.log.records
            if r.get("msg") == "arena brought back from storage"
        ]
        assert arena_id in brought_back
        next_node.process.send_signal(signal.SIGTERM)
        assert await next_node.exit_status() == 0


async def test_a_second_node_on_the_same_data_directory_refuses_to_start(tmp_path: Path) -> None:
    with trio.fail_after(60):
        await two_owners_are_refused(tmp_path, tmp_path, {}, signal.SIGTERM)


async def test_a_second_node_on_the_same_postgres_database_refuses_to_start(
    tmp_path: Path, postgres_url: str
) -> None:
    truncate_all(postgres_url)
    # The second node has a data directory of its own: only the database is shared.
    other = tmp_path / "other"
    other.mkdir()
    env = {"TILEMUD_DATABASE_URL": postgres_url}
    with trio.fail_after(90):
        await two_owners_are_refused(tmp_path, other, env, signal.SIGKILL)


async def test_nodes_on_different_data_directories_both_start(tmp_path: Path) -> None:
    """The lock is the database's, not the machine's: two data directories, two owners."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with trio.fail_after(60):
        async with (
            running_process(tmp_path / "a") as first,
            running_process(tmp_path / "b") as second,
        ):
            await join_and_place(first, "ada", 3)
            await join_and_place(second, "bob", 3)
            for server in (first, second):
                server.process.send_signal(signal.SIGTERM)
                assert await server.exit_status() == 0
