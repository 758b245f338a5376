"""CPU per frame a player sends, through the read hub and the session, over loopback TCP.

::

    .venv/bin/python -m benchmarks.read_hub --players 300 --seconds 5

``--players`` seated sessions, each served by a :class:`Connection` whose reader parks in
the server's :class:`ReadHub` (``--pause``, the gateway's ``read_hub_pause``), as in
epic-300. A child process plays the clients: each sends an ``ack`` and two ``place``
frames a second (``--rate`` times that), spread over the second, as epic-300's players
do. Every placement goes the whole inbound way (epoll, read, frame, UTF-8, frame budget,
decode, the request log, the actions limit, the arena's mailbox); a task standing in for
the arena takes each from the mailbox and remembers its answer in the request log, as
the arena's journal does (its own CPU is measured and left out). It takes its mailbox as
the arena does, what is waiting and then a pause of ``TAKE_PAUSE`` (``--arena each``: a
pass of the scheduler per placement, which the arena does not make, as this measure did
before).

Prints µs of this process's CPU (``time.process_time``) per inbound frame, from the
first frame sent to the last placement in the mailbox: the hub's path with the idle
loop's wake-ups, as the server spends it. ``--runs`` repeats and gives the median.
Bounded: loopback only, every socket closed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from typing import Final

import trio
import trio.lowlevel
import trio.testing

from tilemud.actors.arena import ArenaMessage, ArenaTicket, DirectoryMessage, PlaceTile
from tilemud.actors.arena._actor import TAKE_PAUSE
from tilemud.actors.session import Session, SessionIdentity, SessionServices
from tilemud.actors.session._connection import Connection
from tilemud.actors.session._seat import Seat, SeatLink
from tilemud.cluster import InProcessRateLimiter
from tilemud.config import GatewaySettings
from tilemud.game import ARENA_RULES
from tilemud.mailbox import Mailbox, Overflow, open_mailbox
from tilemud.metrics import ServerMetrics
from tilemud.nap import nap_until
from tilemud.protocol import PlaceResult, encode_server
from tilemud.wire import Limits, ReadHub, WebSocket

_CLIENTS: Final = """
import os, socket, sys, time, random
port, players, seconds = (int(arg) for arg in sys.argv[1:4])
rate = float(sys.argv[4])
def frame(body):
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(body))
    return bytes((0x81, 0x80 | len(body))) + key + masked
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(players)]
for s in socks:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
rng = random.Random(7)
# Each player: ack, place, place every 1/rate s, its own phase; the last frame a place.
due = []
period = 1.0 / rate
for p in range(players):
    phase = rng.random() * period
    for n in range(int(seconds * rate)):
        for k in range(3):
            due.append((phase + n * period + k * period / 3, p, n, k))
due.sort()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
start = time.monotonic()
for at, p, n, k in due:
    wait = start + at - time.monotonic()
    if wait > 0.0005:
        time.sleep(wait)
    if k == 0:
        body = b'{"type":"ack","seq":0}'
    else:
        body = b'{"type":"place","rid":"p%d-%d-%d","x":%d,"y":%d,"kind":"stone"}' % (
            p, n, k, (p * 7 + n) % 256, (n * 3 + k) % 256)
    socks[p].sendall(frame(body))
