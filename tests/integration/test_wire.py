"""The WebSocket layer under the protocol, over raw sockets: broken frames get their close
frame, and every socket is dropped within ``close_timeout`` of its close, answered or not.
"""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

import pytest
import trio

from tests.integration.harness import guest_login, make_settings, running_server
from tests.integration.raw_ws import (
    BINARY,
    CLOSE,
    PING,
    PONG,
    TEXT,
    RawClient,
    ServerFrame,
    client_frame,
    connect,
    greeted,
    open_raw,
    text,
    upgrade_request,
)
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration

BROKEN_FRAMES = [
    pytest.param(client_frame(TEXT, b'{"type": "ping", "rid": "\xff"}'), 1007, id="bad-utf8"),
    pytest.param(
        client_frame(TEXT, b'{"type":"ping","rid":"1"}', masked=False), 1002, id="unmasked"
    ),
    pytest.param(client_frame(TEXT, b'{"type":"ping","rid":"1"}', rsv=0b100), 1002, id="rsv1"),
    pytest.param(client_frame(TEXT, b'{"type":"ping","rid":"1"}', rsv=0b011), 1002, id="rsv23"),
    pytest.param(client_frame(0x3, b"x"), 1002, id="opcode-3"),
    pytest.param(client_frame(0xB, b""), 1002, id="opcode-11"),
    pytest.param(client_frame(CLOSE, b"\x03"), 1002, id="close-1-byte"),
    pytest.param(client_frame(CLOSE, struct.pack("!H", 999)), 1002, id="close-code-999"),
    pytest.param(client_frame(CLOSE, struct.pack("!H", 1005)), 1002, id="close-code-1005"),
    pytest.param(client_frame(CLOSE, struct.pack("!H", 1000) + b"\xff"), 1007, id="close-bad-utf8"),
    pytest.param(client_frame(PING, b"x" * 126), 1002, id="long-ping"),
    pytest.param(client_frame(PING, b"x", fin=False), 1002, id="fragmented-ping"),
    pytest.param(client_frame(0x0, b"x"), 1002, id="lone-continuation"),
]

REASONS = {1002: "protocol_error", 1007: "invalid_utf8", 1009: "frame_too_large"}


async def wait_for_no_connections(server: TilemudServer) -> None:
    """Until the server holds no socket (it counts every socket until it is closed)."""
    while server.gateway.connections:  # noqa: ASYNC110
        await trio.sleep(0.01)


def only_close(frames: list[ServerFrame]) -> ServerFrame:
    closes = [f for f in frames if f.opcode == CLOSE]
    assert len(closes) == 1, frames
    return closes[0]


@pytest.mark.parametrize(("frame", "close_code"), BROKEN_FRAMES)
async def test_a_broken_frame_gets_its_close_frame(
    tmp_path: Path, frame: bytes, close_code: int
) -> None:
    with trio.fail_after(15):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            token, _ = await guest_login(server, "ada")
            async with await greeted(server.addresses.ws_port, token) as client:
                await client.send(frame)
                # The client never answers the close: the server drops it by itself.
                close = only_close(await client.frames_until_eof())
                assert (close.close_code, close.close_reason) == (close_code, REASONS[close_code])
                await wait_for_no_connections(server)


