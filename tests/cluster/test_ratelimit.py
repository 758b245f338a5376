"""InProcessRateLimiter: a sliding window log per key on Trio time."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tilemud.cluster import InProcessRateLimiter, RateLimiter


def as_protocol(limiter: InProcessRateLimiter) -> RateLimiter:
    return limiter  # type-checks that the in-process one satisfies the Protocol


async def test_exactly_limit_allowed_then_retry_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = as_protocol(InProcessRateLimiter(limit=3, window=10))
    for _ in range(3):
        assert await limiter.acquire("p1") is None
        await trio.sleep(1)
    # Events at t=0, 1, 2; now t=3: the one at t=0 leaves the window at t=10.
    assert await limiter.acquire("p1") == pytest.approx(7)
    assert await limiter.acquire("p1") == pytest.approx(7)  # refusals are not counted


async def test_slots_free_one_by_one_as_events_leave_the_window(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = InProcessRateLimiter(limit=3, window=10)
    for _ in range(3):
        assert await limiter.acquire("p1") is None
        await trio.sleep(2)  # events at t=0, 2, 4
    await trio.sleep_until(9.999)
    assert await limiter.acquire("p1") == pytest.approx(0.001)
    await trio.sleep_until(10)
    assert await limiter.acquire("p1") is None  # the t=0 event left: one slot, now taken
    assert await limiter.acquire("p1") == pytest.approx(2)  # next to leave: t=2 at t=12
    await trio.sleep_until(12)
    assert await limiter.acquire("p1") is None
    assert await limiter.acquire("p1") == pytest.approx(2)  # then t=4 at t=14


async def test_never_more_than_limit_in_any_window(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = InProcessRateLimiter(limit=5, window=1)
    accepted: list[float] = []
    for _ in range(200):
        if await limiter.acquire("k") is None:
            accepted.append(trio.current_time())
        await trio.sleep(0.07)
    assert len(accepted) > 5
    for i, start in enumerate(accepted):
        assert sum(1 for t in accepted[i:] if t < start + 1) <= 5


async def test_keys_are_independent() -> None:
    limiter = InProcessRateLimiter(limit=1, window=60)
    assert await limiter.acquire("place:p1") is None
    assert await limiter.acquire("place:p1") is not None
    assert await limiter.acquire("place:p2") is None
    assert await limiter.acquire("login:p1") is None


async def test_idle_keys_are_forgotten(autojump_clock: trio.testing.MockClock) -> None:
    limiter = InProcessRateLimiter(limit=2, window=5)
    for n in range(100):
        await limiter.acquire(f"player-{n}")
    await limiter.acquire("player-0")  # refreshed: last event at t=0 ...
    await trio.sleep(3)
    await limiter.acquire("player-1")  # ... and t=3
    assert limiter.keys == 100
    await trio.sleep(2)
    await limiter.acquire("late")
    assert limiter.keys == 2  # player-1 (t=3) and late; everything from t=0 is gone
    await trio.sleep(5)
    await limiter.acquire("late")
    assert limiter.keys == 1


async def test_a_refused_key_is_not_forgotten_early(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limiter = InProcessRateLimiter(limit=1, window=5)
    assert await limiter.acquire("k") is None
    await trio.sleep(4)
    assert await limiter.acquire("k") == pytest.approx(1)
    await trio.sleep(0.5)
    await limiter.acquire("other")
    assert await limiter.acquire("k") == pytest.approx(0.5)


async def test_cancelled_acquire_counts_nothing() -> None:
    limiter = InProcessRateLimiter(limit=1, window=60)
    with trio.CancelScope() as scope:
        scope.cancel()
        await limiter.acquire("k")
    assert await limiter.acquire("k") is None


@pytest.mark.parametrize(("limit", "window"), [(0, 1), (1, 0), (1, -1)])
def test_rejects_bad_settings(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must"):
        InProcessRateLimiter(limit=limit, window=window)


async def test_events_are_judged_when_they_happened(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Frames read 0.6 s apart but handled together (a busy server) are not a burst."""
    read_at = [0.0, 0.6, 1.2]
    await trio.sleep(1.3)  # all three are handled now
    judged_late = InProcessRateLimiter(limit=2, window=1.0)
    assert [await judged_late.acquire("p") for _ in read_at][2] is not None
    judged_when_read = InProcessRateLimiter(limit=2, window=1.0)
    assert [await judged_when_read.acquire("p", at=t) for t in read_at] == [None] * 3
    # ... and the limit still holds for frames read together, and never from the future.
    assert await judged_when_read.acquire("p", at=1.2) is not None
    assert await judged_when_read.acquire("p", at=60.0) is not None
