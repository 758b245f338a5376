"""Cluster presence between nodes on the machine's Redis (real clock).

Each "node" is a ClusterLink, a ClusterBus and a ClusterPresence run in the tree's order,
watching a small registry of its own (the session keeper's part is played by the test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from tests.storage.proxy import TcpProxy
from tilemud.cluster import ClusterLink
from tilemud.cluster.bus import ClusterBus
from tilemud.cluster.presence import ClusterPresence
from tilemud.config import ClusterSettings, RedisSettings
from tilemud.supervisors import ChildContext

BOUND = 20
FAST = ClusterSettings(heartbeat_interval=0.2, node_ttl=1.0)


@attrs.define
class Door:
    """A player's session as the test plays it: the bodies put on its stream."""

    player_id: str
    bodies: list[str] = attrs.Factory(list)


@attrs.define
class Registry:
    """A node's own players (plays the session room's PresenceRegistry)."""

    here: dict[str, Door] = attrs.Factory(dict)
    watcher: ClusterPresence[Door] | None = None

    def find(self, player_id: str) -> Door | None:
        return self.here.get(player_id)

    def publish_to(self, player_id: str, body: str) -> bool:
        door = self.here.get(player_id)
        if door is None:
            return False
        door.bodies.append(body)
        return True

    def players(self) -> list[str]:
        return list(self.here)

    def arrive(self, player_id: str) -> Door:
        door = self.here[player_id] = Door(player_id)
        assert self.watcher is not None
        self.watcher.arrived(player_id)
        return door

    def depart(self, player_id: str) -> None:
        del self.here[player_id]
        assert self.watcher is not None
        self.watcher.departed(player_id)


@attrs.define
class Node:
    registry: Registry
    presence: ClusterPresence[Door]
    bus: ClusterBus
    moved: list[str]


@asynccontextmanager
async def node(
    redis: RedisSettings, name: str, cluster: ClusterSettings = FAST
) -> AsyncIterator[Node]:
    settings = attrs.evolve(cluster, node_id=name)
    link = ClusterLink(redis, settings)
    bus = ClusterBus(link)
    registry = Registry()
    moved: list[str] = []
    presence = ClusterPresence(registry, link, bus, settings, on_moved=moved.append)
    registry.watcher = presence
    stops = [trio.Event() for _ in range(3)]

    def runner(child: str, run: object, stopping: trio.Event) -> object:
        async def start(*, task_status: trio.TaskStatus[None]) -> None:
            await run(ChildContext(child, task_status=task_status, stopping=stopping))  # type: ignore[operator]

        return start

    async with trio.open_nursery() as n1:
        await n1.start(runner("cluster", link.run, stops[0]))  # type: ignore[arg-type]
        async with trio.open_nursery() as n2:
            await n2.start(runner("bus", bus.run, stops[1]))  # type: ignore[arg-type]
            async with trio.open_nursery() as n3:
                await n3.start(runner("presence", presence.run, stops[2]))  # type: ignore[arg-type]
                yield Node(registry, presence, bus, moved)
                stops[2].set()
            stops[1].set()
        stops[0].set()


async def eventually_located(presence: ClusterPresence[Door], player: str, at: str | None) -> None:
    """Until Redis says the player is ``at`` (the test's deadline bounds it)."""
    while True:
        if await presence.locate(player) == at:
            return
        await trio.sleep(0.02)


async def until(check: Callable[[], bool]) -> None:
    """Until ``check()`` holds (polled: what it reads changes in another node's task)."""
    while True:
        if check():
            return
        await trio.sleep(0.02)