sys.stdin.readline()
"""

LIMITS: Final = Limits(max_message_bytes=4096, close_timeout=1.0, frame_rate=30, frame_burst=60)


async def run_once(
    players: int, seconds: int, rate: float, pause: float, batched: bool = True
) -> tuple[float, float, float, float]:
    """µs of CPU per inbound frame: all, the stand-in arena's share, the kernel's, and
    the hub's passes' (the arena's calls inside them included)."""
    settings = GatewaySettings()
    metrics = ServerMetrics(process=False)
    world: Mailbox[DirectoryMessage] = open_mailbox("world", 8, Overflow.BLOCK)
    arena: Mailbox[ArenaMessage] = open_mailbox("arena", 4096, Overflow.BLOCK)
    services = SessionServices(
        directory=world.ref,
        actions=InProcessRateLimiter(limit=60, window=10.0),
        meter=metrics.session,
    )
    ticket = ArenaTicket(arena_id="a-1", ref=arena.ref, rules=ARENA_RULES)
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    clients = await trio.lowlevel.open_process(
        [sys.executable, "-c", _CLIENTS, str(port), str(players), str(seconds), str(rate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert clients.stdin is not None
    assert clients.stdout is not None
    streams = [await listener.accept() for _ in range(players)]
    await listener.aclose()
    expected = players * int(seconds * rate) * 2
    sessions: dict[str, Session] = {}
    arena_cpu = 0.0
    taken = 0
    done = trio.Event()

    def take(message: ArenaMessage) -> None:
        nonlocal arena_cpu, taken
        started = time.process_time()
        assert isinstance(message, PlaceTile)
        answer = encode_server(
            PlaceResult(
                rid=message.rid,
                arena_id="a-1",
                tick=1,
                x=message.x,
                y=message.y,
                kind=message.kind,
                outcome="accepted",
            )
        )
        sessions[message.player_id].requests.finish(message.rid, answer)
        taken += 1
        arena_cpu += time.process_time() - started
        if taken == expected:
            done.set()

    async def stand_in_arena() -> None:
        if not batched:  # a pass of the scheduler per placement
            async for message in arena.inbox:
                take(message)
            return
        # As the arena takes its mailbox (ArenaActor): what is waiting, then a pause.
        while True:
            take(await arena.inbox.receive())
            while True:
                with contextlib.suppress(trio.WouldBlock):
                    while True:
                        take(arena.inbox.receive_nowait())
                await nap_until(trio.current_time() + TAKE_PAUSE)
                try:
                    take(arena.inbox.receive_nowait())
                except trio.WouldBlock:
                    break

    hub = ReadHub(pause=pause)
    in_passes = 0.0
    hub_pass = hub._pass

    def timed_pass(ready: list[tuple[int, int]]) -> None:
        nonlocal in_passes
        started = time.thread_time()
        hub_pass(ready)
        in_passes += time.thread_time() - started

    hub._pass = timed_pass  # type: ignore[method-assign]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(hub.run)
        nursery.start_soon(stand_in_arena)
        for n, stream in enumerate(streams):
            session = Session(
                SessionIdentity(player_id=f"p{n}", name=f"p{n}", session_id=f"s{n}"),
                settings=settings,
                services=services,
            )
            link = SeatLink(session.ref)
            session.seat = Seat(ticket=ticket, link=link, mode="arena", region="eu")
            sessions[session.player_id] = session
            connection = Connection(
                WebSocket(stream, None, LIMITS),
                session,
                settings,
                meter=metrics.connection,
                opened_at=trio.current_time(),
                writers=nursery,
                hub=hub,
            )
            nursery.start_soon(connection.run, '{"type":"welcome"}', None)
        assert await clients.stdout.receive_some(64) == b"ready\n"
        await trio.testing.wait_all_tasks_blocked()
        before = os.times()
        in_passes = 0.0
        await clients.stdin.send_all(b"go\n")
        await done.wait()
        after = os.times()
        cpu = after.user + after.system - before.user - before.system
        system = after.system - before.system
        nursery.cancel_scope.cancel()
    await clients.stdin.send_all(b"end\n")
    with trio.fail_after(30):
        await clients.wait()
    for stream in streams:
        await trio.aclose_forcefully(stream)
    frames = expected * 3 / 2
    per_frame = 1e6 / frames
    return cpu * per_frame, arena_cpu * per_frame, system * per_frame, in_passes * per_frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.read_hub", description=__doc__)
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1.0, help="rounds of ack+2 place per s")
    parser.add_argument("--pause", type=float, default=0.005)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--arena",
        choices=("batched", "each"),
        default="batched",
        help="the stand-in arena takes its mailbox as the arena does (batched, after a "
        "pause), or wakes for each placement (each: the measure before 2026-12-06 05:30)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.players <= 1000 or not 1 <= args.seconds <= 60:
        parser.error("--players 1..1000, --seconds 1..60")
    results, passes = [], []
    for _ in range(args.runs):
        total, arena, system, in_passes = trio.run(
            run_once, args.players, args.seconds, args.rate, args.pause, args.arena == "batched"
        )
        results.append(total - arena)
        passes.append(in_passes)
        print(
            f"  run: {total - arena:5.1f} µs, {system:.1f} of them in the kernel, "
            f"{in_passes:.1f} in the hub's passes (the stand-in arena's {arena:.1f} µs left out)"
        )
    print(
        f"process: {statistics.median(results):.1f} µs of CPU per inbound frame; "
        f"the hub's passes: {statistics.median(passes):.1f} µs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
