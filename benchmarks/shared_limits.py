"""What one rate-limit check costs when the window lives in Redis (RedisRateLimiter).

epic-300 checks the action limit 600 times a second (300 players, 2 placements each), so
the figure that matters is the time and the CPU one check takes on the node. This runs
``--checks`` checks of the action limit (60 per 10 s) spread over ``--players`` keys, one
at a time (``--concurrency 1``: the latency of a lone check) or from several tasks at
once (as many sessions check at the same time), against the machine's Redis, and the same
checks against the in-process limiter for comparison; then epic-300's own pattern
(``--players`` players checking ``--rate`` times a second each, at their own phases, for
``--paced-seconds``). It reports per check: latency p50, p99 and max (µs, wall clock around
``acquire``) and the node's CPU (process time / checks; Redis's own CPU is not in it).

Run (under the bench lock, see docs/performance.md)::

    flock /work/bench.lock .venv/bin/python -m benchmarks.shared_limits --checks 20000
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Sequence

import trio
from hdrh.histogram import HdrHistogram

from benchmarks.redis_keys import delete_keys
from tilemud.cluster import ClusterLink, InProcessRateLimiter, RateLimiter, RedisRateLimiter
from tilemud.config import ClusterSettings, RedisSettings
from tilemud.supervisors import ChildContext


async def measure(
    limiter: RateLimiter, *, checks: int, players: int, concurrency: int
) -> dict[str, float]:
    """Run the checks; latency quantiles (µs) and CPU per check (µs)."""
    histogram = HdrHistogram(1, 10_000_000, 3)
    per_task = checks // concurrency

    async def checker(offset: int) -> None:
        for n in range(per_task):
            key = f"place:p{(offset + n * concurrency) % players}"
            started = time.perf_counter()
            await limiter.acquire(key)
            histogram.record_value(max(1, round((time.perf_counter() - started) * 1e6)))

    cpu, wall = time.process_time(), time.perf_counter()
    async with trio.open_nursery() as nursery:
        for offset in range(concurrency):
            nursery.start_soon(checker, offset)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = per_task * concurrency
    return {
        "p50_us": histogram.get_value_at_percentile(50),
        "p99_us": histogram.get_value_at_percentile(99),
        "max_us": histogram.get_max_value(),
        "cpu_us_per_check": cpu / done * 1e6,
        "checks_per_s": done / wall,
    }


async def measure_paced(
    limiter: RateLimiter, *, players: int, rate: float, seconds: float
) -> dict[str, float]:
    """epic-300's pattern: each player checks ``rate`` times a second, at its own phase
    (``players * rate`` checks a second in all); latency quantiles and CPU per check."""
    histogram = HdrHistogram(1, 10_000_000, 3)
    interval = 1 / rate
    done = 0

    async def player(index: int) -> None:
        nonlocal done
        await trio.sleep(interval * index / players)
        deadline = trio.current_time() + seconds
        next_at = trio.current_time()
        while next_at < deadline:
            started = time.perf_counter()
            await limiter.acquire(f"place:p{index}")
            histogram.record_value(max(1, round((time.perf_counter() - started) * 1e6)))
            done += 1
            next_at += interval
            await trio.sleep_until(next_at)

    cpu = time.process_time()
    async with trio.open_nursery() as nursery:
        for index in range(players):
            nursery.start_soon(player, index)
    cpu = time.process_time() - cpu
    return {
        "p50_us": histogram.get_value_at_percentile(50),
        "p99_us": histogram.get_value_at_percentile(99),
        "max_us": histogram.get_value_at_percentile(100),
        "cpu_us_per_check": cpu / done * 1e6,
        "checks": done,
    }


async def run(args: argparse.Namespace) -> None:
    prefix = f"tilemud_bench_limits_{secrets.token_hex(4)}"
    settings = RedisSettings(url=args.redis_url, key_prefix=prefix)
    cluster = ClusterLink(settings, ClusterSettings(node_id="bench"))
    stopping = trio.Event()

    async def link(*, task_status: trio.TaskStatus[None]) -> None:
        await cluster.run(ChildContext("cluster", task_status=task_status, stopping=stopping))

    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(link)
            limiters: dict[str, RateLimiter] = {
                "in-process": InProcessRateLimiter(limit=60, window=10),
                "redis": RedisRateLimiter(cluster, name="actions", limit=60, window=10),
            }
            for name, limiter in limiters.items():
                await measure(limiter, checks=1000, players=args.players, concurrency=1)  # warm
                for concurrency in args.concurrency:
                    figures = await measure(
                        limiter,
                        checks=args.checks,
                        players=args.players,
                        concurrency=concurrency,
                    )
                    shown = "  ".join(f"{k} {v:,.1f}" for k, v in figures.items())
                    print(f"{name:>10}  concurrency {concurrency:>3}  {shown}", flush=True)
                if args.paced_seconds > 0:
                    figures = await measure_paced(
                        limiter, players=args.players, rate=args.rate, seconds=args.paced_seconds
                    )
                    shown = "  ".join(f"{k} {v:,.1f}" for k, v in figures.items())
                    paced = f"{args.players} x {args.rate:g}/s"
                    print(f"{name:>10}  paced {paced}  {shown}", flush=True)
            stopping.set()
    finally:
        delete_keys(args.redis_url, prefix + ":*")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=20_000)
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--rate", type=float, default=2.0, help="checks a second per player")
    parser.add_argument("--paced-seconds", type=float, default=20.0)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    trio.run(run, parser.parse_args(argv))


if __name__ == "__main__":
    main()
