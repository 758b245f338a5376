"""Party requests between nodes (``PartyLinks``), under autojump, with Redis and the bus
replaced by an in-memory hub: the routing is the point here, not Redis (the real thing:
tests/integration/test_cluster_parties.py).

Each "node" is a real :class:`~tilemud.actors.parties.Parties` (supervisor, directory,
party actors) with its own ``PartyLinks``; the hub delivers each published message to the
nodes subscribed to its topic, as Redis pub/sub does, and keeps keys in a dict (time to
live not modelled).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

import pytest
import trio

from tests.actors.test_party import FakePresence
from tilemud.actors.parties import Parties, PartyLinks
from tilemud.actors.parties._cluster import GONE, PartyRemoteFailed, _decode
from tilemud.cluster import ClusterBus, ClusterLink
from tilemud.config import ClusterSettings, SocialSettings
from tilemud.social.party_rules import PartyState, Refusal
from tilemud.supervisors import run_root


class FakeRedis:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.keys.get(key)

    async def set(self, key: str, value: str, px: int) -> bool:
        self.keys[key] = value
        return True

    async def eval(self, script: str, keys: list[str], args: list[str]) -> int:
        if self.keys.get(keys[0]) == args[0]:
            del self.keys[keys[0]]
            return 1
        return 0


class Hub:
    """Redis for every node: one key space, and pub/sub by topic."""

    def __init__(self) -> None:
        self.redis = FakeRedis()
        self.handlers: dict[str, list[tuple[str, Callable[[str, dict[str, Any]], None]]]] = {}
        self.deaf: set[str] = set()  # nodes whose handlers no longer hear anything


class FakeNode:
    """What PartyLinks uses of the cluster link and the bus, for one node."""

    def __init__(self, hub: Hub, node_id: str) -> None:
        self.hub = hub
        self.node_id = node_id
        self.retry_after = 2.0

    @property
    def link(self) -> FakeNode:
        return self

    def key(self, *parts: str) -> str:
        return ":".join(("t", *parts))

    async def run(self, command: Callable[[FakeRedis], Awaitable[Any]]) -> Any:
        await trio.sleep(0.001)
        return await command(self.hub.redis)

    def on(self, topic: str, handler: Callable[[str, dict[str, Any]], None]) -> None:
        self.hub.handlers.setdefault(topic, []).append((self.node_id, handler))

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        pass

    async def publish(self, topic: str, message: dict[str, Any]) -> int:
        await trio.sleep(0.001)
        heard = 0
        for node, handler in self.hub.handlers.get(topic, []):
            if node not in self.hub.deaf:
                handler(self.node_id, message)
                heard += 1
        return heard


@asynccontextmanager
async def node(
    hub: Hub, node_id: str, online: set[str], *, serve: bool = True
) -> AsyncIterator[Parties]:
    fake = FakeNode(hub, node_id)

    async def anywhere(player_id: str) -> bool:
        return player_id in online

    links = PartyLinks(
        cast(ClusterLink, fake),
        cast(ClusterBus, fake),
        ClusterSettings(heartbeat_interval=1.0, node_ttl=5.0),
        online=anywhere,
    )
    presence = FakePresence(online=set())
    parties = Parties(SocialSettings(), presence=presence, links=links)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_root, parties.supervisor)
        if serve:
            nursery.start_soon(parties.keep_links, links)
        yield parties
        nursery.cancel_scope.cancel()


async def test_a_player_on_another_node_is_invited_accepts_and_leaves(autojump_clock: Any) -> None:
    hub = Hub()
    online = {"ann", "bob"}
    with trio.fail_after(60):
        async with node(hub, "a", online) as a, node(hub, "b", online) as b:
            created = await a.create("ann")
            assert isinstance(created, PartyState)
            party_id = created.party_id
            assert hub.redis.keys[f"t:party:{party_id}"] == "a"
            assert await b.party_anywhere("ann") == party_id
            invited = await b.request(
                party_id, {"k": "invite", "a": "ann", "t": "bob", "online": True}
            )
            assert isinstance(invited, PartyState)
            assert invited.invited == ("bob",)
            joined = await b.request(party_id, {"k": "accept", "a": "bob"})
            assert isinstance(joined, PartyState)
            assert joined.members == ("ann", "bob")
            assert hub.redis.keys["t:party-of:bob"] == party_id
            assert await b.party_anywhere("bob") == party_id
            again = await b.request(party_id, {"k": "accept", "a": "bob"})
            assert isinstance(again, Refusal)
            assert again.code == "already_in_party"
            # Bob is in a party of another node: he cannot create one on his own node.
            assert await b.in_another_party("bob")
            left = await b.request(party_id, {"k": "leave", "a": "bob"})
            assert isinstance(left, PartyState)
            assert left.members == ("ann",)
            assert "t:party-of:bob" not in hub.redis.keys
            assert not await b.in_another_party("bob")


async def test_a_node_that_does_not_answer_is_unavailable_and_a_late_answer_is_dropped(
    autojump_clock: Any,
) -> None:
    hub = Hub()
    online = {"ann", "bob"}
    with trio.fail_after(60):
        async with node(hub, "a", online, serve=False) as a, node(hub, "b", online) as b:
            created = await a.create("ann")
            assert isinstance(created, PartyState)
            started = trio.current_time()
            with pytest.raises(PartyRemoteFailed) as failed:
                await b.request(created.party_id, {"k": "leave", "a": "ann"})
            assert failed.value.retry_after == 2.0
            assert 5.0 <= trio.current_time() - started < 5.1
            # A dead node (nobody hears its topic): unavailable at once, not after 5 s.
            hub.deaf.add("a")
            started = trio.current_time()
            with pytest.raises(PartyRemoteFailed):
                await b.request(created.party_id, {"k": "leave", "a": "ann"})
            assert trio.current_time() - started < 0.1
            # Its keys expired: the party is gone (not_in_party for the session route).
            hub.redis.keys.clear()
            assert await b.party_anywhere("ann") is None


async def test_garbage_between_nodes_is_counted_and_never_applied(autojump_clock: Any) -> None:
    hub = Hub()
    online = {"ann", "bob"}
    with trio.fail_after(60):
        async with node(hub, "a", online) as a, node(hub, "b", online):
            created = await a.create("ann")
            assert isinstance(created, PartyState)
            sender = FakeNode(hub, "x")
            await sender.publish("party.a", {"id": 7, "r": "leave"})
            await sender.publish("party.a", {"id": "q", "from": "x", "r": {"k": "explode"}})
            await sender.publish("party-answer.b", {"id": "nobody-asked", "a": {}})
            await trio.sleep(1)
            assert a.links is not None
            assert a.links.garbage == 1
            assert a.directory.members_of(created.party_id) == ("ann",)
            assert _decode({"state": "nonsense"}) == GONE
            assert _decode(["not", "a", "dict"]) == GONE
