"""Fencing: a node that loses Redis stops its arenas before their leases can expire.

A real server in process (SQLite, its Redis behind the test's TCP proxy) and a real
player: the proxy is cut, and the arena must be stopped (discovery no longer names it,
a placement is answered ``not_in_arena``) while its lease still stands in Redis, read
directly. When Redis returns and the stale lease expires, the node adopts the arena back
from storage with its board.

Real network I/O: the real clock, generous absolute bounds.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import httpx
import trio

from tests.integration.harness import bot, make_settings, running_server
from tests.storage.proxy import TcpProxy
from tilemud.cluster import open_redis_link
from tilemud.config import ClusterSettings, RedisSettings
from tilemud.protocol import ErrorFrame, Join, Joined, Place, PlaceResult
from tilemud.server import TilemudServer

BOUND = 40
NODE_TTL = 2.0


async def discovery_status(server: TilemudServer, arena_id: str) -> int:
    async with httpx.AsyncClient(base_url=server.addresses.http_url, timeout=5) as http:
        response = await http.get("/v1/discovery", params={"arena_id": arena_id})
    return response.status_code


async def wait_for_discovery(server: TilemudServer, arena_id: str, status: int) -> None:
    """Ask discovery about ``arena_id`` until it answers ``status``."""
    while True:
        if await discovery_status(server, arena_id) == status:
            return
        await trio.sleep(0.02)


async def test_an_arena_is_fenced_before_its_lease_expires_and_comes_back_after(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            settings = make_settings(tmp_path)
            settings = attrs.evolve(
                settings,
                redis=attrs.evolve(
                    redis_settings, url=f"redis://127.0.0.1:{port}/0", command_timeout=0.3
                ),
                cluster=ClusterSettings(node_id="n1", heartbeat_interval=0.2, node_ttl=NODE_TTL),
            )
            async with (
                open_redis_link(redis_settings, ClusterSettings(node_id="reader")) as redis,
                running_server(settings) as server,
                bot(server, "ann") as client,
            ):
                joined = await client.request(
                    Join(rid=client.next_rid(), mode="arena", region="eu")
                )
                assert isinstance(joined, Joined), joined
                placed = await client.request(Place(rid=client.next_rid(), x=3, y=3, kind="stone"))
                assert isinstance(placed, PlaceResult), placed
                assert placed.outcome == "accepted"
                lease = redis.key("lease", joined.arena_id)
                assert await redis.run(lambda r: r.get(lease)) == "n1"

                proxy.cut()
                await wait_for_discovery(server, joined.arena_id, 404)
                # Fenced while the lease it could not renew still stands: nobody else
                # could have taken the arena yet.
                assert await redis.run(lambda r: r.pttl(lease)) > 0
                refused = await client.request(Place(rid=client.next_rid(), x=4, y=3, kind="stone"))
                assert isinstance(refused, ErrorFrame), refused
                # The arena is gone, or still stopping (it refuses what comes late).
                assert refused.code in {"not_in_arena", "arena_unavailable"}, refused

                await proxy.restore()
                await wait_for_discovery(server, joined.arena_id, 200)
                again = await client.request(Join(rid=client.next_rid(), mode="arena", region="eu"))
                assert isinstance(again, Joined), again
                assert again.arena_id == joined.arena_id
                await client.receive_until(lambda c: c.view.arena_id == joined.arena_id)
                assert client.view.tiles[(3, 3)] == ("ann", "stone")
            nursery.cancel_scope.cancel()
