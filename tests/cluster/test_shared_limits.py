"""RedisRateLimiter: the sliding window log shared by nodes, on the machine's Redis.

Real clock (a fail_after around Redis under autojump expires at once); windows are short
and every assertion is about counts and order, never about how long something took.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import pytest
import trio

from tests.storage.proxy import TcpProxy
from tilemud.cluster import ClusterLink, RateLimiter, RedisRateLimiter
from tilemud.config import ClusterSettings, RedisSettings
from tilemud.supervisors import ChildContext

BOUND = 20


@asynccontextmanager
async def linked(settings: RedisSettings, name: str) -> AsyncIterator[ClusterLink]:
    """A node's cluster link, run as the tree runs it."""
    cluster = ClusterLink(settings, ClusterSettings(node_id=name))
    stopping = trio.Event()

    async def run(*, task_status: trio.TaskStatus[None]) -> None:
        await cluster.run(ChildContext("cluster", task_status=task_status, stopping=stopping))

    async with trio.open_nursery() as nursery:
        await nursery.start(run)
        yield cluster
        stopping.set()


def available(cluster: ClusterLink) -> bool:
    return cluster.link.available


def as_protocol(limiter: RedisRateLimiter) -> RateLimiter:
    return limiter  # type-checks that the Redis one satisfies the Protocol


async def test_exactly_limit_allowed_then_refused_with_retry_after(
    redis_settings: RedisSettings,
) -> None:
    with trio.fail_after(BOUND):
        async with linked(redis_settings, "a") as cluster:
            limiter = as_protocol(RedisRateLimiter(cluster, name="chat", limit=3, window=30))
            assert [await limiter.acquire("p1") for _ in range(3)] == [None] * 3
            refused: list[float] = []
            for _ in range(5):
                retry_after = await limiter.acquire("p1")
                assert retry_after is not None
                assert 0 < retry_after <= 30
                refused.append(retry_after)
            # Refusals are not counted: each still waits for the first event to leave.
            assert refused == sorted(refused, reverse=True)
            assert await limiter.acquire("p2") is None  # keys are independent
            other = RedisRateLimiter(cluster, name="actions", limit=1, window=30)
            assert await other.acquire("p1") is None  # ... and so are limits' names
            key = cluster.link.key("limit", "chat", "p1")
            assert await cluster.link.client.zcard(key) == 3


async def test_a_slot_frees_after_retry_after(redis_settings: RedisSettings) -> None:
    with trio.fail_after(BOUND):
        async with linked(redis_settings, "a") as cluster:
            limiter = RedisRateLimiter(cluster, name="chat", limit=2, window=1.0)
            assert await limiter.acquire("p1") is None
            await trio.sleep(0.5)  # the second event leaves half a window after the first
            assert await limiter.acquire("p1") is None
            retry_after = await limiter.acquire("p1")
            assert retry_after is not None
            assert 0 < retry_after <= 0.5
            await trio.sleep(retry_after)
            assert await limiter.acquire("p1") is None  # the first event left the window
            assert await limiter.acquire("p1") is not None  # only one slot freed


async def test_two_nodes_share_the_window_and_never_both_take_the_last_slot(
    redis_settings: RedisSettings,
) -> None:
    allowed: list[str] = []
    refused: list[str] = []
    with trio.fail_after(BOUND):
        async with linked(redis_settings, "a") as a, linked(redis_settings, "b") as b:
            limiters = {
                "a": RedisRateLimiter(a, name="chat", limit=7, window=60),
                "b": RedisRateLimiter(b, name="chat", limit=7, window=60),
            }

            async def check(node: str) -> None:
                if await limiters[node].acquire("shared") is None:
                    allowed.append(node)
                else:
                    refused.append(node)

            for _ in range(5):
                async with trio.open_nursery() as nursery:
                    for n in range(8):
                        nursery.start_soon(check, "ab"[n % 2])
    assert len(allowed) == 7
    assert len(refused) == 40 - 7
    assert set(allowed) == {"a", "b"}  # both nodes took from the one window
    # Checks that came during a round trip went together in the next one.
    assert limiters["a"].flights < 20
    assert limiters["b"].flights < 20


async def test_a_check_cancelled_while_it_waits_leaves_the_others_whole(
    redis_settings: RedisSettings,
) -> None:
    answers: list[float | None] = []
    with trio.fail_after(BOUND):
        async with linked(redis_settings, "a") as cluster:
            limiter = RedisRateLimiter(cluster, name="chat", limit=3, window=60)

            async def check() -> None:
                answers.append(await limiter.acquire("p1"))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(check)  # flies at once
                with trio.CancelScope() as doomed:
                    doomed.cancel()  # waits for the next flight, and is cancelled
                    await limiter.acquire("p1")
                for _ in range(4):
                    nursery.start_soon(check)
            assert sorted(answers, key=lambda a: a or 0)[:3] == [None] * 3
            assert sum(1 for a in answers if a is None) == 3
            key = cluster.link.key("limit", "chat", "p1")
            assert await cluster.link.client.zcard(key) == 3  # the cancelled one never counted


async def test_an_idle_key_expires(redis_settings: RedisSettings) -> None:
    with trio.fail_after(BOUND):
        async with linked(redis_settings, "a") as cluster:
            limiter = RedisRateLimiter(cluster, name="reports", limit=5, window=0.3)
            assert await limiter.acquire("p1") is None
            key = cluster.link.key("limit", "reports", "p1")
            ttl = await cluster.link.client.pttl(key)
            assert 0 < ttl <= 300
            await trio.sleep(0.35)
            assert await cluster.link.client.exists([key]) == 0  # nothing to purge


async def test_during_an_outage_the_node_limits_alone_then_shares_again(
    redis_settings: RedisSettings,
) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            cut = attrs.evolve(
                redis_settings, url=f"redis://127.0.0.1:{port}/0", command_timeout=0.5
            )
            async with linked(cut, "near") as near, linked(redis_settings, "far") as far:
                near_limit = RedisRateLimiter(near, name="chat", limit=3, window=60)
                far_limit = RedisRateLimiter(far, name="chat", limit=3, window=60)
                assert await near_limit.acquire("p1") is None
                assert await far_limit.acquire("p1") is None
                proxy.cut()
                # No refusal for the outage itself: the node's own window decides.
                assert [await near_limit.acquire("p1") for _ in range(3)] == [None] * 3
                assert await near_limit.acquire("p1") is not None  # still limited
                assert near_limit.fallbacks == 4
                assert not near.link.available
                await proxy.restore()
                answer: float | None
                # Back on the shared window: p1 has 2 events there, so one slot is left.
                while True:
                    answer = await near_limit.acquire("p1")
                    if available(near):
                        break
                assert answer is None
                assert await far_limit.acquire("p1") is not None
            nursery.cancel_scope.cancel()


def test_bad_limits_are_refused() -> None:
    cluster = ClusterLink(RedisSettings(url="redis://127.0.0.1:1/0"), ClusterSettings())
    with pytest.raises(ValueError, match="limit"):
        RedisRateLimiter(cluster, name="x", limit=0, window=1)
    with pytest.raises(ValueError, match="window"):
        RedisRateLimiter(cluster, name="x", limit=1, window=0)
