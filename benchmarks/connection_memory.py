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
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import attrs
import orjson
import trio

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


async def _run_clients(port: int, path: str, first: int, count: int) -> None:
    """Connect ``count`` players, say "ready" on stdout, then hold them until stdin ends."""
    tokens = TokenAuthority(AuthSettings(secret=SECRET))
    streams: list[trio.SocketStream] = []
    limiter = trio.CapacityLimiter(50)

    async def connect(n: int) -> None:
        async with limiter:
            token = tokens.mint_access(player_id=f"p_conn_{n}", name=f"c{n}")
            streams.append(await _one_client(port, path, token))

    async with trio.open_nursery() as nursery:
        for n in range(first, first + count):
            nursery.start_soon(connect, n)
    print("ready", flush=True)
    await trio.to_thread.run_sync(sys.stdin.read)
    for stream in streams:
        await trio.aclose_forcefully(stream)


# -- the server's process ------------------------------------------------------------


def _settings(data_dir: Path, clients: int) -> Settings:
    return Settings(
        server=ServerSettings(ws_port=0, http_port=0, data_dir=data_dir, shutdown_grace=5.0),
        auth=AuthSettings(secret=SECRET),
        gateway=GatewaySettings(
            connect_attempts=clients * 2 + 100, max_connections=clients * 2 + 100
        ),
        database=DatabaseSettings(durable=False),
        limits=LimitSettings(guest_logins=0),
        npcs=NpcSettings(enabled=False),
    )


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
    assert child.stdout is not None
    said = b""
    while b"\n" not in said:
        chunk = await child.stdout.receive_some()
        if not chunk:
            break
        said += chunk
    if said.strip() != b"ready":
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
    clients: int, *, warm: int = 50, top: int = 20, by_caller: bool = False
) -> ConnectionMemory:
    """Measure ``clients`` idle connections against a server run in this process.

    Bounded by :data:`CONNECT_WITHIN`; both children are ended whatever happens.
    ``by_caller`` groups the allocations by the innermost line of tilemud's own code in
    their stacks (what in tilemud caused them) instead of the line that allocated.
    """
    children: list[trio.Process] = []
    with tempfile.TemporaryDirectory(prefix="tilemud-connmem-") as tmp:
        server = TilemudServer(_settings(Path(tmp), warm + clients))
        tracemalloc.start(_CALLER_FRAMES if by_caller else 1)
        try:
            with trio.fail_after(CONNECT_WITHIN):
                async with trio.open_nursery() as nursery:
                    addresses = await nursery.start(server.run)
                    port, path = addresses.ws_port, addresses.ws_path
                    try:
                        children.append(await _clients(port, path, 0, warm))
                        await trio.sleep(SETTLE)
                        gc.collect()
                        before = tracemalloc.take_snapshot()
                        children.append(await _clients(port, path, warm, clients))
                        await trio.sleep(SETTLE)
                        gc.collect()
                        after = tracemalloc.take_snapshot()
                    finally:
                        for child in children:
                            await _end(child)
                        server.stop()
                        with trio.move_on_after(10, shield=True):
                            await server.stopped.wait()
                        nursery.cancel_scope.cancel()
        finally:
            tracemalloc.stop()
            for child in children:
                if child.returncode is None:
                    child.kill()
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
    )


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
    parser.add_argument("--as-clients", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.as_clients:
        port, path, first, count = args.as_clients.split(",")
        trio.run(_run_clients, int(port), path, int(first), int(count))
        return 0
    if not 1 <= args.clients <= 5000:
        parser.error("--clients is 1..5000")
    result = trio.run(
        lambda: measure(args.clients, warm=args.warm, top=args.top, by_caller=args.by_caller)
    )
    print(
        f"{result.clients} idle connections: {result.bytes_per_connection:,.0f} bytes "
        f"({result.blocks_per_connection:.1f} blocks) per connection"
    )
    for site in result.sites:
        print(
            f"  {site.bytes_per_connection:8,.0f} B {site.blocks_per_connection:6.2f} blocks"
            f"  {site.where}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
