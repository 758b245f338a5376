"""``tilemud serve`` as a real process, for the tests that start, signal and kill one.

The server runs as ``python -m tilemud serve`` with a JSON log on stderr; the test learns
the bound ports from that log ("player gateway listening", "http listening"), exactly as
an operator would. A server that outlives its test is killed in a ``finally``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import trio
from trio_websocket import WebSocketConnection, wrap_client_stream

from benchmarks.local_server import ServerLog

#: Every subprocess test ends within this many seconds, or fails.
BOUND = 30
WS_PATH = "/v1/ws"
SECRET = "process-test-secret-0123456789abcdef-0123"


class ServerProcess:
    """A running ``tilemud serve`` and its log."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.log = ServerLog()
        self.ws_port = 0
        self.http_port = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def learn_ports(self) -> None:
        """Read the bound ports from the log: they were asked for as 0."""
        gateway = await self.log.wait_for("player gateway listening")
        http = await self.log.wait_for("http listening")
        self.ws_port = _port_of(gateway["url"], "ws")
        self.http_port = _port_of(http["url"], "http")

    async def exit_status(self) -> int:
        """Wait for the process to exit and for its log to be read to the end."""
        status = await self.process.wait()
        await self.log.wait_ended()
        return status


def _port_of(url: str, scheme: str) -> int:
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname) == (scheme, "127.0.0.1"), url
    assert parts.port is not None, url
    return parts.port


def server_environment(env: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without its TILEMUD_* settings, plus ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TILEMUD_")}
    # Tests log in dozens of players from 127.0.0.1: a guest login limit far above that.
    # Tests of players' play count tiles and scores; NPC tests switch NPCs on in ``env``.
    limit = {"TILEMUD_LIMITS_GUEST_LOGINS": "1000", "TILEMUD_NPCS_ENABLED": "false"}
    return {**clean, "TILEMUD_AUTH_SECRET": SECRET, **limit, **env}


@asynccontextmanager
async def tilemud_process(
    tmp_path: Path, argv: Sequence[str], *, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    """Run ``python -m tilemud *argv`` with stderr read into a :class:`ServerLog`.

    The process is killed on the way out if it is still running (the test failed, or did
    not wait for it).
    """
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tilemud", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=server_environment(env or {}),
        cwd=tmp_path,
    )
    server = ServerProcess(process)
    assert process.stderr is not None
    try:
        async with process.stderr, trio.open_nursery() as nursery:
            nursery.start_soon(server.log.read_from, process.stderr)
            try:
                yield server
            finally:
                process.kill()  # no-op once it exited; ends the log at once otherwise
    finally:
        process.kill()
        with trio.move_on_after(5, shield=True):
            await process.wait()


def serve_argv(tmp_path: Path, *extra: str) -> list[str]:
    data_dir = str(tmp_path / "data")
    ports = ["--ws-port", "0", "--http-port", "0"]
    return ["serve", *ports, "--data-dir", data_dir, "--log-format", "json", *extra]


@asynccontextmanager
async def running_process(
    tmp_path: Path, *, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    """A server process that has bound both ports."""
    async with tilemud_process(tmp_path, serve_argv(tmp_path), env=env) as server:
        await server.learn_ports()
        yield server


@asynccontextmanager
async def open_client(server: ServerProcess) -> AsyncIterator[WebSocketConnection]:
    """A WebSocket client whose TCP stream the test owns (see harness.open_client)."""
    stream = await trio.open_tcp_stream("127.0.0.1", server.ws_port)
    async with stream, trio.open_nursery() as nursery:
        connection = await wrap_client_stream(nursery, stream, "127.0.0.1", WS_PATH)
        try:
            yield connection
        finally:
            with trio.move_on_after(2, shield=True):
                await connection.aclose()
            nursery.cancel_scope.cancel()


async def guest_login(server: ServerProcess, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        response = await http.post("/v1/auth/guest", json={"name": name})
    response.raise_for_status()
    body = response.json()
    assert isinstance(body, dict)
    return body
