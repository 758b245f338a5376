"""What one idle player's connection holds, in Python allocations (tracemalloc).

::

    .venv/bin/python -m benchmarks.connection_memory --clients 300 --top 25

Runs the whole server tree in this process (loopback, port 0, no database: only the
connections' own state is measured) and opens the idle players from a child process
(``--as-clients``), so that every allocation traced here is the server's. Each player
upgrades, says ``hello`` with a minted token, reads its ``welcome`` and then only waits.
A first batch of players (``--warm``) fills the caches a first connection fills (code
objects, interned strings, the session keeper's tables); then the snapshot, then
``--clients`` more players, a settling pause and a second snapshot. The difference divided
by ``--clients`` is the memory of one idle connection; ``--top`` lists where it was
allocated (by file and line), largest first.

Also what ``tests/net/test_connection_memory.py`` holds the bound with.
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import random
import re
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import attrs
import orjson
import psutil
import trio

from benchmarks.allocator import allocator_state, trim
from tilemud.auth import TokenAuthority
from tilemud.config import (
    AuthSettings,
    DatabaseSettings,
    GatewaySettings,
    LimitSettings,
    NpcSettings,
    ServerSettings,
    Settings,
)
from tilemud.protocol import PROTOCOL_VERSION
from tilemud.server import TilemudServer

SECRET: Final = "connection-memory-benchmark-secret-0123456789"
#: Seconds the players get to connect and be welcomed, and the whole run at most.
CONNECT_WITHIN: Final = 120.0
#: Seconds after the last welcome before the second snapshot (writes settle).
SETTLE: Final = 1.0
_SEQ: Final = re.compile(rb'"seq":(\d+)')


@attrs.frozen
class Site:
    """Bytes allocated at one line of code, per connection."""

    where: str
    bytes_per_connection: float
    blocks_per_connection: float


@attrs.frozen
class ConnectionMemory:
    """The measurement: Python bytes per idle connection and where they were allocated."""

    clients: int
    bytes_per_connection: float
    blocks_per_connection: float
    sites: list[Site]
    #: This process's RSS growth between the two snapshots, per connection (tracemalloc's
    #: own bookkeeping included: a rough figure beside the exact one above).
    rss_bytes_per_connection: float


# -- the clients' process ------------------------------------------------------------


def _masked_text(payload: bytes) -> bytes:
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert len(payload) <= 0xFFFF
    if len(payload) <= 125:
        header = bytes((0x81, 0x80 | len(payload)))
    else:
        header = bytes((0x81, 0x80 | 126)) + len(payload).to_bytes(2, "big")
    return header + key + masked


async def _one_client(port: int, path: str, token: str) -> trio.SocketStream:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    await stream.send_all(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        received += chunk
    if not received.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(received.split(b"\r\n", 1)[0].decode())
    hello = {"type": "hello", "v": PROTOCOL_VERSION, "token": token}
    await stream.send_all(_masked_text(orjson.dumps(hello)))
    received = received.split(b"\r\n\r\n", 1)[1]
    while b'"welcome"' not in received:
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise ConnectionError("closed before the welcome")
        received += chunk
    return stream


@attrs.define
class _Client:
    """One player of the clients' process: its socket and the last seq it read."""

    stream: trio.SocketStream
    last_seq: int = 0

    async def read_forever(self) -> None:
        while data := await self.stream.receive_some(65536):
            found = _SEQ.findall(data)
            if found:
                self.last_seq = max(self.last_seq, int(found[-1]))


async def _play(clients: list[_Client], seconds: float) -> None:
    """Join an arena, then place a tile at a random cell twice a second (most are refused
    as not adjacent; every answer is remembered all the same) and ack what was read."""
    rng = random.Random(7)
    join = {"type": "join", "rid": "j", "mode": "arena", "region": "eu"}
    for client in clients:
        await client.stream.send_all(_masked_text(orjson.dumps(join)))
    await trio.sleep(2)
    rid = 0
    end = trio.current_time() + seconds
    while trio.current_time() < end:
        started = trio.current_time()
        for client in clients:
            rid += 1
            place = {
                "type": "place",
                "rid": f"r{rid}",
                "x": rng.randrange(256),
                "y": rng.randrange(256),
                "kind": "stone",
            }
            data = _masked_text(orjson.dumps(place))
            if client.last_seq:
                data += _masked_text(orjson.dumps({"type": "ack", "seq": client.last_seq}))
            await client.stream.send_all(data)
        await trio.sleep_until(started + 0.5)


