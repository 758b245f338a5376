"""The read hub over real TCP sockets: parked readers, what the hub answers at once, what
it leaves to the reader's task (in order), floods, control frames, the end of a stream,
cancellation and a hub that stops under parked readers.

Real sockets on 127.0.0.1, port 0; an absolute Trio-time deadline on every test.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio

from tests.wire.test_write_nowait import tcp_pair
from tilemud.wire import ConnectionClosed, HubStopped, Limits, ReadHub, Refused, WebSocket

LIMITS = Limits(max_message_bytes=1 << 16, close_timeout=1.0, frame_rate=1000, frame_burst=1000)


def client_frame(payload: bytes, *, opcode: int = 0x1, key: bytes = b"\x11\x22\x33\x44") -> bytes:
    """A final, masked frame as a client sends it."""
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    else:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    return head + key + masked


@asynccontextmanager
async def served(
    handle_now: Callable[[str], bool], limits: Limits = LIMITS
) -> AsyncIterator[tuple[WebSocket, trio.SocketStream, ReadHub]]:
    """A WebSocket over loopback TCP whose reader parks in a running hub; the client side."""
    hub = ReadHub(pause=0.0)
    async with (
        trio.open_nursery() as nursery,
        tcp_pair(send_buffer=1 << 16, receive_buffer=1 << 16) as (server, client),
    ):
        nursery.start_soon(hub.run)
        await trio.testing.wait_all_tasks_blocked()
        websocket = WebSocket(server, None, limits)
        websocket.serve_from(hub, handle_now)
        yield websocket, client, hub
        nursery.cancel_scope.cancel()


class FastSide:
    """A ``handle_now`` that answers messages starting with ``fast`` and records them."""

    def __init__(self) -> None:
        self.answered: list[str] = []

    def __call__(self, message: str) -> bool:
        if message.startswith("fast"):
            self.answered.append(message)
            return True
        return False


async def test_the_hub_answers_fast_messages_and_leaves_the_rest_in_order() -> None:
    fast = FastSide()
    with trio.fail_after(10):
        async with served(fast) as (websocket, client, hub):
            await client.send_all(client_frame(b"fast 1") + client_frame(b"fast 2"))
            await client.send_all(client_frame(b"slow 3") + client_frame(b"fast 4"))
            # The reader returns only what the hub could not answer; "fast 4" came after
            # "slow 3", so it waits for the reader, which has it next.
            assert await websocket.receive() == "slow 3"
            assert fast.answered == ["fast 1", "fast 2"]
            assert await websocket.receive() == "fast 4"
            await client.send_all(client_frame(b"fast 5") + client_frame(b"slow 6"))
            assert await websocket.receive() == "slow 6"
            assert fast.answered == ["fast 1", "fast 2", "fast 5"]
            assert hub.calls >= 2


async def test_a_control_frame_and_the_end_of_the_stream_go_to_the_reader() -> None:
    fast = FastSide()
    with trio.fail_after(10):
        async with served(fast) as (websocket, client, _):
            await client.send_all(client_frame(b"ping!", opcode=0x9) + client_frame(b"fast"))
            # The ping goes to the reader (wsproto answers it); what was read with it is the
            # reader's too, in order; the hub takes bytes only while the reader waits.
            assert await websocket.receive() == "fast"
            await client.send_all(client_frame(b"slow"))
            await client.send_eof()
            assert await websocket.receive() == "slow"
            with pytest.raises(ConnectionClosed) as closed:
                await websocket.receive()
            assert closed.value.code == 1006
            assert fast.answered == []
            pong = await client.receive_some(100)
            assert pong[:2] == b"\x8a\x05"
            assert pong[2:] == b"ping!"


async def test_a_flood_met_by_the_hub_closes_1008_and_a_refused_frame_reaches_the_reader() -> None:
    limits = Limits(max_message_bytes=1 << 16, close_timeout=1.0, frame_rate=1.0, frame_burst=3)
    fast = FastSide()
    with trio.fail_after(10):
        async with served(fast, limits) as (websocket, client, _):
            await client.send_all(b"".join(client_frame(b"fast %d" % n) for n in range(20)))
            refused = await websocket.receive()
            assert isinstance(refused, Refused)
            assert refused.data == "fast 3"
            with pytest.raises(ConnectionClosed) as closed:
                await websocket.receive()
            assert (closed.value.code, closed.value.local) == (1008, True)
            assert fast.answered == ["fast 0", "fast 1", "fast 2"]


async def test_a_cancelled_reader_leaves_the_hub_and_may_park_again() -> None:
    with trio.fail_after(10):
        async with served(FastSide()) as (websocket, client, _):
            with trio.move_on_after(0.05):
                await websocket.receive()
            # Parked again (the descriptor was taken off the hub's epoll when cancelled).
            await client.send_all(client_frame(b"slow after"))
            assert await websocket.receive() == "slow after"


async def test_a_hub_that_stops_sends_its_readers_back_to_their_own_sockets() -> None:
    hub = ReadHub(pause=0.0)
    with trio.fail_after(10):
        async with tcp_pair(send_buffer=1 << 16, receive_buffer=1 << 16) as (server, client):
            websocket = WebSocket(server, None, LIMITS)
            websocket.serve_from(hub, FastSide())
            got: list[str | bytes | Refused] = []
            async with trio.open_nursery() as readers:
                async with trio.open_nursery() as hub_nursery:
                    hub_nursery.start_soon(hub.run)
                    await trio.testing.wait_all_tasks_blocked()

                    async def read() -> None:
                        got.append(await websocket.receive())

                    readers.start_soon(read)
                    await trio.testing.wait_all_tasks_blocked()
                    hub_nursery.cancel_scope.cancel()
                # The reader now waits on its socket itself.
                await client.send_all(client_frame(b"fast anyway"))
            assert got == ["fast anyway"]
            assert not hub.running


async def test_an_exception_in_the_hubs_call_is_raised_in_the_readers_task() -> None:
    def broken(message: str) -> bool:
        raise RuntimeError(f"a bug on {message}")

    with trio.fail_after(10):
        async with served(broken) as (websocket, client, _):
            await client.send_all(client_frame(b"x"))
            with pytest.raises(RuntimeError, match="a bug on x"):
                await websocket.receive()


async def test_each_ready_socket_is_read_once_per_pass() -> None:
    """Fairness: a socket that never runs dry does not keep the others waiting."""
    hub = ReadHub(pause=0.0)
    calls: list[int] = []
    with trio.fail_after(10):
        left, right = socket.socketpair()
        other_left, other_right = socket.socketpair()
        with left, right, other_left, other_right:
            right.setblocking(False)
            other_right.setblocking(False)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(hub.run)
                await trio.testing.wait_all_tasks_blocked()

                def reader(fd: int, tag: int) -> bool:
                    calls.append(tag)
                    os.read(fd, 1)  # one byte a pass: both stay readable
                    return len(calls) >= 6

                left.send(b"aaaaaaaa")
                other_left.send(b"bbbbbbbb")
                async with trio.open_nursery() as parked:
                    parked.start_soon(hub.wait, right.fileno(), lambda: reader(right.fileno(), 1))
                    parked.start_soon(
                        hub.wait, other_right.fileno(), lambda: reader(other_right.fileno(), 2)
                    )
                    await trio.sleep(0.2)
                    parked.cancel_scope.cancel()
                    nursery.cancel_scope.cancel()
        assert sorted(calls[:4]) == [1, 1, 2, 2]  # alternating passes, not one socket's run
    with pytest.raises(HubStopped):
        await hub.wait(0, lambda: True)


@pytest.mark.parametrize("hub_serves", [True, False], ids=["hub", "reader"])
async def test_the_hub_charges_a_frame_at_its_reads_time_as_the_reader_does(
    hub_serves: bool, mock_clock: trio.testing.MockClock
) -> None:
    """The budget judges the hub's frames at the time of the read that brought them: after
    the clock moved on, a refilled bucket admits them (a stale time would refuse them)."""
    limits = Limits(max_message_bytes=1 << 16, close_timeout=1.0, frame_rate=1.0, frame_burst=2)
    seen: list[tuple[str, str | bytes | None]] = []

    def answer_now(message: str) -> bool:
        seen.append(("admitted", message))
        return True

    async def read(websocket: WebSocket) -> None:
        while True:
            message = await websocket.receive()
            if isinstance(message, Refused):
                seen.append(("refused", message.data))
            else:
                seen.append(("admitted", message))

    async def until_seen(count: int) -> None:
        # (The mock clock stands still: wait for the sockets in real time, bounded.)
        started = time.monotonic()
        while len(seen) < count:
            assert time.monotonic() - started < 10
            await trio.lowlevel.checkpoint()

    async with served(answer_now, limits) as (websocket, client, hub):
        if not hub_serves:
            websocket.serve_from(None, answer_now)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read, websocket)
            await client.send_all(b"".join(client_frame(b"fast %d" % n) for n in range(3)))
            await until_seen(3)
            mock_clock.jump(10)
            await client.send_all(b"".join(client_frame(b"fast %d" % n) for n in (3, 4)))
            await until_seen(5)
            nursery.cancel_scope.cancel()
        assert (hub.calls > 0) == hub_serves
    assert seen == [
        ("admitted", "fast 0"),
        ("admitted", "fast 1"),
        ("refused", "fast 2"),
        ("admitted", "fast 3"),
        ("admitted", "fast 4"),
    ]
