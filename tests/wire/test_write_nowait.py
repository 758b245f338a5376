"""The wire's fast path over a real TCP socket: frames written without waiting, a socket
that takes only part of a frame, and the rest finished by the next send, uncorrupted.

Real sockets on 127.0.0.1, port 0, with tiny kernel buffers so that partial writes happen
within a few frames; an absolute Trio-time deadline on every test.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio.testing
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from tilemud.wire import Limits, WebSocket, encode_text

LIMITS = Limits(max_message_bytes=1 << 20, close_timeout=1.0, frame_rate=1000, frame_burst=1000)


@asynccontextmanager
async def tcp_pair(
    *, send_buffer: int, receive_buffer: int
) -> AsyncIterator[tuple[trio.SocketStream, trio.SocketStream]]:
    """A connected loopback pair: (server side with ``send_buffer``, client side)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    client_sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    await client_sock.connect(("127.0.0.1", port))
    server = await listeners[0].accept()
    await listeners[0].aclose()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    client = trio.SocketStream(client_sock)
    async with server, client:
        yield server, client


def parse_frames(data: bytearray) -> list[bytes]:
    """Take the complete unmasked server frames off the front of ``data``."""
    frames = []
    while len(data) >= 2:
        first, second = data[0], data[1]
        assert first == 0x81, f"not a final text frame: {first:#x}"
        assert not second & 0x80, "server frames are unmasked"
        length, offset = second & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                break
            (length,) = struct.unpack("!H", data[2:4])
            offset = 4
        elif length == 127:
            if len(data) < 10:
                break
            (length,) = struct.unpack("!Q", data[2:10])
            offset = 10
        if len(data) < offset + length:
            break
        frames.append(bytes(data[offset : offset + length]))
        del data[: offset + length]
    return frames


async def test_frames_cut_by_a_full_kernel_buffer_arrive_whole_and_in_order() -> None:
    payloads = [f'{{"n":{n},"fill":"{"x" * (500 + n * 37 % 3000)}"}}'.encode() for n in range(300)]
    received: list[bytes] = []
    partial_writes = 0
    with trio.fail_after(30):
        async with tcp_pair(send_buffer=4096, receive_buffer=4096) as (server, client):
            websocket = WebSocket(server, Connection(ConnectionType.SERVER), LIMITS)

            async def write_all() -> None:
                nonlocal partial_writes
                for payload in payloads:
                    frame = encode_text(payload.decode())
                    if websocket.can_write_nowait:
                        assert websocket.write_nowait(frame)
                        if websocket.pending:
                            partial_writes += 1
                            await websocket.flush()  # what the connection's writer does
                    else:
                        assert not websocket.write_nowait(frame)
                        await websocket.send_frames(frame)

            async def read_slowly() -> None:
                buffer = bytearray()
                while len(received) < len(payloads):
                    data = await client.receive_some(1024)
                    assert data, "the server side closed early"
                    buffer += data
                    received.extend(parse_frames(buffer))
                    if len(received) < 50:
                        await trio.sleep(0.005)  # slow at first: the kernel buffer fills
                assert not buffer

            async with trio.open_nursery() as nursery:
                nursery.start_soon(write_all)
                nursery.start_soon(read_slowly)
    assert received == payloads
    assert partial_writes > 0, "the kernel took every frame whole: nothing was tested"


async def test_nothing_is_written_past_a_send_in_progress_or_pending_bytes() -> None:
    with trio.fail_after(10):
        async with tcp_pair(send_buffer=4096, receive_buffer=4096) as (server, client):
            websocket = WebSocket(server, Connection(ConnectionType.SERVER), LIMITS)
            big = encode_text("y" * 400_000)
            assert websocket.write_nowait(big)
            assert websocket.pending  # the kernel cannot take 400 kB at once
            assert not websocket.can_write_nowait
            assert not websocket.write_nowait(encode_text("after"))
            buffer = bytearray()
            frames: list[bytes] = []

            async def read_two() -> None:
                while len(frames) < 2:
                    buffer.extend(await client.receive_some(65536))
                    frames.extend(parse_frames(buffer))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_two)
                await websocket.send_frames(encode_text("after"))  # the rest goes first
                assert not pending(websocket)
    assert frames == [b"y" * 400_000, b"after"]


def pending(websocket: WebSocket) -> bool:
    """Read apart from the assertions, so that mypy does not narrow it across awaits."""
    return websocket.pending


async def test_memory_streams_take_no_fast_path() -> None:
    left, _right = trio.testing.memory_stream_pair()
    websocket = WebSocket(left, Connection(ConnectionType.SERVER), LIMITS)
    assert not websocket.can_write_nowait
    assert not websocket.write_nowait(encode_text("x"))


async def test_a_message_is_dated_by_the_read_that_brought_its_bytes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Two frames that arrived in one read share its time, however late the second is
    taken (the actions limit judges a frame by it: docs/protocol.md)."""
    server_side, client_side = trio.testing.memory_stream_pair()
    websocket = WebSocket(server_side, Connection(ConnectionType.SERVER), LIMITS)
    client = Connection(ConnectionType.CLIENT)
    await trio.sleep(3)
    await client_side.send_all(
        client.send(TextMessage(data="first")) + client.send(TextMessage(data="second"))
    )
    assert await websocket.receive() == "first"
    read = websocket.read_at
    assert read == trio.current_time()
    await trio.sleep(5)  # a busy server gets to the second frame later
    assert await websocket.receive() == "second"
    assert websocket.read_at == read
