"""StallWatch: full at high water, counted as full until low water, stalled after a while."""

from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from tilemud.actors.session._stall import StallWatch


async def test_hysteresis_between_the_marks(autojump_clock: trio.testing.MockClock) -> None:
    watch = StallWatch(high_water=4, low_water=2, slow_after=10)
    observed = []
    for level in (3, 4, 3, 2, 3):  # up to high water, then down to low water, then between
        watch.update(level)
        observed.append(watch.full)
    assert observed == [False, True, True, False, False]
    assert watch.full_since is None
    watch.update(4)
    assert watch.full_since == trio.current_time()


async def test_stalled_after_slow_after_seconds(autojump_clock: trio.testing.MockClock) -> None:
    watch = StallWatch(high_water=1, low_water=0, slow_after=7)
    await trio.sleep(3)
    watch.update(1)
    with trio.fail_after(60):
        await watch.wait_stalled()
    assert trio.current_time() == 10


async def test_a_break_restarts_the_clock(autojump_clock: trio.testing.MockClock) -> None:
    watch = StallWatch(high_water=2, low_water=0, slow_after=10)
    stalled_at: list[float] = []

    async def wait() -> None:
        await watch.wait_stalled()
        stalled_at.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait)
        watch.update(2)  # full at t=0
        await trio.sleep(5)
        watch.update(0)  # drained ...
        watch.update(2)  # ... and full again in the same instant: a new period
        await trio.sleep(9)
        assert stalled_at == []
    assert stalled_at == [15]


async def test_clear_forgets_the_period(autojump_clock: trio.testing.MockClock) -> None:
    watch = StallWatch(high_water=2, low_water=1, slow_after=10)
    watch.update(2)
    await trio.sleep(9)
    watch.clear()
    assert not watch.full
    with trio.move_on_after(30) as scope:
        await watch.wait_stalled()
    assert scope.cancelled_caught
    watch.update(5)
    with trio.fail_after(11):
        await watch.wait_stalled()


async def test_several_waiters_all_return(autojump_clock: trio.testing.MockClock) -> None:
    watch = StallWatch(high_water=1, low_water=0, slow_after=2)
    done: list[int] = []

    async def wait(n: int) -> None:
        await watch.wait_stalled()
        done.append(n)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait, 1)
        nursery.start_soon(wait, 2)
        await trio.sleep(1)
        watch.update(1)
    assert sorted(done) == [1, 2]
    assert trio.current_time() == 3


@pytest.mark.parametrize(
    ("high_water", "low_water", "slow_after"),
    [(0, 0, 1.0), (2, 2, 1.0), (2, -1, 1.0), (2, 1, -1.0)],
)
def test_rejects_bad_marks(high_water: int, low_water: int, slow_after: float) -> None:
    with pytest.raises(ValueError, match="must"):
        StallWatch(high_water=high_water, low_water=low_water, slow_after=slow_after)


async def test_stalled_at_the_end_of_time_is_full_now(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Connection.backlog_full asks the stream so: the gateway's survey for suspects.
    watch = StallWatch(high_water=2, low_water=0, slow_after=10)
    for level in (1, 2, 1, 0, 2):
        watch.update(level)
        assert watch.stalled(math.inf) == watch.full
