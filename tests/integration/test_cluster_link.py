"""A server with ``redis.url`` set runs the cluster link and bus in its tree."""

from __future__ import annotations

from pathlib import Path

import attrs
import httpx
import trio

from tests.integration.harness import make_settings, running_server
from tilemud.config import ClusterSettings, RedisSettings

BOUND = 30


async def test_a_clustered_server_links_to_redis_and_hears_its_bus(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    settings = attrs.evolve(
        make_settings(tmp_path, durable=False),
        redis=redis_settings,
        cluster=ClusterSettings(node_id="node-a"),
    )
    with trio.fail_after(BOUND):
        async with running_server(settings) as server:
            assert server.cluster is not None
            assert server.bus is not None
            assert server.cluster.link.node_id == "node-a"
            outline = server._root.outline()
            names = [child.name for child in outline.children]
            assert names[:2] == ["cluster", "bus"]
            async with httpx.AsyncClient() as http:
                ready = await http.get(f"{server.addresses.http_url}/readyz")
            assert ready.status_code == 200, ready.text
            assert await server.bus.publish("nobody-listens", {"x": 1}) == 0


async def test_a_lone_server_has_no_cluster(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, durable=False)
    with trio.fail_after(BOUND):
        async with running_server(settings) as server:
            assert server.cluster is None
            assert server.bus is None
            names = [child.name for child in server._root.outline().children]
            assert "cluster" not in names
            assert "bus" not in names
