"""The outbox: replies wait for room, fan-out is dropped and counted, stalls are detected."""

from __future__ import annotations

import trio
import trio.testing

from tilemud.actors.session._outbox import Outbox


async def test_offer_drops_and_counts_when_full() -> None:
    outbox = Outbox(capacity=2, slow_after=10)
    assert outbox.offer("a")
    assert outbox.offer("b")
    assert outbox.offer("c") is False
    assert outbox.dropped == 1
    assert await outbox.take() == "a"
    assert await outbox.take() == "b"


async def test_put_waits_for_room(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox(capacity=1, slow_after=10)
    await outbox.put("a")
    with trio.move_on_after(1) as scope:
        await outbox.put("b")
    assert scope.cancelled_caught
    assert outbox.dropped == 0


async def test_stalled_after_staying_full(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox(capacity=2, slow_after=10)
    outbox.offer("a")
    outbox.offer("b")
    start = trio.current_time()
    with trio.fail_after(60):
        await outbox.wait_stalled()
    assert trio.current_time() - start == 10


async def test_draining_below_half_resets_the_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    outbox = Outbox(capacity=4, slow_after=10)
    stalled_at: list[float] = []

    async def watch() -> None:
        await outbox.wait_stalled()
        stalled_at.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        for frame in "abcd":
            outbox.offer(frame)  # full at t=0
        await trio.sleep(9)
        await outbox.take()
        await outbox.take()  # down to half: no longer counted as full
        await trio.sleep(5)
        assert stalled_at == []
        outbox.offer("e")
        outbox.offer("f")  # full again at t=14
        await trio.sleep(20)
    assert stalled_at == [24]


async def test_reading_a_trickle_does_not_reset_the_clock(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A client that takes one frame now and then, while fan-out refills it, is still slow."""
    outbox = Outbox(capacity=4, slow_after=10)
    for frame in "abcd":
        outbox.offer(frame)
    async with trio.open_nursery() as nursery:

        async def trickle() -> None:
            while True:
                await trio.sleep(1)
                await outbox.take()
                outbox.offer("more")

        nursery.start_soon(trickle)
        with trio.fail_after(11):
            await outbox.wait_stalled()
        nursery.cancel_scope.cancel()
    assert trio.current_time() == 10


async def test_take_nowait_never_waits() -> None:
    outbox = Outbox(capacity=2, slow_after=10)
    assert outbox.take_nowait() is None
    outbox.offer("a")
    assert outbox.take_nowait() == "a"
    assert outbox.take_nowait() is None


async def test_take_nowait_drains_the_stall(autojump_clock: trio.testing.MockClock) -> None:
    outbox = Outbox(capacity=2, slow_after=10)
    outbox.offer("a")
    outbox.offer("b")  # full at t=0
    await trio.sleep(5)
    assert outbox.take_nowait() == "a"  # down to half: the clock stops
    with trio.move_on_after(60) as scope:
        await outbox.wait_stalled()
    assert scope.cancelled_caught


async def test_close_refuses_frames() -> None:
    outbox = Outbox(capacity=2, slow_after=10)
    outbox.offer("a")
    was_closed = outbox.closed
    outbox.close()
    assert (was_closed, outbox.closed) == (False, True)
    assert outbox.offer("b") is False
    assert outbox.take_nowait() is None
