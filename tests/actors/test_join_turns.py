"""The line of joins (:class:`JoinTurns`): a bound on joins at work, first come first
served, a wait bounded in time, cancelled places skipped. Trio time, ``autojump_clock``."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tilemud.actors.session import JoinTurns, Refused

DEADLINE = 60.0


async def test_at_most_at_once_work_and_the_rest_get_turns_in_arrival_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    turns = JoinTurns(2)
    started: list[int] = []

    async def join(n: int) -> None:
        await turns.take()
        try:
            started.append(n)
            await trio.sleep(1.0)  # the directory's and the arena's asks
        finally:
            turns.give_back()

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            for n in range(7):
                nursery.start_soon(join, n)
                await trio.sleep(0.01)  # arrival order is start order
            await trio.sleep(0.5)
            assert (turns.working, turns.waiting, started) == (2, 5, [0, 1])
    assert started == list(range(7))
    assert (turns.most_at_once, turns.waited, turns.refused) == (2, 5, 0)
    assert (turns.working, turns.waiting) == (0, 0)


async def test_a_join_that_waited_too_long_is_refused_overloaded_and_the_next_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    turns = JoinTurns(1, wait_limit=5.0)
    outcomes: dict[str, str] = {}

    async def join(name: str) -> None:
        try:
            await turns.take()
        except Refused as refused:
            outcomes[name] = f"{refused.code}, retry after {refused.retry_after}"
            return
        outcomes[name] = "joined"
        turns.give_back()

    with trio.fail_after(DEADLINE):
        await turns.take()  # held for 6 s: the first waiter's wait runs out
        async with trio.open_nursery() as nursery:
            nursery.start_soon(join, "early")
            await trio.sleep(2.0)
            nursery.start_soon(join, "later")  # waits 4 s: in time
            await trio.sleep(4.0)
            assert outcomes == {}  # no timer per waiter: aged when a turn comes back
            turns.give_back()
    assert outcomes == {"early": "overloaded, retry after 1.0", "later": "joined"}
    assert (turns.refused, turns.working, turns.waiting) == (1, 0, 0)


async def test_a_join_cancelled_in_line_is_skipped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    turns = JoinTurns(1)
    joined: list[str] = []
    gone = trio.CancelScope()  # the player's connection closes while it waits in line

    async def join(name: str, scope: trio.CancelScope) -> None:
        with scope:
            await turns.take()
            joined.append(name)
            turns.give_back()

    with trio.fail_after(DEADLINE):
        await turns.take()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(join, "gone", gone)
            await trio.sleep(0.1)
            nursery.start_soon(join, "next", trio.CancelScope())
            await trio.sleep(0.1)
            assert turns.waiting == 2
            gone.cancel()
            await trio.sleep(0.1)
            assert turns.waiting == 1
            turns.give_back()
    assert joined == ["next"]
    assert (turns.working, turns.waiting, turns.refused) == (0, 0, 0)
    # Nobody waits now: the next join takes a free turn at once.
    with trio.fail_after(DEADLINE):
        await turns.take()
    assert turns.working == 1


def test_at_least_one_join_at_once() -> None:
    with pytest.raises(ValueError, match="at least one"):
        JoinTurns(0)
