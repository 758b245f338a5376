"""Property: whatever happens, a client's frames have no duplicates and no unexplained gaps.

A model client receives frames over flaky connections (frames handed out may be lost in
flight when the connection drops), acks what it received and reconnects with the last seq it
really received; the owner answers a failed resume, or a gap, with a snapshot. Whatever the
interleaving, the client sees strictly increasing seqs, consecutive except right before a
snapshot, each with the body published under that seq; and once it is connected and drained,
it is up to date.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tilemud.actors.session._framer import StreamFramer, stream_frame
from tilemud.actors.session._stream import SessionStream


def stamp(body: str, seq: int) -> str:
    return f'{{"seq":{seq},' + body[1:]


OPS = st.sampled_from(["publish", "hand_out", "receive", "ack", "drop", "connect", "resync"])


class Client:
    """The client side: what it received, and its checks."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.in_flight: list[str] = []

    def receive(self, frame: str, published: dict[int, str]) -> None:
        decoded = json.loads(frame)
        seq = decoded["seq"]
        assert frame == stamp(published[seq], seq)
        if decoded["kind"] == "snapshot":
            assert self.last is None or seq > self.last, "snapshot older than what it has"
        elif self.last is None:
            assert seq == 1, "first frame is neither a snapshot nor seq 1"
        else:
            assert seq == self.last + 1, f"gap or duplicate: {self.last} then {seq}"
        self.last = seq


class Owner:
    """The session state's side: publishes, and answers gaps with snapshots."""

    def __init__(self, stream: SessionStream[str]) -> None:
        self.stream = stream
        self.published: dict[int, str] = {}
        self.count = 0

    def publish(self) -> None:
        self.count += 1
        body = f'{{"kind":"delta","n":{self.count}}}'
        self.published[self.stream.publish(body)] = body

    def snapshot(self) -> None:
        self.count += 1
        body = f'{{"kind":"snapshot","n":{self.count}}}'
        self.published[self.stream.reset(body)] = body


@settings(max_examples=400, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=5),
    ops=st.lists(OPS, max_size=80),
)
async def test_client_never_sees_duplicates_or_unexplained_gaps(
    capacity: int, ops: list[str]
) -> None:
    stream = SessionStream(capacity=capacity, stamp=stamp, slow_after=10)
    owner = Owner(stream)
    client = Client()
    connected = False

    def connect() -> None:
        client.in_flight.clear()
        if not stream.attach(client.last):
            owner.snapshot()

    for op in ops:
        if op == "publish":
            owner.publish()
        elif op == "hand_out":
            frame = stream.next_ready()
            assert frame is None or connected
            if frame is not None:
                client.in_flight.append(frame)
        elif op == "receive" and client.in_flight:
            client.receive(client.in_flight.pop(0), owner.published)
        elif op == "ack" and connected and client.last is not None:
            stream.ack(client.last)
            assert stream.acked >= client.last
        elif op == "drop":
            stream.detach()
            client.in_flight.clear()
            connected = False
        elif op == "connect":
            connect()
            connected = True
        elif op == "resync" and stream.needs_snapshot:
            owner.snapshot()
        assert stream.retained <= capacity
        assert stream.acked <= stream.cursor <= stream.last_seq

    # Liveness: a connected client that keeps reading (with the owner answering gaps)
    # catches up with everything published.
    if not connected:
        connect()
    if stream.needs_snapshot:
        owner.snapshot()
    while (frame := stream.next_ready()) is not None:
        client.in_flight.append(frame)
    while client.in_flight:
        client.receive(client.in_flight.pop(0), owner.published)
    assert client.last == stream.last_seq


BODY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@given(
    frames=st.lists(
        st.tuples(st.integers(0, 2), st.integers(1, 2**53 - 1)), min_size=1, max_size=40
    ),
    texts=st.lists(BODY_TEXT, min_size=3, max_size=3),
)
def test_the_framer_makes_stream_frames_bytes(
    frames: list[tuple[int, int]], texts: list[str]
) -> None:
    """The shared framer gives each player the very bytes of ``stream_frame``, whichever
    body came before (one cut kept for the last body only), long bodies and non-ASCII too."""
    bodies = [f'{{"type":"tick","text":{json.dumps(t, ensure_ascii=False)}}}' for t in texts]
    bodies[2] = bodies[2] + " " * 70_000  # a frame with a 10-byte header
    framer = StreamFramer()
    for which, seq in frames:
        body = bodies[which]
        assert framer(body, seq) == stream_frame(body, seq)


@given(seq=st.one_of(st.integers(max_value=0), st.integers(min_value=2**53)))
def test_the_framer_refuses_what_stamp_refuses(seq: int) -> None:
    framer = StreamFramer()
    with pytest.raises(ValueError, match="integer from 1"):
        framer('{"type":"tick","x":1}', seq)
