"""SessionStream: numbered frames, cumulative acks, resumes, snapshots, drops and stalls."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing

from tilemud.actors.session._stream import InvalidAck, SessionStream
from tilemud.errors import TilemudError


def stamp(body: str, seq: int) -> str:
    """What ``tilemud.protocol.stamp`` does: splice ``"seq":N`` into a JSON object."""
    return f'{{"seq":{seq},' + body[1:]


def body(n: int) -> str:
    return f'{{"n":{n}}}'


def seqs(frames: list[str]) -> list[int]:
    return [json.loads(frame)["seq"] for frame in frames]


def drain(stream: SessionStream[str]) -> list[str]:
    frames = []
    while (frame := stream.next_ready()) is not None:
        frames.append(frame)
    return frames


def attached_stream(capacity: int = 8, slow_after: float = 10) -> SessionStream[str]:
    stream = SessionStream(capacity=capacity, stamp=stamp, slow_after=slow_after)
    assert stream.attach(0)  # nothing published yet: nothing to miss
    return stream


async def test_seqs_are_contiguous_from_one() -> None:
    stream = attached_stream()
    assert [stream.publish(body(n)) for n in range(5)] == [1, 2, 3, 4, 5]
    frames = drain(stream)
    assert frames[0] == '{"seq":1,"n":0}'
    assert seqs(frames) == [1, 2, 3, 4, 5]
    assert stream.cursor == stream.last_seq == 5
    assert stream.unsent == 0


async def test_resume_resends_what_came_after_last_seq_once_in_order() -> None:
    stream = attached_stream()
    for n in range(6):
        stream.publish(body(n))
    assert seqs(drain(stream)) == [1, 2, 3, 4, 5, 6]
    stream.ack(2)
    stream.detach()  # the client only really received up to 4
    stream.publish(body(6))
    stream.publish(body(7))
    assert stream.next_ready() is None  # nothing is handed out while detached
    assert stream.attach(4)
    assert stream.acked == 4
    assert seqs(drain(stream)) == [5, 6, 7, 8]
    assert drain(stream) == []
    assert stream.dropped == 0
    assert not stream.needs_snapshot


async def test_resume_from_an_evicted_position_needs_a_snapshot() -> None:
    stream = attached_stream(capacity=3)
    for n in range(5):
        stream.publish(body(n))
        stream.next_ready()
    # Frames 1 and 2 were handed out then evicted: normal, not a drop.
    assert (stream.retained, stream.dropped, stream.needs_snapshot) == (3, 0, False)
    stream.detach()
    assert stream.attach(1) is False
    assert stream.needs_snapshot
    assert stream.next_ready() is None  # a snapshot is owed: nothing else goes out
    assert stream.reset('{"snapshot":true}') == 6
    assert (stream.needs_snapshot, stream.retained) == (False, 1)
    assert drain(stream) == ['{"seq":6,"snapshot":true}']


async def test_attach_without_a_position_needs_a_snapshot() -> None:
    stream = SessionStream(capacity=4, stamp=stamp, slow_after=10)
    stream.publish(body(0))
    assert stream.attach(None) is False
    assert stream.needs_snapshot
    stream.reset(body(99))
    assert seqs(drain(stream)) == [2]


@pytest.mark.parametrize("last_seq", [3, -1])
async def test_attach_beyond_what_was_published_fails(last_seq: int) -> None:
    stream = SessionStream(capacity=4, stamp=stamp, slow_after=10)
    stream.publish(body(0))
    stream.publish(body(1))
    assert stream.attach(last_seq) is False
    assert stream.needs_snapshot


async def test_a_retained_snapshot_covers_an_older_position() -> None:
    stream = attached_stream(capacity=4)
    for n in range(3):
        stream.publish(body(n))
    assert seqs(drain(stream)) == [1, 2, 3]
    stream.detach()
    snapshot_seq = stream.reset('{"snapshot":1}')  # e.g. the arena restarted meanwhile
    stream.publish(body(10))
    assert stream.attach(2)  # frames 3..4 are gone, but the snapshot supersedes them
    assert seqs(drain(stream)) == [snapshot_seq, snapshot_seq + 1]


async def test_dropped_counts_only_frames_never_handed_out() -> None:
    stream = attached_stream(capacity=2)
    stream.publish(body(1))
    stream.publish(body(2))
    assert stream.next_ready() is not None  # 1 handed out
    stream.publish(body(3))  # evicts 1: handed out, fine
    assert (stream.dropped, stream.needs_snapshot) == (0, False)
    stream.publish(body(4))  # evicts 2: never handed out
    assert (stream.dropped, stream.needs_snapshot) == (1, True)
    assert stream.next_ready() is None
    stream.reset(body(5))
    assert stream.dropped == 1
    assert seqs(drain(stream)) == [5]


async def test_evicting_a_frame_handed_out_on_an_old_connection_is_a_gap_not_a_drop() -> None:
    stream = attached_stream(capacity=3)
    for n in range(3):
        stream.publish(body(n))
    drain(stream)
    stream.detach()
    assert stream.attach(1)  # the client lost 2 and 3 in flight
    assert stream.unsent == 2
    stream.publish(body(3))  # evicts 1 (received)
    stream.publish(body(4))  # evicts 2: unsent to this client, but it was handed out once
    assert stream.needs_snapshot
    assert stream.dropped == 0


async def test_acks_are_cumulative_and_idempotent() -> None:
    stream = attached_stream()
    for n in range(4):
        stream.publish(body(n))
    drain(stream)
    stream.ack(3)
    assert (stream.acked, stream.retained) == (3, 1)
    stream.ack(3)
    stream.ack(1)  # below the current ack: ignored
    assert (stream.acked, stream.retained) == (3, 1)
    stream.ack(4)
    assert (stream.acked, stream.retained) == (4, 0)


async def test_acking_what_was_never_sent_is_invalid() -> None:
    stream = attached_stream()
    stream.publish(body(0))
    stream.publish(body(1))
    stream.next_ready()
    with pytest.raises(InvalidAck) as raised:
        stream.ack(2)
    assert isinstance(raised.value, TilemudError)
    assert raised.value.code == "invalid_ack"
    assert stream.acked == 0


async def test_acks_free_room_so_nothing_is_evicted() -> None:
    stream = attached_stream(capacity=2)
    for n in range(10):
        stream.publish(body(n))
        stream.ack(json.loads(stream.next_ready() or "{}")["seq"])
    assert stream.retained == 0
    assert stream.dropped == 0


async def test_bodies_are_shared_across_streams() -> None:
    stamped: list[tuple[str, int]] = []

    def recording_stamp(body: str, seq: int) -> str:
        stamped.append((body, seq))
        return stamp(body, seq)

    streams = [SessionStream(capacity=4, stamp=recording_stamp, slow_after=10) for _ in "ab"]
    tick = "".join(['{"tick":', "7}"])  # built at run time: not an interned literal
    for stream in streams:
        assert stream.attach(0)
        stream.publish("{}")
        stream.publish(tick)
        drain(stream)
    assert [seq for _, seq in stamped] == [1, 2, 1, 2]
    assert stamped[1][0] is tick
    assert stamped[3][0] is tick


async def test_next_frame_waits_for_a_publish(autojump_clock: trio.testing.MockClock) -> None:
    stream = attached_stream()
    got: list[str] = []

    async def writer() -> None:
        got.append(await stream.next_frame())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.sleep(1)
        assert got == []
        stream.publish(body(1))
    assert seqs(got) == [1]
    stream.publish(body(2))
    with trio.fail_after(1):
        assert seqs([await stream.next_frame()]) == [2]


async def test_next_frame_waits_for_the_snapshot(autojump_clock: trio.testing.MockClock) -> None:
    stream = SessionStream(capacity=4, stamp=stamp, slow_after=10)
    assert not stream.attach(None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(stream.next_frame)
        await trio.sleep(1)
        stream.reset(body(0))
    assert stream.cursor == 1


async def test_detach_ends_the_old_connection_s_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream = attached_stream()
    with pytest.RaisesGroup(trio.ClosedResourceError):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.next_frame)
            await trio.sleep(1)
            stream.detach()
    with pytest.raises(trio.ClosedResourceError):
        await stream.next_frame()


async def test_a_new_attach_ends_the_old_connection_s_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream = attached_stream()
    with pytest.RaisesGroup(trio.ClosedResourceError):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream.next_frame)
            await trio.sleep(1)
            assert stream.attach(0)
    stream.publish(body(1))
    assert stream.next_ready() is not None


async def test_stalled_when_unsent_frames_stay_at_high_water(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream = SessionStream(capacity=8, stamp=stamp, slow_after=10, high_water=4)
    assert stream.attach(0)
    stalled_at: list[float] = []

    async def watch() -> None:
        await stream.wait_stalled()
        stalled_at.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        for n in range(4):
            stream.publish(body(n))  # 4 unsent at t=0
        await trio.sleep(5)
        drain(stream)  # caught up: the clock restarts
        await trio.sleep(10)
        assert stalled_at == []
        for n in range(4):
            stream.publish(body(n))  # behind again at t=15
        await trio.sleep(1)
        stream.next_ready()  # reading a trickle does not help
        await trio.sleep(20)
    assert stalled_at == [25]


async def test_not_watched_while_detached(autojump_clock: trio.testing.MockClock) -> None:
    stream = SessionStream(capacity=2, stamp=stamp, slow_after=10)
    for n in range(5):
        stream.publish(body(n))
    with trio.move_on_after(60) as scope:
        await stream.wait_stalled()
    assert scope.cancelled_caught
    assert not stream.attach(None)
    stream.reset(body(9))
    stream.publish(body(10))  # two unsent from now on
    start = trio.current_time()
    with trio.fail_after(11):
        await stream.wait_stalled()
    assert trio.current_time() - start == 10


@pytest.mark.parametrize(("capacity", "high_water"), [(0, None), (4, 5), (4, 0)])
def test_rejects_bad_sizes(capacity: int, high_water: int | None) -> None:
    with pytest.raises(ValueError, match="must"):
        SessionStream(capacity=capacity, stamp=stamp, slow_after=1, high_water=high_water)
