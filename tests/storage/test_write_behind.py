"""The write-behind buffer alone: bounded, counted, settled in order. No database."""

from __future__ import annotations

import datetime as dt

import pytest
import trio
import trio.testing

from tilemud.mailbox import Reply
from tilemud.storage import PlacementRecord, StorageUnavailable, TickChecksum
from tilemud.storage._messages import Answer
from tilemud.storage._records import PlayerSeen
from tilemud.storage._write_behind import RowsByKind, WriteBehind, split_rows


def rows(count: int, *, tick: int = 1) -> list[PlacementRecord]:
    return [
        PlacementRecord(arena_id="a", tick=tick, ordinal=i, player_id="p", x=i, y=0, kind="k")
        for i in range(count)
    ]


def reply_slot() -> Reply[Answer]:
    return Reply()


async def test_a_full_buffer_refuses_whole_offers_and_counts_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    buffer = WriteBehind(capacity=5)
    assert buffer.offer(rows(3))
    assert not buffer.offer(rows(3))  # all or nothing: the caller keeps them
    assert buffer.offer(rows(2))
    assert not buffer.offer(rows(1))
    stats = buffer.stats()
    assert (stats.backlog, stats.rows_refused, stats.largest_backlog) == (5, 4, 5)
    assert buffer.offer([])  # nothing to take is never refused


async def test_rows_leave_only_when_settled_oldest_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    buffer = WriteBehind(capacity=100)
    await trio.sleep(7)
    first, second = rows(3, tick=1), rows(2, tick=2)
    buffer.offer(first)
    assert buffer.oldest_at == 7
    buffer.offer(second)
    batch = buffer.peek(4)
    assert batch == [*first, second[0]]
    assert buffer.backlog == 5  # peeking takes nothing
    buffer.settle(4, written=4)
    assert buffer.peek(10) == [second[1]]
    buffer.settle(1, written=0, rejected=1)
    stats = buffer.stats()
    assert (stats.rows_written, stats.rows_rejected, stats.batches) == (4, 1, 1)
    assert (stats.backlog, stats.largest_backlog) == (0, 5)


async def test_a_flush_waiter_is_answered_once_its_rows_are_settled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    buffer = WriteBehind(capacity=100)
    idle = reply_slot()
    buffer.wait_for_flush(idle)
    assert idle.value == Answer()  # nothing buffered: at once

    buffer.offer(rows(3))
    waiter = reply_slot()
    buffer.wait_for_flush(waiter)
    assert buffer.flush_wanted
    buffer.offer(rows(2))  # later rows are not waited for
    buffer.settle(2, written=2)
    assert not waiter.answered
    buffer.settle(1, written=1)
    assert waiter.value == Answer()
    assert not buffer.flush_wanted


async def test_flush_waiters_learn_of_an_outage(autojump_clock: trio.testing.MockClock) -> None:
    buffer = WriteBehind(capacity=100)
    buffer.offer(rows(1))
    waiter = reply_slot()
    buffer.wait_for_flush(waiter)
    down = StorageUnavailable("down", retry_after=0.4)
    buffer.fail_waiters(down)
    assert waiter.value == Answer(error=down)
    assert buffer.backlog == 1


def test_split_rows_keeps_buffer_order() -> None:
    checksum = TickChecksum(arena_id="a", tick=1, checksum="c")
    placed = rows(2)
    seen = PlayerSeen(player_id="p", name="P", seen_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    batch = split_rows([placed[0], seen, checksum, placed[1]])
    assert batch == RowsByKind(placements=placed, checksums=[checksum], players=[seen])


async def test_rows_offered_with_on_durable_ask_for_a_write_and_call_back_once_settled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    buffer = WriteBehind(capacity=10)
    calls: list[str] = []
    first = buffer.offer(rows(2))
    assert first == 2
    second = buffer.offer(rows(3), on_durable=lambda: calls.append("second"))
    assert second == 5
    assert buffer.flush_wanted  # an answer waits on these: write now
    assert buffer.room == 5
    buffer.settle(2, written=2)
    assert (buffer.settled, calls) == (2, [])
    buffer.settle(3, written=3)
    assert (buffer.settled, calls, buffer.flush_wanted) == (5, ["second"], False)
    # An outage fails flush waiters, not the rows that answers wait on.
    buffer.offer(rows(1), on_durable=lambda: calls.append("third"))
    buffer.fail_waiters(StorageUnavailable("down"))
    assert buffer.flush_wanted
    assert buffer.offer(rows(10)) is None  # no room: refused whole
    buffer.settle(1, written=1)
    assert calls == ["second", "third"]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        WriteBehind(capacity=0)
