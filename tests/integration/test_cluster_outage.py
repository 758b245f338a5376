"""One node cut from Redis (a TcpProxy in front of it), then given it back: the degraded mode.

Node ``a`` talks to Redis directly, node ``b`` through a proxy the test cuts and restores.
While cut, ``b`` keeps serving its own players and local chat, refuses what needs the
cluster with ``unavailable`` + ``retry_after``, stores every direct message it answers, and
says ``cluster: unavailable`` on /readyz (still ready) and /healthz; once restored, it
announces what it stored, publishes its players again, and acts across nodes as before.
Real clock, loopback, an absolute deadline.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import httpx
import trio

from tests.integration.cluster_players import (
    Player,
    cluster_database,
    cluster_nodes,
    login,
    moderate,
    player_on,
)
from tests.integration.processes import ServerProcess
from tests.storage.proxy import TcpProxy
from tilemud.config import RedisSettings

BOUND = 180


async def cluster_status(node: ServerProcess) -> tuple[int, str, str]:
    """(/readyz status code, its cluster status, /healthz's cluster status)."""
    async with httpx.AsyncClient(base_url=node.http_url) as http:
        ready = await http.get("/readyz")
        health = await http.get("/healthz")
    return ready.status_code, ready.json()["cluster"]["status"], health.json()["cluster"]["status"]


async def until_status(node: ServerProcess, wanted: str) -> None:
    while True:
        _, ready, health = await cluster_status(node)
        if ready == health == wanted:
            return
        await trio.sleep(0.1)


async def until_muted(player: Player) -> None:
    """Until the player's node refuses their chat with ``muted`` (a new rid each time)."""
    while True:
        answer = await player.request({"type": "chat_send", "channel": "global", "text": "?"})
        if answer.get("code") == "muted":
            return
        await trio.sleep(0.5)  # under the chat rate limit (2 a second)


async def dm(sender: Player, to: str, text: str) -> dict[str, object]:
    answer = await sender.request({"type": "dm_send", "to": to, "text": text})
    assert answer["type"] == "dm_sent", answer
    return answer


async def test_a_node_cut_from_redis_serves_on_refuses_the_cluster_loses_nothing_and_recovers(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    with cluster_database() as url, trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            through = attrs.evolve(redis_settings, url=f"redis://127.0.0.1:{port}/0")
            assert through.url is not None
            urls = {"b": through.url}
            async with cluster_nodes(tmp_path, redis_settings, url, redis_urls=urls) as nodes:
                a, b = nodes["a"], nodes["b"]
                async with (
                    player_on(a, await login(a, "Ann")) as ann,
                    player_on(b, await login(b, "Bob")) as bob,
                    player_on(b, await login(b, "Cat")) as cat,
                ):
                    for reader in (ann, bob, cat):
                        joined = await reader.request({"type": "chat_join", "channel": "global"})
                        assert joined["type"] == "chat_joined"
                    assert await cluster_status(b) == (200, "ok", "ok")
                    await dm(ann, bob.player_id, "before")  # both known to the cluster
                    await bob.until(lambda p: len(p.of_type("dm")) == 1)

                    proxy.cut()
                    await until_status(b, "unavailable")
                    status, _, _ = await cluster_status(b)
                    assert status == 200  # still ready: it serves its own players
                    # What needs the cluster is refused, with the cluster's retry_after.
                    refused = await moderate(b, ann.player_id, "mute", reason="x", duration_s=60)
                    assert refused.status_code == 503, refused.text
                    assert refused.json()["error"]["code"] == "unavailable"
                    assert refused.headers["Retry-After"] == "2"
                    # Local chat goes on between b's players.
                    said = await bob.request(
                        {"type": "chat_send", "channel": "global", "text": "cut off"}
                    )
                    assert said["type"] == "chat_sent", said
                    await cat.until(lambda p: said["message_id"] in p.chat_ids("global"))
                    # A direct message to a player on a: stored and answered, not lost.
                    kept = await dm(bob, ann.player_id, "while cut")
                    # An act made on a meanwhile: b cannot hear it now ...
                    on_a = await moderate(a, cat.player_id, "mute", reason="z", duration_s=600)
                    assert on_a.status_code == 200, on_a.text
                    # a sees b's players vanish within node_ttl (b cannot refresh them).
                    await proxy.restore()
                    await until_status(b, "ok")
                    # Recovery: the stored message reaches Ann on a, once.
                    await ann.until(lambda p: bool(p.of_type("dm")))
                    assert [f["message_id"] for f in ann.of_type("dm")] == [kept["message_id"]]
                    # b's players are found again from a (presence published anew).
                    after = await dm(ann, bob.player_id, "after")
                    await bob.until(lambda p: len(p.of_type("dm")) == 2)
                    assert bob.of_type("dm")[1]["message_id"] == after["message_id"]
                    # ... and applies it after its resubscription (sanctions reloaded).
                    await until_muted(cat)
                    # The cluster's acts work again from b.
                    muted = await moderate(b, ann.player_id, "mute", reason="x", duration_s=60)
                    assert muted.status_code == 200, muted.text
                    await until_muted(ann)
            nursery.cancel_scope.cancel()