async def test_a_player_is_found_on_their_node_and_reached_from_another(
    redis_settings: RedisSettings,
) -> None:
    with trio.fail_after(BOUND):
        async with node(redis_settings, "a") as a, node(redis_settings, "b") as b:
            door = a.registry.arrive("p1")
            assert await a.presence.locate("p1") == "a"  # its own: no Redis needed
            await eventually_located(b.presence, "p1", "a")
            assert await b.presence.online("p1")
            assert b.presence.find("p1") is None  # a stream position does not travel
            assert b.presence.publish_to("p1", "one")
            assert b.presence.publish_to("p1", "two")
            assert a.presence.publish_to("p1", "local")
            await until(lambda: len(door.bodies) >= 3)
            assert door.bodies == ["local", "one", "two"]  # in the order each node sent
            assert b.presence.forwarded == 2
            # Refreshed past its time to live while the session lasts.
            await trio.sleep(FAST.node_ttl * 2)
            assert await b.presence.locate("p1") == "a"
            a.registry.depart("p1")
            await eventually_located(b.presence, "p1", None)
            # Online nowhere: dropped and counted, never delivered later.
            assert b.presence.publish_to("p1", "late")
            await until(lambda: b.presence.forwards_lost >= 1)
            a.registry.arrive("p1")
            await eventually_located(b.presence, "p1", "a")
            assert "late" not in a.registry.here["p1"].bodies


async def test_the_later_arrival_wins_and_the_older_session_is_replaced(
    redis_settings: RedisSettings,
) -> None:
    with trio.fail_after(BOUND):
        async with node(redis_settings, "a") as a, node(redis_settings, "b") as b:
            on_a = a.registry.arrive("twin")
            await eventually_located(b.presence, "twin", "a")
            on_b = b.registry.arrive("twin")
            await until(lambda: a.moved == ["twin"])
            assert b.moved == []
            assert a.presence.find("twin") is None
            assert a.presence.here.find("twin") is None
            assert a.presence.here.players() == []
            assert not a.presence.here.publish_to("twin", "stale")
            assert await a.presence.locate("twin") == "b"
            assert a.presence.publish_to("twin", "to the newer")
            await until(lambda: bool(on_b.bodies))
            assert on_a.bodies == []
            # The older session's end does not take the newer one's key with it.
            a.registry.depart("twin")
            await trio.sleep(FAST.heartbeat_interval * 3)
            assert await a.presence.locate("twin") == "b"


async def test_a_graceful_stop_takes_its_players_along(redis_settings: RedisSettings) -> None:
    with trio.fail_after(BOUND):
        async with node(redis_settings, "b") as b:
            async with node(redis_settings, "a") as a:
                a.registry.arrive("p2")
                await eventually_located(b.presence, "p2", "a")
            assert await b.presence.locate("p2") is None  # at once, not after node_ttl


async def test_a_cut_node_vanishes_within_its_ttl_and_comes_back(
    redis_settings: RedisSettings,
) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            cut = attrs.evolve(
                redis_settings, url=f"redis://127.0.0.1:{port}/0", command_timeout=0.5
            )
            async with node(redis_settings, "far") as far, node(cut, "near") as near:
                door = near.registry.arrive("p3")
                await eventually_located(far.presence, "p3", "near")
                proxy.cut()
                began = trio.current_time()
                await eventually_located(far.presence, "p3", None)
                assert trio.current_time() - began < FAST.node_ttl + 1.0
                # Degraded: the near node still has its own player, and arrivals wait.
                assert near.presence.find("p3") is door
                near.registry.arrive("p4")
                await proxy.restore()
                await eventually_located(far.presence, "p3", "near")
                await eventually_located(far.presence, "p4", "near")
            nursery.cancel_scope.cancel()


async def test_garbage_on_its_topics_is_counted_and_ignored(
    redis_settings: RedisSettings,
) -> None:
    with trio.fail_after(BOUND):
        async with node(redis_settings, "a") as a, node(redis_settings, "b") as b:
            door = a.registry.arrive("p5")
            await eventually_located(b.presence, "p5", "a")
            garbage: list[dict[str, Any]] = [
                {"d": "nope"},
                {"d": [["p5"]]},
                {"d": [[1, "x"]]},
                {"x": 1},
            ]
            for message in garbage:
                await b.bus.publish("to.a", message)
            arrivals: list[dict[str, Any]] = [{"p": 1, "v": "a 1"}, {"p": "p5", "v": "x"}, {}]
            for arrival in arrivals:
                await b.bus.publish("presence", arrival)
            assert b.presence.publish_to("p5", "fine")
            await until(lambda: bool(door.bodies))
            assert door.bodies == ["fine"]
            assert a.presence.garbage == 4 + 3  # every node hears the presence topic
            assert b.presence.garbage == 3
            assert a.moved == []
