"""Plain text frames read without wsproto give what wsproto alone gives, frame for frame.

A differential test: the same client bytes, cut into random reads, go to a WebSocket
that reads plain frames itself (the server's way) and to one whose splitter is retired
from the start (wsproto reads everything). Both must hand out the same messages in the
same order and end the same way (close code, local or not), whatever the frames:
plain, long, fragmented with control frames between the fragments, binary, pings,
invalid UTF-8, unmasked, reserved bits, garbage, a close. Memory streams, autojump clock.
"""

from __future__ import annotations

import itertools
import os
import tracemalloc

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType

from tests.integration.raw_ws import BINARY, CLOSE, PING, PONG, TEXT, client_frame
from tilemud.wire import ConnectionClosed, Limits, Refused, WebSocket
from tilemud.wire._reader import JUDGE, PLAIN_TEXT, FrameSplitter, unmask

LIMITS = Limits(
    max_message_bytes=4096, close_timeout=1.0, frame_rate=1000, frame_burst=1000, receive_bytes=512
)
#: A budget some of the frames run over: refusals and drops must match too.
TIGHT = Limits(max_message_bytes=4096, close_timeout=1.0, frame_rate=1, frame_burst=4)

_texts = st.text(max_size=200) | st.text(min_size=120, max_size=700)
_plain = _texts.map(lambda t: client_frame(TEXT, t.encode()))


@st.composite
def _fragmented(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(_texts, min_size=2, max_size=4))
    opcode = draw(st.sampled_from([TEXT, BINARY]))
    frames = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        frames.append(client_frame(opcode if i == 0 else 0, part.encode(), fin=last))
        if not last and draw(st.booleans()):
            frames.append(client_frame(PING, b"between"))
    return b"".join(frames)


