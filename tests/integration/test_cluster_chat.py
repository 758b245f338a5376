"""Chat and direct messages between players on two real nodes of one cluster.

Two ``tilemud serve`` processes share this test's PostgreSQL database and Redis key
prefix (tests/integration/cluster_players.py); players are raw WebSocket clients. Real
clock, loopback, an absolute deadline per test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import trio

from tests import redis_probe
from tests.integration.cluster_players import (
    Player,
    cluster_database,
    cluster_nodes,
    login,
    player_on,
)
from tilemud.config import RedisSettings

BOUND = 180


async def join(player: Player, *channels: str) -> None:
    for channel in channels:
        joined = await player.request({"type": "chat_join", "channel": channel})
        assert joined["type"] == "chat_joined", joined


async def dm_when_known(sender: Player, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a direct message to a player who connected to another node a moment ago.

    Their node writes their presence to Redis just after its welcome (and stores their
    first "last seen" behind): for those few milliseconds another node does not know them
    yet and refuses with ``unknown_player`` (docs/operations.md). A client repeats.
    """
    for attempt in range(50):
        # A refusal without retry_after is the rid's answer for good: a new rid each time.
        answer = await sender.request({**frame, "rid": f"{frame['rid']}.{attempt}"})
        if answer.get("code") != "unknown_player":
            return answer
        await trio.sleep(0.05)
    raise AssertionError(f"never known: {frame}")


async def say(player: Player, channel: str, text: str) -> str:
    sent = await player.request({"type": "chat_send", "channel": channel, "text": text})
    assert sent["type"] == "chat_sent", sent
    return str(sent["message_id"])


