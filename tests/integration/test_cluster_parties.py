"""Parties across two real ``tilemud serve`` nodes of one cluster.

A party lives on the node that created it; players on the other node invite, accept,
leave and are told through the bus (docs/social.md, "Parties across nodes"). The nodes
share this test's PostgreSQL database and Redis key prefix (tests/integration/
cluster_players.py); players are raw WebSocket clients. Real clock, loopback, an absolute
deadline per test, the processes killed on the way out.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import trio

from tests.integration.cluster_players import (
    Player,
    cluster_database,
    cluster_nodes,
    login,
    player_on,
)
from tilemud.config import RedisSettings

BOUND = 60


async def invite_when_known(leader: Player, target: str) -> dict[str, Any]:
    """Invite a player who connected to another node a moment ago (their presence is
    written just after their welcome: until then they are ``player_offline``)."""
    for _ in range(50):
        answer = await leader.request({"type": "party_invite", "player_id": target})
        if answer.get("code") != "player_offline":
            return answer
        await trio.sleep(0.05)
    raise AssertionError(f"never online: {target}")


def events(player: Player, kind: str) -> list[dict[str, Any]]:
    return [f for f in player.of_type("party_event") if f["event"] == kind]


async def test_a_party_on_one_node_takes_a_player_of_the_other_and_both_see_it(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            async with (
                player_on(a, await login(a, "Ann")) as ann,
                player_on(b, await login(b, "Bob")) as bob,
            ):
                created = await ann.request({"type": "party_create"})
                assert created["type"] == "party", created
                party_id = created["party_id"]

                invited = await invite_when_known(ann, bob.player_id)
                assert invited["type"] == "party", invited
                assert invited["invited"] == [bob.player_id]
                await bob.until(lambda p: bool(events(p, "invited")))

                accept = {"type": "party_accept", "party_id": party_id, "rid": "acc"}
                joined = await bob.request(dict(accept))
                assert joined["type"] == "party", joined
                assert joined["members"] == [ann.player_id, bob.player_id]
                # The same rid again: the same answer, not a second join.
                await bob.send(accept)
                await trio.sleep(0.3)
                assert bob.answers["acc"] == joined
                await ann.until(lambda p: bool(events(p, "joined")))
                await bob.until(lambda p: bool(events(p, "joined")))

                # Party chat crosses the nodes: Bob's node learns his party from Redis.
                channel = f"party:{party_id}"
                for member in (ann, bob):
                    chat_joined = await member.request({"type": "chat_join", "channel": channel})
                    assert chat_joined["type"] == "chat_joined", chat_joined
                said = await bob.request({"type": "chat_send", "channel": channel, "text": "hi"})
                assert said["type"] == "chat_sent", said
                await ann.until(lambda p: bool(p.chat_ids(channel)))
                assert ann.of_type("chat_message")[-1]["text"] == "hi"

                # A second invite from node B's member: refused by the party's rules there.
                not_leader = await bob.request({"type": "party_invite", "player_id": "nobody"})
                assert not_leader["code"] == "forbidden", not_leader

                left = await bob.request({"type": "party_leave"})
                assert left == {"type": "party_left", "rid": left["rid"], "party_id": party_id}
                await ann.until(lambda p: bool(events(p, "left")))
                again = await bob.request({"type": "party_leave"})
                assert again["code"] == "not_in_party", again


async def test_two_accepts_at_once_from_two_nodes_fill_the_last_seat_once(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            async with (
                player_on(a, await login(a, "Ann")) as ann,
                player_on(b, await login(b, "Bob")) as bob,
                player_on(a, await login(a, "Cat")) as cat,
                player_on(b, await login(b, "Dan")) as dan,
            ):
                # Bob is invited to two parties, one on each node, and accepts both at once.
                first = await ann.request({"type": "party_create"})
                second = await dan.request({"type": "party_create"})
                assert (await invite_when_known(ann, bob.player_id))["type"] == "party"
                invited = await dan.request({"type": "party_invite", "player_id": bob.player_id})
                assert invited["type"] == "party", invited
                # Both sent before either is answered.
                for rid, party in (("one", first), ("two", second)):
                    await bob.send(
                        {"type": "party_accept", "party_id": party["party_id"], "rid": rid}
                    )
                await bob.until(lambda p: "one" in p.answers and "two" in p.answers)
                answers = [bob.answers["one"], bob.answers["two"]]
                kinds = sorted(answer["type"] for answer in answers)
                assert kinds == ["error", "party"], answers
                refused = next(a for a in answers if a["type"] == "error")
                assert refused["code"] == "already_in_party", refused
                del cat


async def test_a_member_whose_party_node_was_killed_is_told_not_in_party_within_the_ttl(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    with cluster_database() as url, trio.fail_after(BOUND):
        async with cluster_nodes(tmp_path, redis_settings, url) as nodes:
            a, b = nodes["a"], nodes["b"]
            async with player_on(b, await login(b, "Bob")) as bob:
                async with player_on(a, await login(a, "Ann")) as ann:
                    created = await ann.request({"type": "party_create"})
                    party_id = created["party_id"]
                    assert (await invite_when_known(ann, bob.player_id))["type"] == "party"
                    accept = {"type": "party_accept", "party_id": party_id}
                    assert (await bob.request(accept))["type"] == "party"
                    a.process.send_signal(signal.SIGKILL)
                    await a.process.wait()
                # Node a is gone: its party with it. Within node_ttl (3 s here) plus a
                # heartbeat, Bob's requests are answered not_in_party; before that, the
                # request reaches no node: unavailable, with a retry_after.
                started = trio.current_time()
                while True:
                    answer = await bob.request({"type": "party_leave"})
                    assert answer["type"] == "error", answer
                    if answer["code"] == "not_in_party":
                        break
                    assert answer["code"] == "unavailable", answer
                    assert answer["retry_after"] > 0, answer
                    await trio.sleep(0.2)
                assert trio.current_time() - started < 15
                # A new party on the surviving node works.
                assert (await bob.request({"type": "party_create"}))["type"] == "party"
