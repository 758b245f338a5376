"""Failover and drain hand-over times of a cluster on this machine.

Each run starts two ``tilemud serve`` nodes (benchmarks/local_server.py) sharing a
throwaway PostgreSQL database (benchmarks/databases.py) and a Redis key prefix of the run's
own (deleted after), lets a player open an epic arena on the first node and place a tile,
then:

- **failover**: ``kill -9`` of the first node; the time until the survivor's discovery
  names it for that arena, and until a player reconnected there is seated in it with the
  tile on its board ("playing again");
- **drain**: a third node starts, the survivor gets SIGUSR1 (a drain); the time until the
  third node's discovery names it for the arena, and the drained node's exit status.

Bounded: loopback only, every process stopped on the way out, each wait under a deadline.

    .venv/bin/python -m benchmarks.cluster_failover --runs 5
    .venv/bin/python -m benchmarks.cluster_failover --runs 5 --node-ttl 2 --heartbeat 0.25
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import coredis
import httpx
import orjson
import trio
from trio_websocket import open_websocket_url

from benchmarks.databases import ADMIN_URL, throwaway_database
from benchmarks.local_server import LocalServer, local_server
from tilemud.player_client import PlayerClient
from tilemud.protocol import Join, Joined, Place, PlaceResult

REDIS_URL: Final = os.environ.get("TILEMUD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Seconds one run may take at most.
RUN_BOUND: Final = 180.0


async def discover(server: LocalServer, **query: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=5) as http:
        response = await http.get("/v1/discovery", params=query)
    if response.status_code != 200:
        return None
    body = response.json()
    assert isinstance(body, dict)
    return body


async def wait_for_route(server: LocalServer, node_id: str, **query: str) -> dict[str, Any]:
    while True:
        route = await discover(server, **query)
        if route is not None and route["node_id"] == node_id:
            return route
        await trio.sleep(0.02)


async def login(server: LocalServer, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=5) as http:
        response = await http.post("/v1/auth/guest", json={"name": name})
    response.raise_for_status()
    body = response.json()
    assert isinstance(body, dict)
    return body


@asynccontextmanager
async def player(ws_url: str, token: str) -> AsyncIterator[PlayerClient]:
    async with open_websocket_url(ws_url) as connection:
        client = PlayerClient(connection)
        await client.hello(token)
        yield client


async def seated_with_tile(ws_url: str, token: str, arena_id: str, cell: tuple[int, int]) -> None:
    """Join (until the arena is there) and wait for the snapshot showing ``cell``."""
    async with player(ws_url, token) as client:
        while True:
            joined = await client.request(Join(rid=client.next_rid(), mode="arena", region="eu"))
            if isinstance(joined, Joined):
                break
            await trio.sleep(0.05)
        assert joined.arena_id == arena_id, (joined.arena_id, arena_id)
        await client.receive_until(lambda c: c.view.arena_id == arena_id)
        assert cell in client.view.tiles, client.view.tiles


async def delete_prefix(prefix: str) -> None:
    client: coredis.Redis[str] = coredis.Redis.from_url(REDIS_URL, decode_responses=True)
    async with client:
        keys = [key async for key in client.scan_iter(match=prefix + ":*")]
        if keys:
            await client.delete(keys)


async def one_run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    prefix = f"tilemud_bench_{secrets.token_hex(4)}"
    # One secret for the cluster: a token minted by one node is good on every node.
    secret = secrets.token_hex(32)

    def env(node_id: str) -> dict[str, str]:
        return {
            "TILEMUD_DATABASE_URL": database_url,
            "TILEMUD_REDIS_URL": REDIS_URL,
            "TILEMUD_REDIS_KEY_PREFIX": prefix,
            "TILEMUD_CLUSTER_NODE_ID": node_id,
            "TILEMUD_CLUSTER_HEARTBEAT_INTERVAL": str(args.heartbeat),
            "TILEMUD_CLUSTER_NODE_TTL": str(args.node_ttl),
            "TILEMUD_NPCS_ENABLED": "false",
            "TILEMUD_AUTH_SECRET": secret,
        }

    result: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp, trio.fail_after(RUN_BOUND):
            root = Path(tmp)
            async with (
                local_server(root / "n1", env=env("n1")) as n1,
                local_server(root / "n2", env=env("n2")) as n2,
            ):
                route = await wait_for_route(n2, "n1", mode="arena", region="eu")
                ann = await login(n1, "ann")
                async with player(route["ws_url"], ann["token"]) as client:
                    joined = await client.request(
                        Join(rid=client.next_rid(), mode="arena", region="eu")
                    )
                    assert isinstance(joined, Joined), joined
                    placed = await client.request(
                        Place(rid=client.next_rid(), x=4, y=4, kind="stone")
                    )
                    assert isinstance(placed, PlaceResult), placed
                    assert placed.outcome == "accepted", placed
                arena_id = joined.arena_id
                killed_at = trio.current_time()
                n1.process.kill()
                moved = await wait_for_route(n2, "n2", arena_id=arena_id)
                result["failover_discovered_s"] = round(trio.current_time() - killed_at, 3)
                await seated_with_tile(moved["ws_url"], ann["token"], arena_id, (4, 4))
                result["failover_playing_s"] = round(trio.current_time() - killed_at, 3)

                async with local_server(root / "n3", env=env("n3")) as n3:
                    await wait_for_route(n3, "n2", arena_id=arena_id)
                    asked_at = trio.current_time()
                    n2.process.send_signal(signal.SIGUSR1)
                    handed = await wait_for_route(n3, "n3", arena_id=arena_id)
                    result["drain_discovered_s"] = round(trio.current_time() - asked_at, 3)
                    await seated_with_tile(handed["ws_url"], ann["token"], arena_id, (4, 4))
                    result["drain_playing_s"] = round(trio.current_time() - asked_at, 3)
                    result["drained_exit_status"] = await n2.process.wait()
    finally:
        await delete_prefix(prefix)
    return result


def _summary(runs: list[dict[str, Any]], key: str) -> dict[str, float]:
    values = [run[key] for run in runs]
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


async def main_async(args: argparse.Namespace) -> int:
    runs: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    for index in range(args.runs):
        with throwaway_database(ADMIN_URL, prefix="tilemud_bench") as url:
            run = await one_run(args, url)
        run["run"] = index + 1
        print(orjson.dumps(run).decode(), flush=True)
        runs.append(run)
    report = {
        "node_ttl_s": args.node_ttl,
        "heartbeat_s": args.heartbeat,
        "runs": len(runs),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        **{
            key: _summary(runs, key)
            for key in (
                "failover_discovered_s",
                "failover_playing_s",
                "drain_discovered_s",
                "drain_playing_s",
            )
        },
        "drained_exit_statuses": sorted({run["drained_exit_status"] for run in runs}),
    }
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--node-ttl", type=float, default=10.0, help="cluster.node_ttl")
    parser.add_argument("--heartbeat", type=float, default=2.0, help="cluster.heartbeat_interval")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be 1..50")
    return trio.run(main_async, args)


if __name__ == "__main__":
    sys.exit(main())
