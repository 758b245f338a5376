"""What the cluster costs: two epic arenas of 150 players, on one node, then on two nodes.

::

    flock /work/bench.lock .venv/bin/python -m benchmarks.cluster --nodes 1
    flock /work/bench.lock .venv/bin/python -m benchmarks.cluster --nodes 2

Both runs keep their state in one throwaway PostgreSQL database (the nodes of a cluster
must share it; SQLite is one process's file), so that the only difference is the cluster:
``--nodes 1`` is one ``tilemud serve`` on its own (no Redis), ``--nodes 2`` two of them
sharing that database and one Redis key prefix (``TILEMUD_REDIS_URL``; the prefix is
deleted after). ``--redis`` with ``--nodes 1`` makes a cluster of one.

Two ``tilemud loadtest`` runs go at once (the second 3 s after the first), one per arena:
150 bots in region ``eu`` and 150 in region ``us`` (one client process each, 2 placements
a second, 10 s ramp). With two
nodes, the ``eu`` bots connect to the first node and the ``us`` bots to the second, so each
node plays one arena. Each load test measures the node its bots talk to over its own
window; the figure that matters is the cluster's: **server CPU per delivered frame** = the
CPU seconds of every node / the frames every bot received (one node: the two load tests
measured the same process over the same window, so its CPU is counted once, the mean of
the two readings). Each arena's seed targets (broadcast p95, join p95, tick, drops) are
given beside it. Writes ``benchmarks/results/cluster-<n>node-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import attrs
import orjson
import trio

from benchmarks.databases import server_storage
from benchmarks.local_server import LocalServer, local_server
from benchmarks.redis_keys import delete_keys
from benchmarks.runner import RESULTS, wait_until_quiet
from benchmarks.scenarios import SCENARIOS
from tilemud.loadtest import run_loadtest

REDIS_URL: Final = "redis://127.0.0.1:6379/0"
#: The two arenas: (region, players).
ARENAS: Final = (("eu", 150), ("us", 150))
#: Seconds between the starts of the two load tests.
STAGGER: Final = 3.0


async def run_cluster(
    *, nodes: int, redis: bool, duration: float, npcs: int, quiet_wait: float
) -> dict[str, Any]:
    """Start the nodes, run both load tests at once, stop the nodes; the combined report."""
    busy_before = await wait_until_quiet(quiet_wait)
    base = SCENARIOS["epic-300"].config
    prefix = f"tilemud_bench_{secrets.token_hex(4)}"
    env: dict[str, str] = {"TILEMUD_WORLD_ARENA_NPC_CAP": str(npcs)}
    if redis:
        env |= {"TILEMUD_REDIS_URL": REDIS_URL, "TILEMUD_REDIS_KEY_PREFIX": prefix}
    reports: list[dict[str, Any]] = [{}, {}]
    with (
        tempfile.TemporaryDirectory(prefix="tilemud-cluster-") as tmp,
        server_storage("postgres") as storage,
    ):
        async with contextlib.AsyncExitStack() as stack:
            servers: list[LocalServer] = []
            for n in range(nodes):
                node_env = {**storage, **env}
                if redis:
                    node_env["TILEMUD_CLUSTER_NODE_ID"] = f"bench-node-{n}"
                servers.append(
                    await stack.enter_async_context(
                        local_server(Path(tmp) / f"node-{n}", env=node_env)
                    )
                )

            async def one_arena(index: int, region: str, players: int) -> None:
                server = servers[index % len(servers)]
                config = attrs.evolve(
                    base,
                    scenario=f"cluster-{region}",
                    players=players,
                    processes=1,
                    region=region,
                    duration=duration + base.ramp,
                    http_url=server.http_url,
                    ws_url=server.ws_url,
                )
                reports[index] = await run_loadtest(
                    config, server_pid_hint=server.pid, interactive=False
                )

            async with trio.open_nursery() as nursery:
                for index, (region, players) in enumerate(ARENAS):
                    nursery.start_soon(one_arena, index, region, players)
                    # The second arena's first join comes once the first arena runs: on two
                    # nodes, matchmaking then keeps it on the node its bots talk to (the
                    # node with the fewest arenas) instead of answering `elsewhere`.
                    await trio.sleep(STAGGER)
    if redis:
        _delete_keys(prefix)
    return _combined(reports, nodes=nodes, redis=redis, busy_before=busy_before)


def _delete_keys(prefix: str) -> None:
    delete_keys(REDIS_URL, prefix + ":*")


def _combined(
    reports: list[dict[str, Any]], *, nodes: int, redis: bool, busy_before: float
) -> dict[str, Any]:
    frames = sum(int(report["stream"]["received"]) for report in reports)
    readings = [float(report["server_process"]["cpu_seconds"]) for report in reports]
    # One node: both load tests read the same process over (nearly) the same window.
    cpu = sum(readings) if nodes > 1 else sum(readings) / len(readings)
    arenas = []
    for (region, players), report in zip(ARENAS, reports, strict=True):
        latency = report["latency_ms"]
        arenas.append(
            {
                "region": region,
                "players": players,
                "joined": report["bots"]["joined"],
                "server_pid": report["server_process"].get("pid"),
                "server_cpu_seconds": report["server_process"].get("cpu_seconds"),
                "frames_received": report["stream"]["received"],
                "dropped": report["stream"]["dropped"],
                "broadcast_ms": latency["broadcast"],
                "join_ms": latency["join_handshake"],
                "action_ms": latency["action_round_trip"],
                "targets": report["targets"],
                "problems": report["problems"],
                "other_processes_cpu_seconds": report["machine"].get("other_processes_cpu_seconds"),
            }
        )
    return {
        "benchmark": "cluster",
        "nodes": nodes,
        "redis": redis,
        "machine_busy_percent_before_start": round(busy_before, 1),
        "server_cpu_seconds": round(cpu, 3),
        "frames_received": frames,
        "cpu_us_per_delivered_frame": round(1e6 * cpu / frames, 2) if frames else None,
        "arenas": arenas,
        "reports": reports,
    }


def _summary(result: dict[str, Any]) -> str:
    lines = [
        f"cluster of {result['nodes']} node(s), redis {'on' if result['redis'] else 'off'}:"
        f" server CPU {result['server_cpu_seconds']} s for {result['frames_received']} frames"
        f" = {result['cpu_us_per_delivered_frame']} µs per delivered frame"
    ]
    for arena in result["arenas"]:
        held = ", ".join(f"{row['name']}: {row['verdict']}" for row in arena["targets"])
        lines.append(
            f"  {arena['region']}: {arena['joined']}/{arena['players']} joined, broadcast p95"
            f" {arena['broadcast_ms'].get('p95')} ms, join p95 {arena['join_ms'].get('p95')} ms,"
            f" dropped {arena['dropped']}; {held}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.cluster``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster", description=__doc__)
    parser.add_argument("--nodes", type=int, choices=(1, 2), default=2)
    parser.add_argument("--redis", action="store_true", help="with --nodes 1: a cluster of one")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds after the ramp")
    parser.add_argument("--npcs", type=int, default=0, help="NPCs per epic arena (default 0)")
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    redis = args.redis or args.nodes > 1
    result = trio.run(
        lambda: run_cluster(
            nodes=args.nodes,
            redis=redis,
            duration=args.duration,
            npcs=args.npcs,
            quiet_wait=args.quiet_wait,
        )
    )
    result["command"] = [
        Path(sys.executable).name,
        "-m",
        "benchmarks.cluster",
        *(argv or sys.argv[1:]),
    ]
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%MZ")
    path = args.out / f"cluster-{args.nodes}node{'-redis' if redis else ''}-{stamp}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(_summary(result))
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