async def test_channel_chat_reaches_every_node_in_one_order_and_honours_blocks(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            async with (
                player_on(a, await login(a, "Ann")) as ann,
                player_on(b, await login(b, "Bob")) as bob,
                player_on(b, await login(b, "Cat")) as cat,
            ):
                for reader in (ann, bob, cat):
                    await join(reader, "global", "region:eu")
                blocked = await cat.request({"type": "block", "player_id": ann.player_id})
                assert blocked["blocked"] == [ann.player_id]
                sent: dict[str, list[str]] = {"ann": [], "bob": []}

                async def talk(who: str, speaker: Player) -> None:
                    for n in range(6):
                        sent[who].append(await say(speaker, "global", f"{who} {n}"))

                async with trio.open_nursery() as nursery:  # both nodes at once
                    nursery.start_soon(talk, "ann", ann)
                    nursery.start_soon(talk, "bob", bob)
                # chat_sent answers once the message is on its way: a node's last ones may
                # still be on their way to Redis; wait until each reader has them all.
                everything = {*sent["ann"], *sent["bob"]}
                await ann.until(lambda p: everything <= set(p.chat_ids("global")))
                await bob.until(lambda p: everything <= set(p.chat_ids("global")))
                # Then one more from b: cat (on b) had every earlier one put before it.
                marker = await say(bob, "global", "last")
                everything.add(marker)
                await ann.until(lambda p: marker in p.chat_ids("global"))
                await bob.until(lambda p: marker in p.chat_ids("global"))
                await cat.until(lambda p: marker in p.chat_ids("global"))
                # One order for the channel on both nodes, each message once.
                assert ann.chat_ids("global") == bob.chat_ids("global")
                assert set(ann.chat_ids("global")) == everything
                assert len(ann.chat_ids("global")) == len(everything)
                # Each speaker's own messages in the order they were sent.
                order = ann.chat_ids("global")
                for who in ("ann", "bob"):
                    assert [m for m in order if m in sent[who]] == sent[who]
                # Cat (on b) blocks Ann (on a): none of hers, all of Bob's.
                assert set(cat.chat_ids("global")) == {*sent["bob"], marker}

                region = await say(ann, "region:eu", "hello eu")
                await bob.until(lambda p: region in p.chat_ids("region:eu"))
                # History is shared: a newcomer on b sees what was said on a.
                async with player_on(b, await login(b, "Dan")) as dan:
                    joined = await dan.request({"type": "chat_join", "channel": "global"})
                    history = [line["message_id"] for line in joined["history"]]
                    assert set(sent["ann"]) <= set(history)


async def test_a_direct_message_reaches_the_recipient_on_another_node_once(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            dan_token = await login(a, "Dan")
            async with player_on(a, dan_token) as dan_first:
                dan_id = dan_first.player_id  # known to the cluster: it has played
            async with (
                player_on(a, await login(a, "Ann")) as ann,
                player_on(b, await login(b, "Bob")) as bob,
            ):
                request: dict[str, object] = {
                    "type": "dm_send",
                    "rid": "dm-1",
                    "to": bob.player_id,
                    "text": "hi",
                }
                first = await dm_when_known(ann, request)
                assert first["type"] == "dm_sent", first
                # The same rid again: the same answer, nothing sent twice.
                again = await ann.request({**request, "rid": first["rid"]})
                assert again == first
                await bob.until(lambda p: bool(p.of_type("dm")))
                assert bob.of_type("dm")[0]["message_id"] == first["message_id"]
                await bob.ack()
                marker = await ann.request({"type": "dm_send", "to": bob.player_id, "text": "2"})
                await bob.until(lambda p: len(p.of_type("dm")) == 2)
                ids = [f["message_id"] for f in bob.of_type("dm")]
                assert ids == [first["message_id"], marker["message_id"]]  # once each

                # Dan left a (his session waits out its grace there); he comes back on b.
                offline = await ann.request({"type": "dm_send", "to": dan_id, "text": "later"})
                assert offline["type"] == "dm_sent", offline
                async with player_on(b, dan_token) as dan:
                    await dan.until(lambda p: bool(p.of_type("dm")))
                    assert [f["message_id"] for f in dan.of_type("dm")] == [offline["message_id"]]
                    answer = {"type": "dm_send", "to": ann.player_id, "text": "ok"}
                    reply = await dan.request(answer)
                    await ann.until(lambda p: bool(p.of_type("dm")))
                    assert ann.of_type("dm")[0]["message_id"] == reply["message_id"]


async def test_the_later_of_two_connections_on_two_nodes_wins(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            token = await login(a, "Twin")
            async with player_on(a, await login(a, "Bob")) as bob, player_on(a, token) as old:
                async with player_on(b, token) as new:
                    assert await old.until_closed() == 4009  # replaced, as on one node
                    sent = await bob.request({"type": "dm_send", "to": new.player_id, "text": "x"})
                    await new.until(lambda p: bool(p.of_type("dm")))
                    assert new.of_type("dm")[0]["message_id"] == sent["message_id"]


async def test_garbage_and_repeats_on_the_bus_change_nothing(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    assert redis_settings.url is not None
    prefix = redis_settings.key_prefix
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            async with (
                player_on(a, await login(a, "Ann")) as ann,
                player_on(b, await login(b, "Bob")) as bob,
            ):
                await join(ann, "global")
                await join(bob, "global")
                said = await ann.request({"type": "chat_send", "channel": "global", "text": "1"})
                await bob.until(lambda p: said["message_id"] in p.chat_ids("global"))
                dm = await ann.request({"type": "dm_send", "to": bob.player_id, "text": "d"})
                await bob.until(lambda p: bool(p.of_type("dm")))
                # Repeats of what a node sent: the same message once more on every topic.
                chat_again = {
                    "id": said["message_id"],
                    "ch": "global",
                    "ct": "global",
                    "s": ann.player_id,
                    "sn": "Ann",
                    "t": "1",
                    "at": said["sent_at"],
                }
                dm_again = {
                    "id": dm["message_id"],
                    "s": ann.player_id,
                    "sn": "Ann",
                    "r": bob.player_id,
                    "t": "d",
                    "at": dm["sent_at"],
                }
                garbage = [
                    ("chat", "not json"),
                    ("chat", orjson.dumps({"o": "a", "m": {"id": 1}}).decode()),
                    ("dm", orjson.dumps({"o": "a", "m": {"r": []}}).decode()),
                    ("moderation", orjson.dumps({"o": "x", "m": {"a": "ban", "p": 7}}).decode()),
                    ("presence", orjson.dumps({"o": "x", "m": {"p": bob.player_id}}).decode()),
                    ("to.b", orjson.dumps({"o": "x", "m": {"d": [[bob.player_id]]}}).decode()),
                    ("chat", orjson.dumps({"o": "a", "m": chat_again}).decode()),
                    ("chat", orjson.dumps({"o": "a", "m": chat_again}).decode()),
                    ("dm", orjson.dumps({"o": "a", "m": dm_again}).decode()),
                ]
                for topic, data in garbage:
                    await trio.to_thread.run_sync(
                        redis_probe.publish, redis_settings.url, f"{prefix}:bus:{topic}", data
                    )
                after = await ann.request({"type": "chat_send", "channel": "global", "text": "2"})
                await bob.until(lambda p: after["message_id"] in p.chat_ids("global"))
                assert bob.chat_ids("global") == [said["message_id"], after["message_id"]]
                assert [f["message_id"] for f in bob.of_type("dm")] == [dm["message_id"]]
                # Nobody was banned or replaced by the garbage: both still talk.
                back = await bob.request({"type": "dm_send", "to": ann.player_id, "text": "ok"})
                assert back["type"] == "dm_sent", back