async def _run_clients(port: int, path: str, first: int, count: int) -> None:
    """Connect ``count`` players, say "ready" on stdout, then follow stdin's commands
    ("play <seconds>": join and place, then say "played") until it ends."""
    tokens = TokenAuthority(AuthSettings(secret=SECRET))
    clients: list[_Client] = []
    limiter = trio.CapacityLimiter(50)

    async def connect(n: int) -> None:
        async with limiter:
            token = tokens.mint_access(player_id=f"p_conn_{n}", name=f"c{n}")
            clients.append(_Client(await _one_client(port, path, token)))

    async with trio.open_nursery() as nursery:
        for n in range(first, first + count):
            nursery.start_soon(connect, n)
    print("ready", flush=True)
    async with trio.open_nursery() as nursery:
        for client in clients:
            nursery.start_soon(client.read_forever)
        while command := await trio.to_thread.run_sync(sys.stdin.readline):
            if command.startswith("play "):
                await _play(clients, float(command.split()[1]))
                print("played", flush=True)
        nursery.cancel_scope.cancel()
    for client in clients:
        await trio.aclose_forcefully(client.stream)


# -- the server's process ------------------------------------------------------------


def _settings(
    data_dir: Path, clients: int, *, durable: bool = False, reconnect_grace: float = 120.0
) -> Settings:
    return Settings(
        server=ServerSettings(ws_port=0, http_port=0, data_dir=data_dir, shutdown_grace=5.0),
        auth=AuthSettings(secret=SECRET),
        gateway=GatewaySettings(
            connect_attempts=clients * 2 + 100,
            max_connections=clients * 2 + 100,
            reconnect_grace=reconnect_grace,
        ),
        database=DatabaseSettings(durable=durable),
        limits=LimitSettings(guest_logins=0),
        npcs=NpcSettings(enabled=False),
    )


async def _said(child: trio.Process) -> bytes:
    """The child's next line on stdout."""
    assert child.stdout is not None
    said = b""
    while not said.endswith(b"\n"):
        chunk = await child.stdout.receive_some(1)
        if not chunk:
            break
        said += chunk
    return said.strip()


async def _clients(port: int, path: str, first: int, count: int) -> trio.Process:
    """Start a child process holding ``count`` idle players; return once all are welcomed."""
    child = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "benchmarks.connection_memory",
            "--as-clients",
            f"{port},{path},{first},{count}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    said = await _said(child)
    if said != b"ready":
        child.kill()
        raise RuntimeError(f"the clients' process failed (said {said!r})")
    return child


async def _end(child: trio.Process) -> None:
    """Let the child close its players and exit; killed if it has not within 20 s."""
    assert child.stdin is not None
    with trio.CancelScope(shield=True):
        await child.stdin.aclose()
        with trio.move_on_after(20):
            await child.wait()
        if child.returncode is None:
            child.kill()
            await child.wait()


async def measure(
    clients: int,
    *,
    warm: int = 50,
    top: int = 20,
    by_caller: bool = False,
    active_seconds: float = 0.0,
    durable: bool = False,
    within: float = CONNECT_WITHIN,
    reconnect_grace: float = 120.0,
    allocator: bool = False,
    settle: float = SETTLE,
) -> ConnectionMemory:
    """Measure ``clients`` idle connections against a server run in this process.

    With ``active_seconds``, what the same players add while they play that long instead
    (the first snapshot taken once they are idle, the second after their play).
    Bounded by ``within`` seconds (plus the play); both children are ended whatever
    happens. ``durable`` runs the server with its SQLite database (default: none, so that
    only the connections' own state is measured).
    ``by_caller`` groups the allocations by the innermost line of tilemud's own code in
    their stacks (what in tilemud caused them) instead of the line that allocated.
    ``allocator`` traces nothing (tracemalloc's own allocations would blur the picture)
    and prints where the RSS is by allocator (:mod:`benchmarks.allocator`) at each
    snapshot instead, then once more after ``malloc_trim``; its result lists no sites.
    ``settle``: seconds between the end of the play and the last snapshot (tracemalloc
    slows the server down: what the players sent may still be in flight after 1 s).
    """
    children: list[trio.Process] = []
    with tempfile.TemporaryDirectory(prefix="tilemud-connmem-") as tmp:
        server = TilemudServer(
            _settings(Path(tmp), warm + clients, durable=durable, reconnect_grace=reconnect_grace)
        )
        process = psutil.Process()
        if not allocator:
            tracemalloc.start(_CALLER_FRAMES if by_caller else 1)
        try:
            with trio.fail_after(within + active_seconds * 2 + settle):
                async with trio.open_nursery() as nursery:
                    addresses = await nursery.start(server.run)
                    port, path = addresses.ws_port, addresses.ws_path
                    try:
                        children.append(await _clients(port, path, 0, warm))
                        await trio.sleep(SETTLE)
                        before = _snapshot("warm", allocator=allocator)
                        rss_before = process.memory_info().rss
                        children.append(await _clients(port, path, warm, clients))
                        await trio.sleep(SETTLE)
                        after = _snapshot("idle", allocator=allocator)
                        if active_seconds:
                            before = after
                            rss_before = process.memory_info().rss
                            after = await _after_play(
                                children[-1], active_seconds, allocator=allocator, settle=settle
                            )
                        rss_after = process.memory_info().rss
                        if allocator:
                            trim()
                            _snapshot("trimmed", allocator=allocator)
                    finally:
                        for child in children:
                            await _end(child)
                        server.stop()
                        with trio.move_on_after(10, shield=True):
                            await server.stopped.wait()
                        nursery.cancel_scope.cancel()
        finally:
            if not allocator:
                tracemalloc.stop()
            for child in children:
                if child.returncode is None:
                    child.kill()
    if before is None or after is None:  # (allocator: nothing traced)
        return ConnectionMemory(
            clients=clients,
            bytes_per_connection=0.0,
            blocks_per_connection=0.0,
            sites=[],
            rss_bytes_per_connection=(rss_after - rss_before) / clients,
        )
    stats = after.compare_to(before, "traceback" if by_caller else "lineno")
    total = sum(stat.size_diff for stat in stats)
    blocks = sum(stat.count_diff for stat in stats)
    grouped: dict[str, list[int]] = {}
    for stat in stats:
        where = _caller(stat.traceback) if by_caller else _frame(stat.traceback[-1])
        sums = grouped.setdefault(where, [0, 0])
        sums[0] += stat.size_diff
        sums[1] += stat.count_diff
    sites = [
        Site(
            where=where,
            bytes_per_connection=size / clients,
            blocks_per_connection=count / clients,
        )
        for where, (size, count) in sorted(grouped.items(), key=lambda item: -item[1][0])[:top]
    ]
    return ConnectionMemory(
        clients=clients,
        bytes_per_connection=total / clients,
        blocks_per_connection=blocks / clients,
        sites=sites,
        rss_bytes_per_connection=(rss_after - rss_before) / clients,
    )


