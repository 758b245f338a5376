"""CPU per placement answered, from an arena's journal to the socket, over real loopback sockets.

::

    .venv/bin/python -m benchmarks.answer_path --players 300 --rounds 200

``--players`` sessions are attached to WebSockets by connections as the gateway attaches
them (:func:`benchmarks.send_path.seat_players`); a child process reads every socket.
Each round every player has one placement pending in its request log (``begin``, as the
read hub leaves it: not timed), and the answers are made and released as an arena does at
a tick end: ``ArenaFrames.place_result`` for each result, held by the journal
(``ArenaJournal.hold``), then ``release`` once storage has committed them: each answer
through ``SeatLink.reply`` -> ``Session.reply`` (the request log remembers it) ->
``Connection.answer_now`` -> ``WebSocket.write_free`` (one ``os.write``).

Prints µs of CPU (``time.process_time``, this process only) per answer: the text built,
and the whole path (text, release and write); and the release's user time alone
(``os.times``, 10 ms ticks: the Python side, without the kernel's part of the writes,
which swings with the machine's load). Bounded: loopback only, every socket closed
at the end. With ``--dry-write`` the socket writes take every byte and write none (the
kernel's part, which swings with the machine's load, left out).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from functools import partial
from typing import Any, Final, cast

import trio
import trio.lowlevel
from wsproto.connection import Connection, ConnectionType

from benchmarks.send_path import LIMITS, seat_players
from tilemud.actors.arena._frames import ArenaFrames
from tilemud.actors.arena._journal import ArenaJournal, HeldAnswer
from tilemud.game import Placement, PlacementResult
from tilemud.wire import WebSocket, _websocket, encode_text

# Reads every socket to its end and prints the bytes it got (checked against the answers').
_READER: Final = """
import socket, sys, selectors
port, players = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(players)]
sel = selectors.DefaultSelector()
for s in socks:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
got, open_ = 0, players
while open_:
    for key, _ in sel.select(timeout=30):
        data = key.fileobj.recv(1 << 20)
        if not data:
            sel.unregister(key.fileobj)
            open_ -= 1
        got += len(data)
print(got)
"""


class _Committed:
    """The journal's storage, every row committed at once."""

    settled = 1 << 60


def _results(players: int, n: int) -> list[PlacementResult]:
    return [
        PlacementResult(
            placement=Placement(
                player_id=f"p{p}",
                x=(p * 7 + n) % 128,
                y=(p * 3 + n) % 128,
                kind="stone",
                rid=f"r-{n}",
            ),
            outcome="accepted",
        )
        for p in range(players)
    ]


class _DryWrites:
    """``os`` for the wire layer, whose ``write`` takes every byte and writes none."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: bytes) -> int:
        return len(data)


async def run(players: int, rounds: int, *, dry: bool = False) -> dict[str, float]:
    frames = ArenaFrames("arena-1")
    tick0 = 1000
    expect = sum(
        len(encode_text(frames.place_result(r, rid=f"r-{n}", tick=tick0 + n)))
        for n in range(rounds)
        for r in _results(players, n)
    )
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    reader = await trio.lowlevel.open_process(
        [sys.executable, "-c", _READER, str(port), str(players)], stdout=subprocess.PIPE
    )
    streams = [await listener.accept() for _ in range(players)]
    await listener.aclose()
    sockets = [WebSocket(s, Connection(ConnectionType.SERVER), LIMITS) for s in streams]
    if dry:
        setattr(_websocket, "os", _DryWrites())  # noqa: B010 - a module of ours, for the run
    built = whole = user = 0.0
    async with trio.open_nursery() as nursery:
        seats, connections = await seat_players(sockets, nursery)
        links = [seats.link_of(f"p{p}") for p in range(players)]
        sessions = [c.session for c in connections]
        journal = ArenaJournal(
            arena_id="arena-1",
            storage=cast(Any, _Committed()),
            snapshot_ticks=10,
            wake=lambda: None,
        )
        for n in range(rounds):
            results = _results(players, n)
            for session in sessions:
                session.requests.begin(f"r-{n}")
            started = time.process_time()
            held: list[HeldAnswer] = []
            for result, link in zip(results, links, strict=True):
                assert link is not None
                assert result.placement.rid is not None
                frame = frames.place_result(result, rid=result.placement.rid, tick=tick0 + n)
                held.append((link, result.placement.rid, frame))
            middle = time.process_time()
            user_before = os.times().user
            journal.hold(n, held)
            journal.release()
            user += os.times().user - user_before
            ended = time.process_time()
            built += middle - started
            whole += ended - started
            await trio.lowlevel.checkpoint()
            while any(s.pending for s in sockets):  # noqa: ASYNC110 - measuring, not waiting
                await trio.sleep(0.001)
        nursery.cancel_scope.cancel()
    setattr(_websocket, "os", os)  # noqa: B010
    if any(c.frames_sent < rounds for c in connections):
        raise SystemExit("an answer was not written at once")
    for s in streams:
        s.socket.shutdown(socket.SHUT_WR)
    with trio.fail_after(60):
        assert reader.stdout is not None
        out = b""
        while chunk := await reader.stdout.receive_some():
            out += chunk
        await reader.wait()
    if dry:
        expect = 0
    if int(out) != expect:
        raise SystemExit(f"the readers got {int(out)} bytes, {expect} were answered")
    for s in streams:
        await trio.aclose_forcefully(s)
    answers = players * rounds
    return {
        "place_result": built * 1e6 / answers,
        "answer path": whole * 1e6 / answers,
        "release, user": user * 1e6 / answers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.answer_path", description=__doc__)
    parser.add_argument("--players", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--dry-write",
        action="store_true",
        help="the socket writes take every byte and write none: the Python side alone",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.players <= 2000 or not 1 <= args.rounds <= 10_000:
        parser.error("--players 1..2000, --rounds 1..10000")
    results = trio.run(partial(run, dry=args.dry_write), args.players, args.rounds)
    for what, us in results.items():
        print(f"{what:<14} {us:6.2f} µs of CPU per answer", end="")
        print(f" ({args.players} players, {args.rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
