"""nap_until: trio.sleep_until's behaviour, woken without a Cancelled exception."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from tilemud.nap import nap_until


async def test_wakes_at_its_deadline(autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    await nap_until(start + 0.005)
    assert trio.current_time() == pytest.approx(start + 0.005)


async def test_a_deadline_passed_is_still_a_checkpoint() -> None:
    with trio.CancelScope() as scope:
        scope.cancel()
        await nap_until(trio.current_time() - 1)
        pytest.fail("a nap must raise the cancellation of its scope")
    assert scope.cancelled_caught


async def test_is_a_checkpoint(autojump_clock: trio.testing.MockClock) -> None:
    # It yields to the scheduler even when its deadline has passed, as trio.sleep_until.
    with trio.testing.assert_checkpoints():
        await nap_until(trio.current_time())
    with trio.testing.assert_checkpoints():
        await nap_until(trio.current_time() - 1)


async def test_an_enclosing_deadline_ends_it_with_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    with trio.move_on_at(start + 1) as scope:
        await nap_until(start + 10)
        pytest.fail("the enclosing deadline must end the nap")
    assert scope.cancelled_caught
    assert trio.current_time() == pytest.approx(start + 1)


async def test_an_enclosing_cancel_from_another_task_ends_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    napped: list[float] = []

    async def napper() -> None:
        try:
            await nap_until(trio.current_time() + 100)
        finally:
            napped.append(trio.current_time())

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(napper)
        await trio.sleep(3)
        nursery.cancel_scope.cancel()
    assert napped == [pytest.approx(start + 3)]


async def test_the_same_deadline_inside_and_outside_raises(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The arena naps until min(tick end, pause) inside a scope ending at the tick's end.
    end = trio.current_time() + 0.1
    with trio.move_on_at(end) as scope:
        await nap_until(end)
        pytest.fail("the enclosing scope ends at the same time and must be raised")
    assert scope.cancelled_caught


@given(st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=20))
def test_naps_in_a_row_take_as_long_as_sleeps(pauses: list[float]) -> None:
    async def timed(sleep: Callable[[float], Awaitable[None]]) -> list[float]:
        woke = []
        for pause in pauses:
            start = trio.current_time()
            await sleep(start + pause)
            woke.append(trio.current_time() - start)
        return woke

    def run(sleep: Callable[[float], Awaitable[None]]) -> list[float]:
        return trio.run(timed, sleep, clock=trio.testing.MockClock(autojump_threshold=0))

    assert run(nap_until) == pytest.approx(run(trio.sleep_until))
