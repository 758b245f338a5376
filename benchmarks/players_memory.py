"""Memory per connected player: idle players, then active ones, against a fresh server.

::

    .venv/bin/python -m benchmarks.players_memory --idle 10000 --active 1000 --seconds 250

Starts ``tilemud serve`` (benchmarks/local_server.py, SQLite, default settings except the
per-address connection-attempt limit and the connection cap, which one loopback address
opening 10,000 sockets would hit, and a known token secret so that tokens are minted here
instead of 10,000 guest logins). Then, from this one process, over loopback:

1. opens ``--idle`` WebSockets that each say ``hello`` and then only read: the server's
   RSS before and after, divided by the players, is the memory of an idle player;
2. lets ``--active`` of them join the arena (epic arenas of 300) and place a tile at a
   random cell twice a second for ``--seconds`` (most are refused as not adjacent: every
   answer is remembered all the same), acknowledging their stream once a second (from
   the join on): the RSS growth divided by the active players is what an active player
   adds. The request log keeps every answer for the reconnect grace and 30 s (150 s by
   default; 240 s before issue 13's second pass): a run of ``--seconds`` 160 or more sees
   it full. The RSS every 10 s of that phase is printed
   and kept (``active_rss_mb_timeline``), so that a growth that goes on can be told from
   one that levels off.

``--set NAME=VALUE`` passes a setting to the server (``TILEMUD_*``, repeatable), e.g.
``--set TILEMUD_GATEWAY_RECONNECT_GRACE=30`` to fill the request log's window sooner, or
``--set TILEMUD_NPCS_ENABLED=false`` to leave the boards to the players. Beside the RSS,
each step's resident memory by kind of mapping (/proc/<pid>/smaps: glibc's main heap, the
anonymous mappings where pymalloc's arenas, large allocations and other threads' malloc
arenas live, and files) and, at the end, the placements by outcome (the tiles on the
boards are the arenas' memory, not the players').

Bounded: every socket is closed and the server stopped at the end, whatever happens;
``--idle`` is at most 15,000. Prints the figures and writes them as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import attrs
import orjson
import psutil
import trio

from benchmarks.local_server import local_server
from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings
from tilemud.protocol import PROTOCOL_VERSION

SECRET: Final = "players-memory-benchmark-secret-0123456789"
#: Sockets being opened at once.
CONNECTING_AT_ONCE: Final = 100
_SEQ: Final = re.compile(rb'"seq":(\d+)')
#: Seconds between two points of the active phase's RSS timeline.
TIMELINE_EVERY: Final = 10.0


def client_frame(payload: dict[str, Any]) -> bytes:
    """A masked text frame (clients must mask)."""
    data = orjson.dumps(payload)
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    length = len(data)
    if length <= 125:
        header = bytes((0x81, 0x80 | length))
    else:
        header = bytes((0x81, 0x80 | 126)) + length.to_bytes(2, "big")
    return header + key + masked


@attrs.define
class Player:
    """One bot: its socket and the last seq seen on it."""

    stream: trio.SocketStream
    last_seq: int = 0
    acked: int = 0

    async def read_forever(self) -> None:
        """Read and drop everything; remember the last seq for the acks."""
        while data := await self.stream.receive_some(65536):
            found = _SEQ.findall(data)
            if found:
                self.last_seq = max(self.last_seq, int(found[-1]))


async def connect(port: int, token: str) -> Player:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await stream.send_all(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise ConnectionError("closed during the upgrade")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionRefusedError(head.split(b"\r\n", 1)[0].decode())
    # The current version: a hello of a version the server does not speak is closed, and
    # the "idle players" were then sockets the server had already let go.
    hello = {"type": "hello", "v": PROTOCOL_VERSION, "token": token}
    await stream.send_all(client_frame(hello))
    return Player(stream)


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def rss_by_kind(pid: int) -> dict[str, float]:
    """The resident MiB of the process by kind of mapping: ``heap`` (glibc's main heap),
    ``anonymous`` (pymalloc's arenas, large allocations, other threads' malloc arenas),
    ``file`` (code, libraries, mapped files) and ``other`` (stacks, vdso)."""
    kinds = dict.fromkeys(("heap", "anonymous", "file", "other"), 0.0)
    kind = "other"
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            first = line.split(maxsplit=6)
            if "-" in first[0] and len(first) >= 5:  # a mapping's header
                name = first[5].strip() if len(first) > 5 else ""
                if name == "[heap]":
                    kind = "heap"
                elif not name:
                    kind = "anonymous"
                elif name.startswith("/"):
                    kind = "file"
                else:
                    kind = "other"
            elif first[0] == "Rss:":
                kinds[kind] += int(first[1]) / 1024
    return {name: round(mib, 1) for name, mib in kinds.items()}


async def placements(http_url: str) -> dict[str, float]:
    """``tilemud_placements_total`` by outcome, from the server's /metrics."""
    host, port = http_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(
            f"GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        )
        text = b""
        while chunk := await stream.receive_some(65536):
            text += chunk
    found: dict[str, float] = {}
    for match in re.finditer(
        rb'^tilemud_placements_total\{[^}]*outcome="(\w+)"[^}]*\} (\S+)', text, re.MULTILINE
    ):
        outcome = match.group(1).decode()
        found[outcome] = found.get(outcome, 0.0) + float(match.group(2))
    return found


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    tokens = TokenAuthority(AuthSettings(secret=SECRET))
    env = {
        "TILEMUD_AUTH_SECRET": SECRET,
        "TILEMUD_GATEWAY_CONNECT_ATTEMPTS": str(args.idle * 2),
        "TILEMUD_GATEWAY_MAX_CONNECTIONS": str(args.idle + 100),
        "TILEMUD_GATEWAY_FRAME_RATE": "1000",
        "TILEMUD_GATEWAY_FRAME_BURST": "1000",
        **dict(setting.split("=", 1) for setting in args.set),
    }
    players: list[Player] = []
    with tempfile.TemporaryDirectory(prefix="tilemud-memory-") as tmp:
        async with (
            local_server(Path(tmp) / "data", env=env) as server,
            trio.open_nursery() as nursery,
        ):
            port = int(server.ws_url.rsplit(":", 1)[1].split("/")[0])
            await trio.sleep(2)
            rss_start = rss_mb(server.pid)
            kinds = {"start": rss_by_kind(server.pid)}
            limiter = trio.CapacityLimiter(CONNECTING_AT_ONCE)
            all_tried = trio.Event()
            failed = 0

            async def one(n: int) -> None:
                nonlocal failed
                player = None
                try:
                    async with limiter:
                        token = tokens.mint_access(player_id=f"p_mem_{n}", name=f"m{n}")
                        player = await connect(port, token)
                    players.append(player)
                except OSError:
                    failed += 1
                if len(players) + failed >= args.idle:
                    all_tried.set()
                if player is not None:
                    await player.read_forever()

            for n in range(args.idle):
                nursery.start_soon(one, n)
            with trio.move_on_after(args.connect_within):
                await all_tried.wait()
            connected = len(players)
            await trio.sleep(5)  # welcomes written, buffers settled
            rss_idle = rss_mb(server.pid)
            kinds["idle"] = rss_by_kind(server.pid)
            idle_kb = (rss_idle - rss_start) * 1024 / max(connected, 1)
            print(
                f"idle: {connected} players, RSS {rss_start:.1f} -> {rss_idle:.1f} MiB, "
                f"{idle_kb:.1f} KiB per player",
                file=sys.stderr,
            )

            active = players[: args.active]
            rng = random.Random(7)
            for player in active:
                await player.stream.send_all(
                    client_frame({"type": "join", "rid": "j", "mode": "arena", "region": "eu"})
                )
            # Acknowledged once a second, as in the play (and as clients do): what the
            # streams retain for resends is a second of frames, not the whole join.
            for _ in range(5):
                await trio.sleep(1)
                for player in active:
                    if player.last_seq > player.acked:
                        await player.stream.send_all(
                            client_frame({"type": "ack", "seq": player.last_seq})
                        )
                        player.acked = player.last_seq
            rss_joined = rss_mb(server.pid)
            kinds["joined"] = rss_by_kind(server.pid)
            end = time.monotonic() + args.seconds
            rid = 0
            samples = []
            started = time.monotonic()
            timeline: list[tuple[float, float]] = []  # (seconds into the phase, RSS MiB)
            while time.monotonic() < end:
                tick = time.monotonic()
                for player in active:
                    rid += 1
                    frame = {
                        "type": "place",
                        "rid": f"r{rid}",
                        "x": rng.randrange(256),
                        "y": rng.randrange(256),
                        "kind": "stone",
                    }
                    data = client_frame(frame)
                    if player.last_seq > player.acked:
                        data += client_frame({"type": "ack", "seq": player.last_seq})
                        player.acked = player.last_seq
                    await player.stream.send_all(data)
                samples.append(rss_mb(server.pid))
                if not timeline or tick - started >= timeline[-1][0] + TIMELINE_EVERY:
                    timeline.append((round(tick - started, 1), round(samples[-1], 1)))
                await trio.sleep(max(0.0, 0.5 - (time.monotonic() - tick)))
            rss_active = rss_mb(server.pid)
            kinds["active"] = rss_by_kind(server.pid)
            placed = await placements(server.http_url)
            timeline.append((round(time.monotonic() - started, 1), round(rss_active, 1)))
            active_kb = (rss_active - rss_joined) * 1024 / max(len(active), 1)
            with_join_kb = (rss_active - rss_idle) * 1024 / max(len(active), 1)
            print(
                f"active: {len(active)} players for {args.seconds:.0f} s, RSS "
                f"{rss_joined:.1f} -> {rss_active:.1f} MiB, {active_kb:.1f} KiB per active player "
                f"(peak {max(samples):.1f} MiB; {with_join_kb:.1f} KiB with the join)",
                file=sys.stderr,
            )
            print(
                "RSS (MiB) over the active phase: "
                + ", ".join(f"{t:.0f} s {rss:.1f}" for t, rss in timeline),
                file=sys.stderr,
            )
            print(
                "RSS (MiB) by kind: "
                + "; ".join(f"{when} {by}" for when, by in kinds.items())
                + f"; placements {placed}",
                file=sys.stderr,
            )
            nursery.cancel_scope.cancel()
    for player in players:
        await trio.aclose_forcefully(player.stream)
    return {
        "idle_players": connected,
        "failed_to_connect": failed,
        "rss_mb": {
            "start": rss_start,
            "idle": rss_idle,
            "joined": rss_joined,
            "active": rss_active,
        },
        "idle_kib_per_player": idle_kb,
        "active_players": len(active),
        "active_seconds": args.seconds,
        "active_kib_per_player": active_kb,
        "active_kib_per_player_with_join": with_join_kb,
        "active_rss_mb_timeline": timeline,
        "rss_mb_by_kind": kinds,
        "placements": placed,
        "settings": args.set,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.players_memory", description=__doc__
    )
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--active", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connect-within", type=float, default=180.0)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a TILEMUD_* setting for the server (repeatable)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.idle <= 15_000 or not 0 <= args.active <= args.idle:
        parser.error("--idle is 1..15000 and --active at most --idle")
    if any(not re.fullmatch(r"TILEMUD_\w+=.*", setting) for setting in args.set):
        parser.error("--set takes TILEMUD_NAME=VALUE")
    result = trio.run(measure, args)
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    if args.out is not None:
        args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
