"""The cluster bus between two nodes' links on the machine's Redis (real clock).

Each "node" here is a ClusterLink and a ClusterBus run as the tree would run them; a
TcpProxy in front of Redis plays an outage for one of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio

from tests.storage.proxy import TcpProxy
from tilemud.cluster import ClusterLink, ClusterUnavailable
from tilemud.cluster.bus import ClusterBus, Handler
from tilemud.config import ClusterSettings, RedisSettings
from tilemud.supervisors import ChildContext

BOUND = 20


@attrs.define
class Inbox:
    got: list[tuple[str, dict[str, Any]]] = attrs.Factory(list)
    changed: trio.Event = attrs.Factory(trio.Event)

    def __call__(self, origin: str, message: dict[str, Any]) -> None:
        self.got.append((origin, message))
        self.changed.set()

    async def wait_for(self, count: int) -> None:
        while len(self.got) < count:
            self.changed = trio.Event()
            await self.changed.wait()


@asynccontextmanager
async def node(
    settings: RedisSettings, name: str, topics: dict[str, list[Handler]]
) -> AsyncIterator[ClusterBus]:
    """A node's link and bus, started as the tree starts them and stopped in its order
    (the bus, then the link)."""
    link = ClusterLink(settings, ClusterSettings(node_id=name))
    bus = ClusterBus(link)
    for topic, handlers in topics.items():
        for handler in handlers:
            bus.on(topic, handler)
    link_stopping, bus_stopping = trio.Event(), trio.Event()

    async def run_link(*, task_status: trio.TaskStatus[None]) -> None:
        await link.run(ChildContext("cluster", task_status=task_status, stopping=link_stopping))

    async def run_bus(*, task_status: trio.TaskStatus[None]) -> None:
        await bus.run(ChildContext("bus", task_status=task_status, stopping=bus_stopping))

    async with trio.open_nursery() as outer:
        await outer.start(run_link)
        async with trio.open_nursery() as inner:
            await inner.start(run_bus)
            yield bus
            bus_stopping.set()
        link_stopping.set()


async def test_every_node_gets_each_message_once_in_order_with_its_origin(
    redis_settings: RedisSettings,
) -> None:
    a_chat, b_chat, b_guild = Inbox(), Inbox(), Inbox()
    with trio.fail_after(BOUND):
        async with (
            node(redis_settings, "a", {"chat": [a_chat]}) as a,
            node(redis_settings, "b", {"chat": [b_chat], "guild": [b_guild]}) as b,
        ):
            for n in range(5):
                assert await a.publish("chat", {"n": n}) == 2  # both nodes listen
            assert await b.publish("guild", {"g": "x"}) == 1
            await b_chat.wait_for(5)
            await a_chat.wait_for(5)
            await b_guild.wait_for(1)
    assert b_chat.got == [("a", {"n": n}) for n in range(5)]
    assert a_chat.got == b_chat.got  # the publisher hears itself, named as the origin
    assert b_guild.got == [("b", {"g": "x"})]


async def test_garbage_and_a_failing_handler_do_not_stop_the_bus(
    redis_settings: RedisSettings,
) -> None:
    inbox = Inbox()
    with trio.fail_after(BOUND):
        async with node(redis_settings, "a", {"chat": [inbox]}) as a:
            with pytest.raises(RuntimeError, match="before it runs"):
                a.on("chat", inbox)
            link = a._cluster.link
            channel = link.key("bus", "chat")
            for garbage in ("not json", '{"o": 1, "m": {}}', '{"o": "x", "m": []}', "[]"):
                await link.client.publish(channel, garbage)
            await a.publish("chat", {"ok": True})
            await inbox.wait_for(1)
    assert inbox.got == [("a", {"ok": True})]


async def test_a_handler_that_raises_is_logged_and_the_next_one_runs(
    redis_settings: RedisSettings, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()
    calls: list[int] = []

    def broken(origin: str, message: dict[str, Any]) -> None:
        calls.append(1)
        raise RuntimeError("a bug in one room")

    with trio.fail_after(BOUND):
        async with node(redis_settings, "a", {"chat": [broken, inbox]}) as bus:
            await bus.publish("chat", {"n": 1})
            await bus.publish("chat", {"n": 2})
            await inbox.wait_for(2)
    assert calls == [1, 1]
    assert [m for _, m in inbox.got] == [{"n": 1}, {"n": 2}]
    assert "bus handler failed" in caplog.text


async def test_after_an_outage_the_bus_listens_again(redis_settings: RedisSettings) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    far, near = Inbox(), Inbox()
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            cut_settings = attrs.evolve(
                redis_settings, url=f"redis://127.0.0.1:{port}/0", command_timeout=1.0
            )
            async with (
                node(redis_settings, "far", {"chat": [far]}) as far_bus,
                node(cut_settings, "near", {"chat": [near]}) as near_bus,
            ):
                assert await far_bus.publish("chat", {"n": 1}) == 2
                await near.wait_for(1)
                proxy.cut()
                with pytest.raises(ClusterUnavailable):
                    await near_bus.publish("chat", {"lost": True})
                await proxy.restore()
                # Published until the near node's subscription is back: at most once each.
                n = 2
                while len(near.got) < 2:
                    await far_bus.publish("chat", {"n": n})
                    n += 1
                    await trio.sleep(0.05)
                assert await near_bus.publish("chat", {"back": True}) == 2
                assert near_bus.reconnects == 1  # rooms are told: messages may be lost
                await far.wait_for(n - 1 + 1)
            nursery.cancel_scope.cancel()
    seen = [m["n"] for _, m in near.got if "n" in m]
    assert seen == sorted(set(seen))  # never twice, never out of order
    assert {"lost": True} not in [m for _, m in far.got]
