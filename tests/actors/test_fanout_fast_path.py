"""The fan-out's one-step write (``Session.publish`` -> ``Connection.deliver_now`` ->
``SessionStream.publish_now``) against the same publish done piece by piece.

The stream's part is a property over random histories (publishes, acks, resumes, resets,
drops); the connection's part runs real loopback sockets with tiny kernel buffers, so that
writes are cut, and compares every byte each client receives with what a connection that
never takes the one-step write sends. Absolute Trio-time deadlines on the I/O tests.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection as WsprotoConnection
from wsproto.connection import ConnectionType

from tests.wire.test_write_nowait import parse_frames
from tilemud.actors.arena import DirectoryMessage
from tilemud.actors.arena._seats import Seats
from tilemud.actors.session import Session, SessionIdentity, SessionServices
from tilemud.actors.session._connection import Connection
from tilemud.actors.session._framer import StreamFramer, stream_frame
from tilemud.actors.session._seat import SeatLink
from tilemud.actors.session._stream import InvalidAck, SessionStream
from tilemud.cluster import InProcessRateLimiter
from tilemud.config import GatewaySettings
from tilemud.mailbox import Mailbox, Overflow, open_mailbox
from tilemud.metrics import ServerMetrics
from tilemud.protocol import stamp
from tilemud.wire import Limits, WebSocket


def text_stamp(body: str, seq: int) -> str:
    return f"{seq}:{body}"


def state(stream: SessionStream[str]) -> tuple[object, ...]:
    """Everything a stream remembers, its private split and stall watch included."""
    return (
        stream.last_seq,
        stream.cursor,
        stream.acked,
        stream.dropped,
        stream.needs_snapshot,
        stream.attached,
        list(stream._sent),
        list(stream._unsent),
        stream._highest_handed_out,
        stream._snapshot_seq,
        stream._stall.full_since is None,
        stream._stall._episode,
    )


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("deliver"), st.integers(0, 3)),
        st.tuples(st.just("publish"), st.integers(0, 3)),
        st.tuples(st.just("next"), st.just(0)),
        st.tuples(st.just("ack"), st.integers(0, 40)),
        st.tuples(st.just("attach"), st.integers(-1, 40)),
        st.tuples(st.just("detach"), st.just(0)),
        st.tuples(st.just("reset"), st.just(0)),
        st.tuples(st.just("invalidate"), st.just(0)),
    ),
    max_size=60,
)


def apply(stream: SessionStream[str], op: str, value: int, *, one_step: bool) -> object:
    """Do ``op`` to ``stream``; what it returned (the frames handed out, for a deliver)."""
    body = f"b{value}"
    try:
        if op == "deliver":  # what a ringing publish does, by either way
            frame = stream.publish_now(body) if one_step else None
            if frame is not None:
                return [frame]
            stream.publish(body)
            return list(iter(stream.next_ready, None))
        if op == "publish":
            return stream.publish(body)
        if op == "next":
            return stream.next_ready()
        if op == "ack":
            stream.ack(value)
        elif op == "attach":
            return stream.attach(None if value < 0 else value)
        elif op == "detach":
            stream.detach()
        elif op == "reset":
            return stream.reset("snapshot")
        else:
            stream.invalidate()
    except InvalidAck:
        return "invalid ack"
    return None


@given(ops=OPS, capacity=st.integers(1, 6), high_water=st.integers(1, 6))
@settings(max_examples=400)
async def test_publish_now_leaves_the_stream_as_publish_then_next_ready(
    ops: list[tuple[str, int]], capacity: int, high_water: int
) -> None:
    high_water = min(high_water, capacity)
    fast, slow = (
        SessionStream(capacity=capacity, stamp=text_stamp, slow_after=1.0, high_water=high_water)
        for _ in range(2)
    )
    for op, value in ops:
        results = [apply(stream, op, value, one_step=stream is fast) for stream in (fast, slow)]
        assert results[0] == results[1], op
        assert state(fast) == state(slow), op


async def test_publish_now_leaves_a_waiting_reader_its_frame() -> None:
    stream = SessionStream(capacity=4, stamp=text_stamp, slow_after=1.0)
    stream.attach(0)
    stream._wakeup = trio.Event()  # what next_frame leaves while it waits
    assert stream.publish_now("tick") is None
    assert stream.last_seq == 0


@given(
    body_bytes=st.sampled_from([100, 110, 113, 114, 115, 116, 117, 118, 119, 120, 125, 126]),
    extra=st.sampled_from([0, 65_535 - 140, 65_535 - 130, 65_535 - 125, 65_535 - 120]),
    seqs=st.lists(st.integers(1, 2**53 - 1) | st.integers(1, 120_000), min_size=1, max_size=20),
)
def test_the_framer_frames_bodies_whose_header_grows_with_the_seq(
    body_bytes: int, extra: int, seqs: list[int]
) -> None:
    """Bodies whose frame crosses the 125- and 65,535-byte header steps as the seq's
    digits grow get the very bytes of ``stream_frame``."""
    filler = "x" * (body_bytes + extra - 30)
    body = f'{{"type":"tick","fill":"{filler}"}}'
    framer = StreamFramer()
    for seq in sorted(seqs):
        assert framer(body, seq) == stream_frame(body, seq)


@given(
    calls=st.lists(
        st.tuples(
            st.sampled_from(["tick", "player_joined", "snapshot"]),
            st.integers(1, 2**53 - 1)
            | st.integers(1, 120_000)
            | st.sampled_from([9, 10, 99, 100, 10**15, 2**53 - 1]),
        ),
        min_size=1,
        max_size=30,
    ),
    wrong=st.sampled_from([0, -1, 2**53, 10**16, True, 5.0]),
)
def test_the_framer_frames_any_order_of_bodies_and_seqs_and_refuses_bad_seqs(
    calls: list[tuple[str, int]], wrong: object
) -> None:
    """The framer's kept prefix (the last number of digits met, per body) gives the very
    bytes of ``stream_frame`` in any order of seqs and bodies, and a seq that is not an
    integer from 1 to 2**53 - 1 is refused between them, whatever was framed before."""
    bodies = {tag: f'{{"type":"{tag}","sent_at":1.5,"fill":"{tag * 3}"}}' for tag, _ in calls}
    framer = StreamFramer()
    for tag, seq in calls:
        body = bodies[tag]
        assert framer(body, seq) == stream_frame(body, seq)
        with pytest.raises(ValueError, match="a stream seq"):
            framer(body, wrong)  # type: ignore[arg-type]


LIMITS = Limits(max_message_bytes=1 << 20, close_timeout=1.0, frame_rate=1e6, frame_burst=10**6)


class OneStep(Connection):
    """A connection that counts the frames it wrote in one step."""

    delivered = 0
    answered = 0

    def deliver_now(self, stream: SessionStream[bytes], body: str) -> bool:
        taken = super().deliver_now(stream, body)
        self.delivered += taken
        return taken

    def answer_now(self, reply: str) -> bool:
        taken = super().answer_now(reply)
        self.answered += taken
        return taken


class PieceByPiece(Connection):
    """A connection that never takes the one-step write: the session publishes and rings
    (and offers its replies to the outbox and rings)."""

    def deliver_now(self, stream: SessionStream[bytes], body: str) -> bool:
        return False

    def answer_now(self, reply: str) -> bool:
        return False


@asynccontextmanager
async def loopback(count: int) -> AsyncIterator[list[tuple[trio.SocketStream, trio.SocketStream]]]:
    """``count`` connected pairs (server side with a tiny send buffer, client side)."""
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    pairs = []
    for _ in range(count):
        client_socket = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await client_socket.connect(("127.0.0.1", port))
        server = await listener.accept()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        pairs.append((server, trio.SocketStream(client_socket)))
    await listener.aclose()
    try:
        yield pairs
    finally:
        for server, client in pairs:
            await trio.aclose_forcefully(server)
            await trio.aclose_forcefully(client)


def session_of(n: int, services: SessionServices) -> Session:
    return Session(
        SessionIdentity(player_id=f"p{n}", name=f"p{n}", session_id=f"s{n}"),
        settings=GatewaySettings(),
        services=services,
    )


def tick_body(n: int) -> str:
    """Tick bodies of sizes that cross the 125-byte header step and fill tiny buffers."""
    fill = "x" * (20 + n * 97 % 3000)
    return f'{{"type":"tick","sent_at":1.5,"arena_id":"a-1","tick":{n},"fill":"{fill}"}}'


def state_of(session: Session) -> tuple[object, ...]:
    stream = session.stream
    return (
        stream.last_seq,
        stream.cursor,
        stream.acked,
        stream.dropped,
        stream.needs_snapshot,
        stream.retained,
        stream.unsent,
        stream._highest_handed_out,
    )


async def test_clients_get_the_same_bytes_by_either_way_through_cut_writes() -> None:
    """Two players of one arena, one on a connection that takes the one-step write and one
    on a connection that never does, get the very same frames: frames cut by a
    full kernel buffer and finished by the writer, replies between frames, frames
    published without a ring, acks; and their streams end in the same state."""
    world: Mailbox[DirectoryMessage] = open_mailbox("world", 8, Overflow.BLOCK)
    metrics = ServerMetrics(process=False)
    services = SessionServices(
        directory=world.ref,
        actions=InProcessRateLimiter(limit=60, window=10.0),
        meter=metrics.session,
    )
    received = [bytearray(), bytearray()]
    replies: list[str] = []
    with trio.fail_after(60):
        async with loopback(2) as pairs, trio.open_nursery() as nursery:
            sessions = [session_of(n, services) for n in range(2)]
            connections = [
                kind(
                    WebSocket(server, WsprotoConnection(ConnectionType.SERVER), LIMITS),
                    session,
                    GatewaySettings(),
                    meter=metrics.connection,
                    opened_at=trio.current_time(),
                    writers=nursery,
                )
                for kind, session, (server, _) in zip(
                    (OneStep, PieceByPiece), sessions, pairs, strict=True
                )
            ]
            for connection in connections:
                nursery.start_soon(connection.run, '{"type":"welcome"}', 0)
            await trio.testing.wait_all_tasks_blocked()
            seats = Seats()
            for session in sessions:
                seats.seat(session.seat_link())

            async def read(n: int, client: trio.SocketStream) -> None:
                while data := await client.receive_some(4096):
                    received[n] += data
                    if len(received[n]) < 200_000:
                        await trio.sleep(0.002)  # slow at first: writes are cut

            async with trio.open_nursery() as readers:
                for n, (_, client) in enumerate(pairs):
                    readers.start_soon(read, n, client)
                published = 0
                while published < 400:
                    published += 1
                    if published % 7 == 0:  # a tick end with joins: two frames, one write
                        seats.publish(tick_body(published), ring=False)
                        published += 1
                    if published % 5 == 0:
                        replies.append(f'{{"type":"pong","rid":"r{published}"}}')
                        for session in sessions:
                            session.reply(f"r{published}", replies[-1])
                    seats.publish(tick_body(published))
                    if published % 11 == 0:
                        for session in sessions:
                            session.stream.ack(session.stream.cursor)
                    await trio.sleep(0.0005 if published % 3 else 0)
                while any(s.stream.unsent for s in sessions) or any(  # noqa: ASYNC110
                    c.outbox_depth or c._websocket.pending or c._writer is not None
                    for c in connections
                ):
                    await trio.sleep(0.01)
                assert state_of(sessions[0]) == state_of(sessions[1])
                assert sessions[0].stream.last_seq == published
                cut = connections[0].writes_cut
                one_step = connections[0]
                assert isinstance(one_step, OneStep)
                assert 0 < one_step.delivered < published  # both ways were taken
                assert 0 < one_step.answered < len(replies)
                for server, _ in pairs:
                    server.socket.shutdown(socket.SHUT_WR)  # the readers end at EOF
            nursery.cancel_scope.cancel()
    # Replies and stream frames interleave as each client's reads let them (the writer
    # takes replies first): each kind comes whole and in order, the same for both.
    for data in received:
        frames = parse_frames(data)
        assert not data, "a frame was cut short"
        assert frames[0] == b'{"type":"welcome"}'
        ticks = [frame for frame in frames if frame.startswith(b'{"type":"tick"')]
        assert ticks == [stamp(tick_body(k), k).encode() for k in range(1, published + 1)]
        assert [frame for frame in frames if b"pong" in frame] == [r.encode() for r in replies]
        assert len(frames) == 1 + len(ticks) + len(replies)
    assert cut > 0, "the kernel took every frame whole: nothing was cut"


class Player:
    """A seat link's session: records what reaches it."""

    player_id = "p1"
    name = "Pat"

    def __init__(self) -> None:
        self.published: list[tuple[str, bool]] = []
        self.replies: list[tuple[str, str]] = []

    def publish(self, body: str, *, ring: bool = True) -> bool:
        self.published.append((body, ring))
        return body == "lost"

    def reset_stream(self, snapshot_body: str) -> None:
        raise AssertionError("not in this test")

    def reply(self, rid: str, frame: str) -> None:
        self.replies.append((rid, frame))

    def arena_closed(self, arena_id: str) -> None:
        raise AssertionError("not in this test")


def test_a_seat_link_forwards_frames_while_held_and_replies_always() -> None:
    """Frames reach the session while the seat is held (what publish returns included)
    and nothing once it is given up; replies always."""
    player = Player()
    link = SeatLink(player)
    assert link.publish("tick", ring=False) is False
    assert link.publish("lost") is True
    link.reply("r1", "answer")
    link.active = False
    assert link.publish("lost", ring=False) is False
    link.reply("r2", "late answer")
    assert player.published == [("tick", False), ("lost", True)]
    assert player.replies == [("r1", "answer"), ("r2", "late answer")]
