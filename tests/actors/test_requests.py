"""RequestLog: at most once per rid, the same answer to repeats, for a window of Trio time."""

from __future__ import annotations

import gc

import pytest
import trio
import trio.testing

from tilemud.actors.session._answers import BLOCK_ANSWERS
from tilemud.actors.session._critical import (
    Answered,
    Fresh,
    Pending,
    RequestLog,
    TooManyPending,
)
from tilemud.errors import TilemudError


async def test_fresh_then_pending_then_answered() -> None:
    log = RequestLog(window=120, max_entries=8)
    assert log.begin("r1") == Fresh()
    assert log.begin("r1") == Pending()
    assert (log.pending, log.answered) == (1, 0)
    log.finish("r1", '{"ok":1}')
    assert log.begin("r1") == Answered(frame='{"ok":1}')
    assert (log.pending, log.answered) == (0, 1)


async def test_every_repeat_gets_the_first_answer() -> None:
    log = RequestLog(window=120, max_entries=8)
    log.begin("r1")
    answer = "".join(['{"result":', '"placed"}'])
    log.finish("r1", answer)
    for _ in range(3):
        seen = log.begin("r1")
        assert isinstance(seen, Answered)
        assert seen.frame == answer
    assert log.begin("r2") == Fresh()  # other rids are independent