def _snapshot(when: str, *, allocator: bool) -> tracemalloc.Snapshot | None:
    """After a full collection: tracemalloc's snapshot, or (``allocator``) None and the
    allocators' state printed."""
    gc.collect()
    if not allocator:
        return tracemalloc.take_snapshot()
    print(f"{when}: {allocator_state().line()}", file=sys.stderr, flush=True)
    return None


async def _after_play(
    child: trio.Process, seconds: float, *, allocator: bool, settle: float = SETTLE
) -> tracemalloc.Snapshot | None:
    assert child.stdin is not None
    await child.stdin.send_all(f"play {seconds}\n".encode())
    if allocator:  # the allocators' state as the play goes on
        with trio.move_on_after(seconds + 2):
            while True:
                await trio.sleep(min(30.0, seconds / 4))
                print(f"playing: {allocator_state().line()}", file=sys.stderr, flush=True)
    said = await _said(child)
    if said != b"played":
        raise RuntimeError(f"the clients' process failed (said {said!r})")
    await trio.sleep(settle)
    return _snapshot("played", allocator=allocator)


#: Frames kept per allocation when grouping by tilemud's line (enough to reach it).
_CALLER_FRAMES: Final = 40


def _frame(frame: tracemalloc.Frame) -> str:
    return f"{_short(frame.filename)}:{frame.lineno}"


def _caller(traceback: tracemalloc.Traceback) -> str:
    """The innermost frame of tilemud's own code (a traceback lists the oldest first)."""
    for frame in reversed(traceback):
        if "/tilemud/" in frame.filename:
            return _frame(frame)
    return _frame(traceback[-1])


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/tilemud/", "lib/python3"):
        index = filename.find(marker)
        if index >= 0:
            return filename[index + len(marker) :] if marker != "/tilemud/" else filename[index:]
    return filename


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.connection_memory", description=__doc__
    )
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--by-caller",
        action="store_true",
        help="group by the innermost line of tilemud's code that led to each allocation",
    )
    parser.add_argument(
        "--active-seconds",
        type=float,
        default=0.0,
        help="measure what the players add while they join and place twice a second",
    )
    parser.add_argument("--durable", action="store_true", help="with the SQLite database")
    parser.add_argument(
        "--reconnect-grace",
        type=float,
        default=120.0,
        help="the gateway's reconnect grace (the request log keeps answers after it)",
    )
    parser.add_argument(
        "--allocator",
        action="store_true",
        help="trace nothing; print where the RSS is by allocator at each step",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=SETTLE,
        help="seconds after the play before the last snapshot",
    )
    parser.add_argument("--as-clients", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.as_clients:
        port, path, first, count = args.as_clients.split(",")
        trio.run(_run_clients, int(port), path, int(first), int(count))
        return 0
    if not 1 <= args.clients <= 5000:
        parser.error("--clients is 1..5000")
    result = trio.run(
        lambda: measure(
            args.clients,
            warm=args.warm,
            top=args.top,
            by_caller=args.by_caller,
            active_seconds=args.active_seconds,
            durable=args.durable,
            reconnect_grace=args.reconnect_grace,
            allocator=args.allocator,
            settle=args.settle,
        )
    )
    print(
        f"{result.clients} {'active' if args.active_seconds else 'idle'} connections: "
        f"{result.bytes_per_connection:,.0f} bytes "
        f"({result.blocks_per_connection:.1f} blocks) per connection; RSS "
        f"{result.rss_bytes_per_connection:,.0f} bytes per connection"
    )
    for site in result.sites:
        print(
            f"  {site.bytes_per_connection:8,.0f} B {site.blocks_per_connection:6.2f} blocks"
            f"  {site.where}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
