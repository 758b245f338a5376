"""CPU per delivered frame of the fan-out's two ways of writing, over real loopback sockets.

::

    .venv/bin/python -m benchmarks.send_path --players 300 --rounds 200

A tick body of ``--body-bytes`` is published to ``--players`` WebSockets ``--rounds``
times; a child process reads every socket and counts the bytes. Two ways are timed with
``time.process_time`` (this process only; the readers are another process):

- ``task per frame`` (the send path before issue 13): each connection has a writer task
  woken by a doorbell; it stamps the frame's ``seq`` into the text and sends it with
  ``WebSocket.send_text`` (one ``send_all`` per frame, behind a task switch);
- ``write_now`` (issue 13): the publisher builds header + stamped text in one buffer
  (``stream_frame``) and writes it with ``WebSocket.write_nowait``; only what the kernel
  does not take goes to a writer task.
- ``seats.publish``: the server's own fan-out, from an arena's :class:`Seats` through each
  player's seat link, session, stream, connection and framer to the socket (what a tick
  costs per player, the write included).

Prints µs of CPU per frame for each. Bounded: loopback only, every socket closed at the end.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from typing import Final

import trio
import trio.lowlevel
from wsproto.connection import Connection, ConnectionType

from tilemud.actors.arena import DirectoryMessage
from tilemud.actors.arena._seats import Seats
from tilemud.actors.session import Session, SessionIdentity, SessionServices
from tilemud.actors.session._connection import Connection as PlayerConnection
from tilemud.actors.session._framer import stream_frame
from tilemud.cluster import InProcessRateLimiter
from tilemud.config import GatewaySettings
from tilemud.mailbox import Doorbell, Mailbox, Overflow, open_mailbox
from tilemud.metrics import ServerMetrics
from tilemud.protocol import stamp
from tilemud.wire import Limits, WebSocket

WAYS: Final = ("task per frame", "write_now", "seats.publish")
LIMITS: Final = Limits(
    max_message_bytes=1 << 16, close_timeout=1.0, frame_rate=1e6, frame_burst=10**6
)
_READER: Final = """
import socket, sys, selectors
port, players, expect = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(players)]
sel = selectors.DefaultSelector()
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
got = 0
while got < expect:
    for key, _ in sel.select(timeout=30):
        data = key.fileobj.recv(1 << 20)
        if not data:
            if got >= expect:  # another socket's end, after the last byte came
                break
            raise SystemExit("closed early")
        got += len(data)
print(got)
"""


def body_of(size: int) -> str:
    return '{"type":"tick","sent_at":1.0,"arena_id":"a-1","tick":7,"placed":"' + "x" * size + '"}'


async def run(
    players: int, rounds: int, body_bytes: int, ways: tuple[str, ...] = WAYS
) -> dict[str, float]:
    body = body_of(body_bytes)
    results = {}
    for way in ways:
        listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        port = listener.socket.getsockname()[1]
        expect = players * sum(len(stream_frame(body, n + 1)) for n in range(rounds))
        reader = await trio.lowlevel.open_process(
            [sys.executable, "-c", _READER, str(port), str(players), str(expect)],
            stdout=subprocess.DEVNULL,
        )
        streams = [await listener.accept() for _ in range(players)]
        await listener.aclose()
        sockets = [WebSocket(s, Connection(ConnectionType.SERVER), LIMITS) for s in streams]
        async with trio.open_nursery() as nursery:
            started = time.process_time()
            if way == "task per frame":
                bells = [Doorbell() for _ in sockets]
                queues: list[list[str]] = [[] for _ in sockets]

                sent = 0

                async def writer(ws: WebSocket, bell: Doorbell, queue: list[str]) -> None:
                    nonlocal sent
                    seq = 0
                    while True:
                        while queue:
                            seq += 1
                            await ws.send_text(stamp(queue.pop(0), seq))
                            sent += 1
                        await bell.wait()

                for ws, bell, queue in zip(sockets, bells, queues, strict=True):
                    nursery.start_soon(writer, ws, bell, queue)
                for _ in range(rounds):
                    for bell, queue in zip(bells, queues, strict=True):
                        queue.append(body)
                        bell.ring()
                    await trio.lowlevel.checkpoint()
                while sent < players * rounds:  # noqa: ASYNC110 - measuring, not waiting
                    await trio.sleep(0.001)
            elif way == "seats.publish":
                seats, connections = await seat_players(sockets, nursery)
                started = time.process_time()
                for _ in range(rounds):
                    seats.publish(body)
                    await trio.lowlevel.checkpoint()
                while any(c.frames_sent < rounds for c in connections):  # noqa: ASYNC110
                    await trio.sleep(0.001)  # measuring, not waiting
            else:
                for n in range(rounds):
                    for ws in sockets:
                        frame = stream_frame(body, n + 1)
                        if not ws.write_nowait(frame):
                            await ws.send_frames(frame)
                        elif ws.pending:
                            await ws.flush()
                    await trio.lowlevel.checkpoint()
            cpu = time.process_time() - started
            nursery.cancel_scope.cancel()
        for s in streams:
            s.socket.shutdown(socket.SHUT_WR)
        with trio.fail_after(60):
            await reader.wait()
        for s in streams:
            await trio.aclose_forcefully(s)
        results[way] = cpu * 1e6 / (players * rounds)
    return results


async def seat_players(
    sockets: list[WebSocket], writers: trio.Nursery
) -> tuple[Seats, list[PlayerConnection]]:
    """Sessions attached to ``sockets`` by connections, seated in one arena's seats.

    The connections are made as the gateway makes them, then attached as ``run`` attaches
    them (its reader is left out: the readers here never send).
    """
    settings = GatewaySettings()
    metrics = ServerMetrics(process=False)
    world: Mailbox[DirectoryMessage] = open_mailbox("world", 8, Overflow.BLOCK)
    services = SessionServices(
        directory=world.ref,
        actions=InProcessRateLimiter(limit=60, window=10.0),
        meter=metrics.session,
    )
    seats = Seats()
    connections = []
    for n, websocket in enumerate(sockets):
        session = Session(
            SessionIdentity(player_id=f"p{n}", name=f"p{n}", session_id=f"s{n}"),
            settings=settings,
            services=services,
        )
        connection = PlayerConnection(
            websocket,
            session,
            settings,
            meter=metrics.connection,
            opened_at=trio.current_time(),
            writers=writers,
        )
        connection._serving = True
        await session.attach(connection._outbox, connection, 0)
        seats.seat(session.seat_link())
        connections.append(connection)
    return seats, connections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.send_path", description=__doc__)
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--body-bytes", type=int, default=700)
    parser.add_argument("--way", choices=WAYS, action="append", help="(default: all)")
    args = parser.parse_args(argv)
    if not 1 <= args.players <= 2000 or not 1 <= args.rounds <= 10_000:
        parser.error("--players 1..2000, --rounds 1..10000")
    ways = tuple(args.way) if args.way else WAYS
    results = trio.run(run, args.players, args.rounds, args.body_bytes, ways)
    for way, us in results.items():
        print(f"{way:<16} {us:6.1f} µs of CPU per frame", end="")
        print(f" ({args.players} players, {args.rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
