"""What sessions and the gateway feed into the server's metrics, under autojump.

Players connect over in-memory streams (tests/world/memory.py), so the reconnect grace runs
on Trio's mock clock; the metrics are read from the server's own registry, as a scrape
would. Every test has an absolute deadline in Trio time.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import trio
import trio.testing

from tests.integration.harness import make_settings, running_server
from tests.world.memory import memory_player
from tests.world.play import join, place
from tilemud.config import LimitSettings
from tilemud.metrics import ServerMetrics
from tilemud.protocol import ErrorCode, ErrorFrame, PlaceResult
from tilemud.server import TilemudServer

DEADLINE = 1000.0  # seconds of Trio time


def value(metrics: ServerMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def actions(server: TilemudServer, action: str, outcome: str) -> float:
    return value(server.metrics, "tilemud_actions_total", action=action, outcome=outcome)


async def test_players_sessions_and_the_reconnect_grace(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            metrics = server.metrics
            assert value(metrics, "tilemud_players_connected") == 0
            async with memory_player(server, "p_a") as ada, memory_player(server, "p_b"):
                assert value(metrics, "tilemud_players_connected") == 2
                assert value(metrics, "tilemud_sessions") == 2
                assert value(metrics, "tilemud_connections_open") == 2
                assert value(metrics, "tilemud_handshake_duration_seconds_count") == 2
                assert value(metrics, "tilemud_frames_sent_total") >= 2  # the welcomes
                await ada.drop()
                await trio.testing.wait_all_tasks_blocked()  # the server saw it go
                assert value(metrics, "tilemud_players_connected") == 1
                dropped_at = trio.current_time()
                assert value(metrics, "tilemud_sessions") == 2  # p_a waits out its grace
                grace = server.settings.gateway.reconnect_grace
                await trio.sleep_until(dropped_at + grace + 1)
                assert value(metrics, "tilemud_sessions") == 1
            await trio.testing.wait_all_tasks_blocked()
            assert value(metrics, "tilemud_players_connected") == 0
            # Frames of ended connections still count: a counter never goes down.
            assert value(metrics, "tilemud_frames_sent_total") >= 2


async def test_actions_by_outcome(tmp_path: Path, autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_a") as ada,
        ):
            client = ada.client
            refused = await place(client, 1, 1)
            assert isinstance(refused, ErrorFrame)
            assert refused.code == ErrorCode.NOT_IN_ARENA
            assert actions(server, "place", "refused") == 1
            await join(client)
            assert actions(server, "join", "accepted") == 1
            assert isinstance(await place(client, 1, 1, rid="same"), PlaceResult)
            assert actions(server, "place", "accepted") == 1
            del client.answers["same"]  # ask again: the first answer comes back
            assert isinstance(await place(client, 1, 1, rid="same"), PlaceResult)
            assert actions(server, "place", "repeated") == 1
            assert actions(server, "place", "accepted") == 1
            placed = value(
                server.metrics, "tilemud_placements_total", mode="arena", outcome="accepted"
            )
            assert placed == 1
            assert value(server.metrics, "tilemud_arenas", mode="arena") == 1


async def test_rate_limited_actions_are_counted_apart(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    settings = attrs.evolve(
        make_settings(tmp_path, durable=False), limits=LimitSettings(actions=2, actions_window=60.0)
    )
    with trio.fail_after(DEADLINE):
        async with (
            running_server(settings) as server,
            memory_player(server, "p_a") as ada,
        ):
            await join(ada.client)
            assert isinstance(await place(ada.client, 1, 1), PlaceResult)
            limited = await place(ada.client, 2, 1)
            assert isinstance(limited, ErrorFrame)
            assert limited.code == ErrorCode.RATE_LIMITED
            assert actions(server, "place", "rate_limited") == 1
            assert actions(server, "place", "refused") == 0
            assert actions(server, "place", "accepted") == 1
