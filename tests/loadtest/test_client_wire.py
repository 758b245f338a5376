"""The load tester's own WebSocket client, against wsproto as the server side and against
the real gateway (tests/loadtest/test_end_to_end.py drives whole runs through it)."""

from __future__ import annotations

import struct

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import BytesMessage, CloseConnection, Pong, TextMessage

from tilemud.loadtest._client_wire import ClientWebSocket, client_frame


def server_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n <= 125:
        return bytes((first, n)) + payload
    if n <= 0xFFFF:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


ServerEnd = trio.StapledStream[trio.testing.MemorySendStream, trio.testing.MemoryReceiveStream]


def open_pair() -> tuple[ClientWebSocket, ServerEnd]:
    client_end, server_end = trio.testing.memory_stream_pair()
    websocket = ClientWebSocket(client_end, max_message_bytes=1 << 20, receive_bytes=997)
    return websocket, server_end


def server_reading(data: bytes | bytearray) -> list[object]:
    """What a WebSocket server (wsproto) reads of ``data``, the client's bytes."""
    server = Connection(ConnectionType.SERVER)
    server.receive_data(bytes(data))
    return list(server.events())


@given(text=st.text(max_size=70_000))
def test_a_server_reads_the_clients_frames(text: str) -> None:
    (event,) = server_reading(client_frame(0x1, text.encode()))
    assert isinstance(event, TextMessage)
    assert event.data == text


async def test_messages_come_whole_whatever_the_reads() -> None:
    websocket, server = open_pair()
    long = "é" * 40_000  # a 16-bit length, split over many reads
    huge = b"x" * 70_000  # a 64-bit length
    await server.send_all(
        server_frame(0x1, b'{"a":1}')
        + server_frame(0x1, long.encode())
        + server_frame(0x2, huge)
        + server_frame(0x1, b"par", fin=False)
        + server_frame(0x0, b"ts")
    )
    with trio.fail_after(5):
        assert await websocket.get_message() == '{"a":1}'
        assert await websocket.get_message() == long
        assert await websocket.get_message() == huge
        assert await websocket.get_message() == "parts"


async def test_a_ping_is_answered_and_a_close_ends_with_the_servers_code() -> None:
    websocket, server = open_pair()
    await server.send_all(server_frame(0x9, b"hi") + server_frame(0x8, b"\x0f\xa9slow_client"))
    with trio.fail_after(5):
        with pytest.raises(ConnectionClosed) as closed:
            await websocket.get_message()
        answered = server_reading(await server.receive_some(1024))
    assert closed.value.reason is not None
    assert (closed.value.reason.code, closed.value.reason.reason) == (4009, "slow_client")
    assert [type(event) for event in answered] == [Pong, CloseConnection]
    assert isinstance(answered[0], Pong)
    assert answered[0].payload == b"hi"
    with pytest.raises(ConnectionClosed):
        await websocket.send_message("after the close")


async def test_the_streams_end_is_an_abnormal_close() -> None:
    websocket, server = open_pair()
    await server.send_all(server_frame(0x1, b"last"))
    await server.aclose()
    with trio.fail_after(5):
        assert await websocket.get_message() == "last"
        with pytest.raises(ConnectionClosed) as closed:
            await websocket.get_message()
    assert closed.value.reason is not None
    assert closed.value.reason.code == 1006


async def test_a_masked_server_frame_is_a_protocol_error() -> None:
    websocket, server = open_pair()
    await server.send_all(client_frame(0x1, b"a client's frame"))
    with trio.fail_after(5), pytest.raises(ConnectionClosed) as closed:
        await websocket.get_message()
    assert closed.value.reason is not None
    assert closed.value.reason.code == 1002
    with pytest.raises(ConnectionClosed):  # the connection is over for good
        await websocket.send_message("anything")


async def test_sent_messages_reach_the_server_in_order() -> None:
    websocket, server = open_pair()
    await websocket.send_message("one")
    await websocket.send_message(b"two")
    events = server_reading(await server.receive_some(1024))
    assert [type(e) for e in events] == [TextMessage, BytesMessage]
    assert [e.data for e in events] == ["one", b"two"]  # type: ignore[attr-defined]
