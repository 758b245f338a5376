"""Mailbox and Ref: bounded, policy-driven sends and one-shot asks."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

from tilemud.errors import ActorGone, MailboxFull
from tilemud.mailbox import Mailbox, Overflow, Reply, open_mailbox


@attrs.frozen
class Double:
    value: int
    reply: Reply[int]


async def doubler(inbox: trio.MemoryReceiveChannel[Double]) -> None:
    async for request in inbox:
        request.reply.send(request.value * 2)


async def test_ask_gets_the_answer() -> None:
    box: Mailbox[Double] = open_mailbox("doubler", 4, Overflow.BLOCK)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(doubler, box.inbox)
        with trio.fail_after(1):
            assert await box.ref.ask(lambda reply: Double(21, reply)) == 42
        nursery.cancel_scope.cancel()


async def test_block_policy_waits_for_room(autojump_clock: trio.testing.MockClock) -> None:
    box: Mailbox[int] = open_mailbox("slow", 1, Overflow.BLOCK)
    await box.ref.send(1)
    with trio.move_on_after(5) as scope:
        await box.ref.send(2)
    assert scope.cancelled_caught
    assert await box.inbox.receive() == 1
    with trio.fail_after(1):
        await box.ref.send(2)


async def test_reject_policy_raises_at_once() -> None:
    box: Mailbox[int] = open_mailbox("busy", 2, Overflow.REJECT)
    await box.ref.send(1)
    await box.ref.send(2)
    with pytest.raises(MailboxFull):
        await box.ref.send(3)
    assert box.ref.try_send(3) is False


async def test_try_send_never_waits() -> None:
    box: Mailbox[int] = open_mailbox("x", 1, Overflow.BLOCK)
    assert box.ref.try_send(1) is True
    assert box.ref.try_send(2) is False


async def test_has_room_says_whether_try_send_would_take_a_message() -> None:
    box: Mailbox[int] = open_mailbox("x", 2, Overflow.BLOCK)
    room = []
    for message in (1, 2, 3):
        room.append(box.ref.has_room)
        assert box.ref.try_send(message) is room[-1]
    assert room == [True, True, False]
    assert box.inbox.receive_nowait() == 1
    room.append(box.ref.has_room)
    box.inbox.close()
    room.append(box.ref.has_room)  # closed: try_send would raise ActorGone
    assert room[3:] == [True, False]


def room_by_statistics(box: Mailbox[int]) -> bool:
    """What has_room said when it read trio's statistics() (it reads the state now)."""
    stats = box.ref._send_channel.statistics()
    return stats.open_receive_channels > 0 and (
        stats.current_buffer_used < stats.max_buffer_size or stats.tasks_waiting_receive > 0
    )


async def test_has_room_agrees_with_the_channels_statistics() -> None:
    box: Mailbox[int] = open_mailbox("x", 1, Overflow.BLOCK)
    seen = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(box.inbox.receive)  # a receiver waiting on the empty mailbox
        await trio.testing.wait_all_tasks_blocked()
        seen.append((box.ref.has_room, room_by_statistics(box)))
        box.ref.try_send(1)  # to the waiting receiver
    for message in (2, 3):
        seen.append((box.ref.has_room, room_by_statistics(box)))
        box.ref.try_send(message)
    box.inbox.close()
    seen.append((box.ref.has_room, room_by_statistics(box)))
    assert seen == [(True, True), (True, True), (False, False), (False, False)]


async def test_closed_mailbox_means_actor_gone() -> None:
    box: Mailbox[int] = open_mailbox("gone", 1, Overflow.BLOCK)
    box.close()
    with pytest.raises(ActorGone):
        await box.ref.send(1)
    with pytest.raises(ActorGone):
        box.ref.try_send(1)


async def test_request_dropped_unanswered_is_actor_gone() -> None:
    box: Mailbox[Double] = open_mailbox("dropper", 1, Overflow.BLOCK)

    async def drop_one() -> None:
        request = await box.inbox.receive()
        request.reply.drop()  # the actor will not answer

    async with trio.open_nursery() as nursery:
        nursery.start_soon(drop_one)
        with pytest.raises(ActorGone):
            await box.ref.ask(lambda reply: Double(1, reply))


async def test_late_answer_to_a_caller_that_gave_up_is_dropped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    box: Mailbox[Double] = open_mailbox("late", 1, Overflow.BLOCK)
    with trio.move_on_after(1):
        await box.ref.ask(lambda reply: Double(1, reply))
    request = await box.inbox.receive()
    request.reply.send(2)  # must neither block nor raise
    request.reply.send(3)  # a second answer is ignored too


def test_mailbox_must_be_bounded() -> None:
    with pytest.raises(ValueError, match="at least one"):
        open_mailbox("x", 0, Overflow.BLOCK)


async def test_a_reply_slot_keeps_the_first_answer_given_before_or_during_the_wait() -> None:
    early: Reply[int] = Reply()
    with pytest.raises(LookupError):
        _ = early.value
    early.send(1)
    early.send(2)  # ignored
    assert (early.answered, await early.wait()) == (True, 1)
    waited: Reply[int] = Reply()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.lowlevel.checkpoint)
        nursery.start_soon(lambda: _answer_soon(waited))
        assert await waited.wait() == 3
    dropped: Reply[int] = Reply()
    dropped.drop()
    dropped.send(4)  # too late: the asker was told
    with pytest.raises(ActorGone):
        await dropped.wait()


async def _answer_soon(reply: Reply[int]) -> None:
    await trio.lowlevel.checkpoint()
    reply.send(3)


async def test_arrived_hears_each_message_once_it_is_in(
    autojump_clock: trio.testing.MockClock,
) -> None:
    heard: list[tuple[int, int]] = []
    box: Mailbox[int] = open_mailbox(
        "bell",
        2,
        Overflow.BLOCK,
        arrived=lambda m: heard.append((m, box.inbox.statistics().current_buffer_used)),
    )
    assert box.ref.try_send(1) is True
    await box.ref.send(2)
    assert box.ref.try_send(3) is False  # full: not in, not heard
    assert heard == [(1, 1), (2, 2)]  # each heard once it waits in the mailbox
    async with trio.open_nursery() as nursery:
        nursery.start_soon(box.ref.send, 4)  # waits for room
        await trio.sleep(1)
        assert heard == [(1, 1), (2, 2)]
        assert await box.inbox.receive() == 1
        await trio.sleep(1)
    assert heard == [(1, 1), (2, 2), (4, 2)]
    assert [await box.inbox.receive() for _ in range(2)] == [2, 4]
