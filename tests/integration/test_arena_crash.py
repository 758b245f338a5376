"""An arena that crashes under players on real sockets: restarted from storage, players
resynced on the same connection, every placement answered once, nothing acknowledged lost.

The crash is injected: one tick's processing raises once (a bug, as the supervisor sees
it). Real server tree, real WebSocket clients, the embedded SQLite database, the real clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from tests.integration.harness import make_settings, open_client, running_server
from tests.world.play import describe, join
from tilemud.actors.arena._core import ArenaCore
from tilemud.game import BattleResult
from tilemud.player_client import PlayerClient
from tilemud.protocol import ArenaSnapshot, Place, PlaceResult, ServerMessage
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration


class InjectedBug(Exception):
    """The arena's one crash in this test."""


@asynccontextmanager
async def watched_bot(
    server: TilemudServer, player_id: str
) -> AsyncIterator[tuple[PlayerClient, list[ServerMessage]]]:
    """A greeted player over a real socket, and every frame it received."""
    seen: list[ServerMessage] = []
    token = server.tokens.mint_access(player_id=player_id, name=player_id)
    async with open_client(server, max_message_size=16 * 1024 * 1024) as connection:
        client = PlayerClient(connection, on_frame=seen.append)
        await client.hello(token)
        yield client, seen


def snapshots(seen: list[ServerMessage]) -> int:
    return sum(isinstance(frame, ArenaSnapshot) for frame in seen)


async def test_a_crashed_arena_resyncs_its_players_on_their_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # In this order: set_level also sets the capturing handler's level, the last one wins.
    caplog.set_level(logging.CRITICAL, logger="tilemud.supervisor")
    caplog.set_level(logging.INFO, logger="tilemud.arena")
    real_end_tick = ArenaCore.end_tick
    crash_next: list[bool] = []

    def end_tick_with_a_bug(table: ArenaCore, tick: int) -> BattleResult | None:
        ended = real_end_tick(table, tick)  # resolved, logged, answered: then the bug
        if crash_next:
            crash_next.pop()
            raise InjectedBug("a bug after resolving a tick")
        return ended

    monkeypatch.setattr(ArenaCore, "end_tick", end_tick_with_a_bug)
    with trio.fail_after(60):
        async with (
            running_server(make_settings(tmp_path)) as server,
            watched_bot(server, "p_ada") as (ada, ada_seen),
            watched_bot(server, "p_bob") as (bob, bob_seen),
        ):
            arena_id = (await join(ada)).arena_id
            assert (await join(bob)).arena_id == arena_id
            first = await ada.request(Place(rid="a1", x=20, y=20, kind="stone"))
            assert isinstance(first, PlaceResult)
            assert first.outcome == "accepted"
            before = (snapshots(ada_seen), snapshots(bob_seen))

            crash_next.append(True)
            second = await bob.request(Place(rid="b1", x=30, y=30, kind="stone"))
            assert isinstance(second, PlaceResult)
            assert second.outcome == "accepted"
            # Both players are still connected, and got a fresh snapshot on their stream.
            await ada.receive_until(lambda _: snapshots(ada_seen) > before[0])
            await bob.receive_until(lambda _: snapshots(bob_seen) > before[1])
            view = await describe(server, "p_ada")
            assert ada.view.matches(view.board)
            assert view.board.get(20, 20) is not None
            assert view.board.get(30, 30) is not None
            # Each rid was answered exactly once.
            assert [len(ada.answers["a1"]), len(bob.answers["b1"])] == [1, 1]
            # And the arena goes on.
            third = await ada.request(Place(rid="a2", x=21, y=20, kind="stone"))
            assert isinstance(third, PlaceResult)
    assert any("restored from storage" in r.getMessage() for r in caplog.records)
    assert not crash_next
