"""The shard keeper's timing under the autojump clock, with an in-memory Redis.

What real Redis would not show: that the keeper renews at every heartbeat, and that when
Redis stops answering (every command hangs) it fences the arena at exactly half a lease
after the last renewal it sent, long before the lease could expire in Redis. The fake
answers the keeper's commands (``SET``, the renew and publish scripts) from a dict, or
hangs. The directory is a mailbox this test serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import coredis
import trio

from tilemud.actors.arena import (
    ArenaListing,
    ClusterShards,
    DirectoryMessage,
    FenceArenas,
    ListArenas,
    ShardKeeper,
)
from tilemud.cluster import RedisLink
from tilemud.config import ClusterSettings, RedisSettings
from tilemud.mailbox import Mailbox, Overflow, open_mailbox
from tilemud.supervisors import ChildContext

TTL = 10.0
BEAT = 1.0


class FakeRedis:
    """Answers the keeper's commands from a dict; hangs every command while ``hang``."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.hang = False
        self.renewals: list[float] = []
        self.cards = 0

    async def _answer(self) -> None:
        if self.hang:
            await trio.sleep_forever()
        await trio.lowlevel.checkpoint()

    async def set(self, key: str, value: str, **_: Any) -> bool:
        await self._answer()
        if key in self.values:
            return False
        self.values[key] = value
        return True

    async def eval(self, script: str, keys: list[str], args: list[Any]) -> Any:
        await self._answer()
        if "PEXPIRE" in script:  # the compare-and-renew script
            self.renewals.append(trio.current_time())
            return [1 if self.values.get(key) == args[0] else 0 for key in keys]
        if "SADD" in script:  # a node's card
            self.cards += 1
            self.values[keys[0]] = args[0]
            return 1
        if "SREM" in script:  # the card taken down when the keeper stops
            self.values.pop(keys[0], None)
            return 1
        raise AssertionError(f"unexpected script {script!r}")


class Node:
    """A holder of the link (what ClusterLink is to the keeper)."""

    def __init__(self, link: RedisLink) -> None:
        self.node_id = link.node_id
        self._link = link

    @property
    def link(self) -> RedisLink:
        return self._link


async def serve_directory(
    mailbox: Mailbox[DirectoryMessage], fenced: list[tuple[float, tuple[str, ...]]]
) -> None:
    async for message in mailbox.inbox:
        match message:
            case ListArenas(reply=reply):
                reply.send(
                    (
                        ArenaListing(
                            arena_id="a_1", mode="arena", region="eu", players=1, capacity=9
                        ),
                    )
                )
            case FenceArenas(arena_ids=arena_ids):
                fenced.append((trio.current_time(), arena_ids))
            case _:
                raise AssertionError(message)


def node_n1(
    *, addresses: Callable[[], tuple[str, str] | None]
) -> tuple[FakeRedis, ClusterShards, Mailbox[DirectoryMessage]]:
    """Node n1's shard directory on a fake Redis, and the directory's mailbox."""
    redis = FakeRedis()
    link = RedisLink(
        cast("coredis.Redis[str]", redis),
        RedisSettings(url="redis://fake", command_timeout=0.5),
        node_id="n1",
    )
    settings = ClusterSettings(node_id="n1", heartbeat_interval=BEAT, node_ttl=TTL)
    shards = ClusterShards(Node(link), settings, capacity=4, addresses=addresses)
    return redis, shards, open_mailbox("directory", 8, Overflow.BLOCK)


async def test_the_keeper_renews_each_beat_and_fences_at_half_a_lease_when_redis_hangs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    redis, shards, mailbox = node_n1(addresses=lambda: ("ws://n1/v1/ws", "http://n1"))
    fenced: list[tuple[float, tuple[str, ...]]] = []
    keeper = ShardKeeper(shards, mailbox.ref, storage=None)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_directory, mailbox, fenced)
        assert await shards.claim("a_1")
        ctx = ChildContext("shards")
        nursery.start_soon(keeper.run, ctx)
        await trio.sleep(3.5)
        # Renewed at every beat, the card published with them.
        assert [round(t - start, 3) for t in redis.renewals] == [0.0, 1.0, 2.0, 3.0]
        assert redis.cards >= 4
        assert fenced == []
        redis.hang = True
        await trio.sleep(10.0)
        # Last renewal sent at 3.0: fenced at 3.0 + TTL / 2, not a moment later, while
        # the lease in Redis would last until 13.0.
        assert [(round(t - start, 3), ids) for t, ids in fenced] == [(8.0, ("a_1",))]
        assert not shards.leases.book.holds("a_1")
        ctx.stopping.set()
        nursery.cancel_scope.cancel()


async def test_a_lease_taken_by_another_node_is_fenced_at_the_next_beat(
    autojump_clock: trio.testing.MockClock,
) -> None:
    redis, shards, mailbox = node_n1(addresses=lambda: ("ws://n1/v1/ws", "http://n1"))
    fenced: list[tuple[float, tuple[str, ...]]] = []
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_directory, mailbox, fenced)
        assert await shards.claim("a_1")
        ctx = ChildContext("shards")
        nursery.start_soon(ShardKeeper(shards, mailbox.ref, storage=None).run, ctx)
        await trio.sleep(1.5)
        assert fenced == []
        redis.values[shards.cluster.link.key("lease", "a_1")] = "n2"  # its lease lapsed; n2 took it
        await trio.sleep(1.0)
        assert [(round(t - start, 3), ids) for t, ids in fenced] == [(2.0, ("a_1",))]
        ctx.stopping.set()
        nursery.cancel_scope.cancel()


async def test_a_node_publishes_its_card_as_soon_as_its_listeners_are_bound(
    autojump_clock: trio.testing.MockClock,
) -> None:
    bound: list[tuple[str, str]] = []
    redis, shards, mailbox = node_n1(addresses=lambda: bound[0] if bound else None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_directory, mailbox, [])
        ctx = ChildContext("shards")
        nursery.start_soon(ShardKeeper(shards, mailbox.ref, storage=None).run, ctx)
        await trio.sleep(0.5)
        assert redis.cards == 0  # no addresses yet: no card
        bound.append(("ws://n1/v1/ws", "http://n1"))
        await trio.sleep(0.15)  # well within one heartbeat (BEAT)
        assert redis.cards == 1
        ctx.stopping.set()
        nursery.cancel_scope.cancel()