async def test_answer_expires_exactly_window_after_finish(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = RequestLog(window=120, max_entries=8)
    log.begin("r1")
    await trio.sleep(30)  # the time spent applying does not count
    log.finish("r1", "a")
    finished_at = trio.current_time()
    await trio.sleep_until(finished_at + 119.999)
    assert log.begin("r1") == Answered(frame="a")
    await trio.sleep_until(finished_at + 120)
    assert log.begin("r1") == Fresh()  # kept `window` seconds, not a moment longer


async def test_just_after_the_window_it_is_fresh(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = RequestLog(window=120, max_entries=8)
    log.begin("r1")
    log.finish("r1", "a")
    await trio.sleep(120.001)
    assert log.begin("r1") == Fresh()
    assert log.answered == 0


async def test_pending_never_expires_by_time(autojump_clock: trio.testing.MockClock) -> None:
    log = RequestLog(window=1, max_entries=8)
    log.begin("slow")
    await trio.sleep(3600)
    assert log.begin("slow") == Pending()


async def test_abandon_lets_a_retry_through() -> None:
    log = RequestLog(window=120, max_entries=8)
    log.begin("r1")
    log.abandon("r1")
    assert log.pending == 0
    assert log.begin("r1") == Fresh()


async def test_abandon_leaves_answers_and_unknown_rids_alone() -> None:
    log = RequestLog(window=120, max_entries=8)
    log.begin("r1")
    log.finish("r1", "a")
    log.abandon("r1")  # e.g. from a `finally` after finish
    log.abandon("never-seen")
    assert log.begin("r1") == Answered(frame="a")


async def test_the_first_answer_wins() -> None:
    log = RequestLog(window=120, max_entries=8)
    log.begin("r1")
    log.finish("r1", "first")
    log.finish("r1", "second")  # e.g. an arena that restarted and answered again
    assert log.begin("r1") == Answered(frame="first")


async def test_an_answer_to_an_unknown_rid_is_remembered() -> None:
    log = RequestLog(window=120, max_entries=8)
    log.begin("r1")
    log.abandon("r1")
    log.finish("r1", "applied after all")
    log.finish("r2", "never begun")
    assert log.begin("r1") == Answered(frame="applied after all")
    assert log.begin("r2") == Answered(frame="never begun")


async def test_an_unknown_answer_does_not_overfill_a_log_of_pending_requests() -> None:
    log = RequestLog(window=120, max_entries=1)
    log.begin("r1")
    log.finish("r2", "x")
    assert (log.pending, log.answered) == (1, 0)
    assert log.begin("r1") == Pending()


async def test_full_log_evicts_the_oldest_answers_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = RequestLog(window=120, max_entries=3)
    log.begin("pending")
    for rid in ("a", "b"):
        log.begin(rid)
        await trio.sleep(1)
        log.finish(rid, rid.upper())
    assert log.begin("c") == Fresh()  # full: "a", the oldest answer, goes
    assert log.evicted == 1
    assert log.begin("a") == Fresh()  # forgotten; now "b" went
    assert log.evicted == 2
    assert log.begin("pending") == Pending()  # pending entries are never evicted
    assert (log.pending, log.answered) == (3, 0)


async def test_a_log_full_of_pending_requests_refuses_new_ones() -> None:
    log = RequestLog(window=120, max_entries=2)
    log.begin("a")
    log.begin("b")
    with pytest.raises(TooManyPending) as raised:
        log.begin("c")
    assert isinstance(raised.value, TilemudError)
    assert raised.value.code == "overloaded"
    assert log.begin("a") == Pending()  # known rids are still answered
    log.finish("a", "A")
    assert log.begin("c") == Fresh()
    assert log.evicted == 1


async def test_expired_answers_are_pruned_without_lookups(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log = RequestLog(window=10, max_entries=1000)
    for n in range(100):
        log.begin(str(n))
        log.finish(str(n), "x")
    await trio.sleep(10)
    log.begin("new")
    assert (log.answered, log.evicted) == (0, 0)


@pytest.mark.parametrize(("window", "max_entries"), [(0, 1), (-1, 1), (1, 0)])
def test_rejects_bad_settings(window: float, max_entries: int) -> None:
    with pytest.raises(ValueError, match="must"):
        RequestLog(window=window, max_entries=max_entries)


async def test_answers_are_out_of_the_garbage_collectors_sight(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """300 players x 480 answers as tracked objects made each full collection a stall of
    the loop; the answers are kept in blocks (three tracked objects per block)."""
    log = RequestLog(window=240, max_entries=4096)
    gc.collect()
    before = len(gc.get_objects())
    for n in range(2000):
        assert isinstance(log.begin(f"r{n}"), Fresh)
        log.finish(f"r{n}", f'{{"type":"place_result","rid":"r{n}"}}')
    gc.collect()
    # A block and its two arrays per BLOCK_ANSWERS answers, nothing per answer.
    assert len(gc.get_objects()) - before < 3 * (2000 // BLOCK_ANSWERS) + 50
    assert log.begin("r1999") == Answered(frame='{"type":"place_result","rid":"r1999"}')
    await trio.sleep(241)
    assert isinstance(log.begin("r1999"), Fresh)  # expired: forgotten in order
    assert log.answered == 0


async def test_answers_in_packed_blocks_are_found_and_expire_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Blocks of answers are packed once full; a repeat of any rid in them still gets its
    answer, each answer expires `window` after its own finish, and a block goes when its
    last answer has."""
    log = RequestLog(window=100, max_entries=10_000)
    count = 3 * BLOCK_ANSWERS + 5
    for n in range(count):
        assert log.begin(f"r{n}") == Fresh()
        log.finish(f"r{n}", f"answer {n}")
        await trio.sleep(0.1)
    first_expires = trio.current_time() - count * 0.1 + 100
    for n in (0, 1, BLOCK_ANSWERS - 1, BLOCK_ANSWERS, 2 * BLOCK_ANSWERS + 7, count - 1):
        assert log.begin(f"r{n}") == Answered(frame=f"answer {n}")
    assert log.answered == count
    # A log of many blocks: each lookup of an unknown rid is refused by the hashes only.
    assert log.begin("unknown") == Fresh()
    log.abandon("unknown")
    await trio.sleep_until(first_expires + (BLOCK_ANSWERS + 3) * 0.1 - 0.05)
    assert log.begin(f"r{BLOCK_ANSWERS + 2}") == Fresh()  # expired, in the second block
    log.abandon(f"r{BLOCK_ANSWERS + 2}")
    assert log.begin(f"r{BLOCK_ANSWERS + 3}") == Answered(frame=f"answer {BLOCK_ANSWERS + 3}")
    assert log.answered == count - BLOCK_ANSWERS - 3


async def test_the_first_answer_wins_in_a_packed_block() -> None:
    log = RequestLog(window=100, max_entries=10_000)
    for n in range(BLOCK_ANSWERS + 1):
        log.begin(f"r{n}")
        log.finish(f"r{n}", f"first {n}")
    log.finish("r3", "second")  # r3 sits in a packed block now
    assert log.begin("r3") == Answered(frame="first 3")
    assert log.answered == BLOCK_ANSWERS + 1