async def test_a_broken_frame_before_hello_gets_its_close_frame(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            async with await open_raw(server.addresses.ws_port) as client:
                await client.send(client_frame(TEXT, b"\xc3\x28"))
                close = only_close(await client.frames_until_eof())
                assert (close.close_code, close.close_reason) == (1007, "invalid_utf8")


async def test_oversize_frame_never_answered_is_dropped_within_close_timeout(
    tmp_path: Path,
) -> None:
    """Issue 11 item 2: the 1009 close went out but the socket stayed open for 90 s."""
    settings = make_settings(tmp_path, durable=False, max_frame_bytes=1024, close_timeout=0.5)
    with trio.fail_after(15):
        async with running_server(settings) as server:
            token, _ = await guest_login(server, "ada")
            async with contextlib.AsyncExitStack() as stack:
                clients: list[RawClient] = []
                for index in range(5):
                    token, _ = await guest_login(server, f"p{index}")
                    client = await greeted(server.addresses.ws_port, token)
                    clients.append(await stack.enter_async_context(client))
                    # Far more than the limit; the client then neither reads nor closes.
                    with trio.move_on_after(1):
                        await client.send(client_frame(TEXT, b"x" * 200_000))
                # The clients hold their sockets open; the server drops its side of each.
                await wait_for_no_connections(server)
                for client in clients:
                    close = only_close(await client.frames_until_eof())
                    assert (close.close_code, close.close_reason) == (1009, "frame_too_large")


async def test_a_client_that_never_answers_a_close_is_dropped(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, durable=False, hello_timeout=0.3, close_timeout=0.3)
    with trio.fail_after(15):
        async with running_server(settings) as server:
            async with await open_raw(server.addresses.ws_port) as client:
                frames = await client.frames_until_eof()  # sends nothing, answers nothing
                assert frames[0].json()["code"] == "hello_timeout"
                assert (frames[-1].close_code, frames[-1].close_reason) == (4004, "hello_timeout")
                await wait_for_no_connections(server)


async def test_a_client_close_is_answered_and_pings_are_ponged(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            token, _ = await guest_login(server, "ada")
            async with await greeted(server.addresses.ws_port, token) as client:
                await ping_binary_close(server, client)


async def ping_binary_close(server: TilemudServer, client: RawClient) -> None:
    await client.send(client_frame(PING, b"are you there"))
    pong = await client.next_frame()
    assert pong == ServerFrame(PONG, b"are you there")
    await client.send(client_frame(BINARY, b"\x00\x01"))
    error = await client.next_frame()
    assert error is not None
    assert error.json()["code"] == "binary_not_supported"
    await client.send(text({"type": "ping", "rid": "r"}))
    frame = await client.next_frame()
    assert frame is not None
    assert frame.json()["type"] == "pong"
    await client.send(client_frame(CLOSE, struct.pack("!H", 1000) + b"bye"))
    close = only_close(await client.frames_until_eof())
    assert (close.close_code, close.close_reason) == (1000, "bye")
    await wait_for_no_connections(server)


async def test_a_fragmented_message_is_reassembled(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            token, _ = await guest_login(server, "ada")
            async with await greeted(server.addresses.ws_port, token) as client:
                await split_ping(client)


async def split_ping(client: RawClient) -> None:
    body = b'{"type": "ping", "rid": "split"}'
    await client.send(client_frame(TEXT, body[:10], fin=False))
    await client.send(client_frame(PING, b"between"))  # control frames may interleave
    await client.send(client_frame(0x0, body[10:]))
    assert await client.next_frame() == ServerFrame(PONG, b"between")
    frame = await client.next_frame()
    assert frame is not None
    assert frame.json()["rid"] == "split"


@pytest.mark.parametrize("split", [None, 1, 7], ids=["one-write", "byte-1", "byte-7"])
async def test_frames_sent_with_the_upgrade_request_are_read_in_order(
    tmp_path: Path, split: int | None
) -> None:
    """Frames right behind the request (in its packet, or cut anywhere) reach the
    WebSocket's reader at a frame boundary: h11 is given only the request's head."""
    with trio.fail_after(15):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            token, _ = await guest_login(server, "ada")
            client = await connect(server.addresses.ws_port)
            async with client:
                data = (
                    upgrade_request()
                    + text({"type": "hello", "v": 2, "token": token})
                    + client_frame(PING, b"behind the hello")
                    + text({"type": "ping", "rid": "third"})
                )
                if split is None:
                    await client.send(data)
                else:
                    for start in range(0, len(data), split):
                        await client.send(data[start : start + split])
                status, _, _ = await client.read_http_response()
                assert status == 101
                welcome = await client.next_frame()
                assert welcome is not None
                assert welcome.json()["type"] == "welcome"
                assert await client.next_frame() == ServerFrame(PONG, b"behind the hello")
                pong = await client.next_frame()
                assert pong is not None
                assert (pong.json()["type"], pong.json()["rid"]) == ("pong", "third")