_odd = st.one_of(
    st.binary(max_size=50).map(lambda b: client_frame(BINARY, b)),
    st.binary(max_size=20).map(lambda b: client_frame(PING, b)),
    st.binary(max_size=20).map(lambda b: client_frame(PONG, b)),
    st.sampled_from([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80"]).map(
        lambda b: client_frame(TEXT, b"ok" + b)
    ),
    _texts.map(lambda t: client_frame(TEXT, t.encode(), masked=False)),
    _texts.map(lambda t: client_frame(TEXT, t.encode(), rsv=4)),
    st.just(client_frame(0x3, b"unknown opcode")),
    st.just(client_frame(0, b"continuation of nothing")),
    st.just(client_frame(CLOSE, b"\x03\xe8bye")),
    # A new message inside a fragmented one: a protocol error, even for a plain frame.
    st.just(client_frame(TEXT, b"begun", fin=False) + client_frame(TEXT, b"plain")),
    st.just(client_frame(TEXT, b"x" * 5000)),  # over max_message_bytes
    st.binary(min_size=1, max_size=12),  # garbage
)
# Mostly plain frames (as in play); a broken frame ends the connection, so they are rarer.
_frames = st.lists(
    st.one_of(*[_plain] * 8, _fragmented(), _fragmented(), _odd), min_size=1, max_size=14
).map(b"".join)


def _cuts(data: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


async def _read_all(chunks: list[bytes], limits: Limits, *, plain: bool) -> list[object]:
    """Everything one WebSocket hands out for ``chunks``, then how it closed."""
    server, client = trio.testing.memory_stream_pair()
    received = chunks[0] if plain else b""
    websocket = WebSocket(server, Connection(ConnectionType.SERVER), limits, received=received)
    if not plain:
        websocket._splitter = None  # the reference: wsproto reads every byte
    seen: list[object] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:

            async def send() -> None:
                for chunk in chunks[1:] if plain else chunks:
                    await client.send_all(chunk)
                    await trio.sleep(0.01)
                await client.send_eof()

            async def drain() -> None:  # pongs and close frames the server writes
                while await client.receive_some(65536):
                    pass

            nursery.start_soon(send)
            nursery.start_soon(drain)
            try:
                while True:
                    message = await websocket.receive()
                    seen.append(
                        ("refused", message.data) if isinstance(message, Refused) else message
                    )
            except ConnectionClosed as closed:
                seen.append(("closed", closed.code, closed.local))
            nursery.cancel_scope.cancel()
    return seen


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames, st.lists(st.integers(0, 10_000), max_size=8), st.booleans())
def test_what_the_splitter_reads_is_what_wsproto_reads(
    data: bytes, points: list[int], tight: bool
) -> None:
    chunks = _cuts(data, points)
    limits = TIGHT if tight else LIMITS

    async def both() -> tuple[list[object], list[object]]:
        return (
            await _read_all(chunks, limits, plain=True),
            await _read_all(chunks, limits, plain=False),
        )

    ours, reference = trio.run(both, clock=trio.testing.MockClock(autojump_threshold=0))
    assert ours == reference


def test_a_plain_frame_is_taken_whole_and_unmasked() -> None:
    splitter = FrameSplitter(plain_limit=1000)
    frame = client_frame(TEXT, b'{"type":"ack","seq":7}')
    for byte in frame[:-1]:
        splitter.feed(bytes([byte]))
        assert splitter.take() is None  # not whole yet: nothing, and nothing for wsproto
    splitter.feed(frame[-1:])
    assert splitter.take() == (PLAIN_TEXT, b'{"type":"ack","seq":7}')
    assert splitter.take() is None


def test_a_frame_over_the_plain_limit_streams_to_wsproto_and_the_next_is_plain() -> None:
    splitter = FrameSplitter(plain_limit=10)
    big = client_frame(TEXT, b"y" * 300)
    small = client_frame(TEXT, b"ok")
    splitter.feed(big[:100])
    taken = [splitter.take()]
    splitter.feed(big[100:] + small)
    taken += [splitter.take(), splitter.take(), splitter.take()]
    assert taken == [(JUDGE, big[:100]), (JUDGE, big[100:]), (PLAIN_TEXT, b"ok"), None]


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 125, 126])
def test_the_plain_limit_holds_on_the_short_way_too(size: int) -> None:
    """A frame with a 7-bit length (the splitter's short way) is plain up to the limit
    and goes to wsproto past it, as a longer frame does; read whole or byte by byte."""
    frame = client_frame(TEXT, b"z" * size)
    for step in (len(frame), 1):
        splitter = FrameSplitter(plain_limit=10)
        taken = []
        for at in range(0, len(frame), step):
            splitter.feed(frame[at : at + step])
            while (piece := splitter.take()) is not None:
                taken.append(piece)
        if size <= 10:
            assert taken == [(PLAIN_TEXT, b"z" * size)]
        else:
            assert b"".join(data for kind, data in taken if kind == JUDGE) == frame
            assert all(kind == JUDGE for kind, _ in taken)


def test_unmask_is_its_own_inverse() -> None:
    key = os.urandom(4)
    payload = os.urandom(333)
    assert unmask(unmask(payload, key), key) == payload
    assert unmask(b"", key) == b""


def test_a_splitter_does_not_keep_the_size_of_a_big_read() -> None:
    """A 16 KiB read behind a backlog, its last frame cut: once its whole frames are
    taken, the splitter holds the cut frame's few bytes, not a 16 KiB buffer (memory per
    active player, issue 13; a bytearray gives its room back once most of it is cut)."""
    payload = b'{"type":"place","rid":"r1","x":1,"y":2,"kind":"stone"}'
    frame = client_frame(TEXT, payload)
    big_read = (frame * (16 * 1024 // len(frame) + 1))[: 16 * 1024]
    cut = len(big_read) % len(frame)
    assert cut  # the last frame is cut
    tracemalloc.start()
    try:
        splitters = [FrameSplitter(plain_limit=16 * 1024) for _ in range(50)]
        before = tracemalloc.get_traced_memory()[0]
        for splitter in splitters:
            splitter.feed(big_read)
            while (piece := splitter.take()) is not None:
                assert piece == (PLAIN_TEXT, payload)
        held = (tracemalloc.get_traced_memory()[0] - before) / len(splitters)
    finally:
        tracemalloc.stop()
    assert held < 512, held
    for splitter in splitters:  # the cut frame is still read whole
        splitter.feed(frame[cut:])
        assert splitter.take() == (PLAIN_TEXT, payload)
        assert splitter.take() is None
