"""Start a real tilemud server on loopback and talk to it as a player would.

Testing policy for everything under tests/integration (after trio-websocket's own):
servers bind 127.0.0.1 on port 0; tests run on the real clock, because the autojump clock
would expire timeouts while the kernel moves bytes; every test bounds itself with an
absolute ``trio.fail_after`` and asserts no wall-clock durations. Timeouts of the server
under test (hello, slow client, close) are set small through its settings instead.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import orjson
import trio
from trio_websocket import WebSocketConnection, wrap_client_stream

from tilemud.config import (
    AuthSettings,
    DatabaseSettings,
    GatewaySettings,
    LimitSettings,
    NpcSettings,
    ServerSettings,
    Settings,
)
from tilemud.player_client import MessageSocket, PlayerClient
from tilemud.protocol import PROTOCOL_VERSION
from tilemud.server import TilemudServer

SECRET = "integration-test-secret-0123456789abcdef"


def make_settings(data_dir: Path, *, durable: bool = True, **gateway: Any) -> Settings:
    """Settings for a test server: loopback, port 0, short timeouts, and (when
    ``durable``) the embedded SQLite database in ``data_dir``."""
    defaults: dict[str, Any] = {"hello_timeout": 2.0, "close_timeout": 1.0}
    defaults.update(gateway)
    return Settings(
        server=ServerSettings(ws_port=0, http_port=0, data_dir=data_dir, shutdown_grace=5.0),
        auth=AuthSettings(secret=SECRET),
        gateway=GatewaySettings(**defaults),
        database=DatabaseSettings(durable=durable),
        # Tests log in dozens of players from 127.0.0.1.
        limits=LimitSettings(guest_logins=1000),
        # Tests of players' play count tiles and scores; NPC tests switch NPCs on.
        npcs=NpcSettings(enabled=False),
    )


@asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[TilemudServer]:
    """Run the whole tree; on exit, stop it gracefully as SIGTERM would."""
    server = TilemudServer(settings)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        try:
            yield server
        finally:
            server.stop()
            with trio.move_on_after(10, shield=True):
                await server.stopped.wait()
            nursery.cancel_scope.cancel()


async def guest_login(
    server: TilemudServer, name: str, *, verify: ssl.SSLContext | bool = True
) -> tuple[str, str]:
    """Log in as a guest over HTTP (HTTPS when the server has TLS: ``verify`` trusts its
    certificate); returns (token, player_id)."""
    async with httpx.AsyncClient(base_url=server.addresses.http_url, verify=verify) as client:
        response = await client.post("/v1/auth/guest", json={"name": name})
    response.raise_for_status()
    body = response.json()
    return body["token"], body["player_id"]


async def send(connection: WebSocketConnection, frame: Mapping[str, Any]) -> None:
    """Send one JSON text frame."""
    await connection.send_message(orjson.dumps(frame).decode())


async def receive(connection: MessageSocket) -> dict[str, Any]:
    """Receive one JSON text frame as a dict."""
    message = await connection.get_message()
    decoded = orjson.loads(message)
    assert isinstance(decoded, dict)
    return decoded


@asynccontextmanager
async def open_client(
    server: TilemudServer,
    path: str | None = None,
    *,
    receive_buffer: int | None = None,
    max_message_size: int = 1024 * 1024,
) -> AsyncIterator[WebSocketConnection]:
    """A raw WebSocket client on the server's gateway.

    The test owns the TCP stream: trio-websocket's client leaves its socket open when the
    server closes first (its reader stops at EOF without closing the stream).

    Args:
        server: the server to connect to.
        path: the request path (default: the gateway's).
        receive_buffer: SO_RCVBUF for the client socket, to make a client slow on purpose.
    """
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    await sock.connect(("127.0.0.1", server.addresses.ws_port))
    stream = trio.SocketStream(sock)
    async with stream, trio.open_nursery() as nursery:
        connection = await wrap_client_stream(
            nursery,
            stream,
            "127.0.0.1",
            path or server.addresses.ws_path,
            max_message_size=max_message_size,
        )
        try:
            yield connection
        finally:
            with trio.move_on_after(2, shield=True):
                await connection.aclose()
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def player(
    server: TilemudServer,
    name: str = "ada",
    *,
    token: str | None = None,
    version: int = PROTOCOL_VERSION,
    resume_token: str | None = None,
) -> AsyncIterator[tuple[WebSocketConnection, dict[str, Any]]]:
    """A connected, greeted player speaking protocol ``version``: yields the connection
    and its welcome frame."""
    if token is None:
        token, _ = await guest_login(server, name)
    hello: dict[str, Any] = {"type": "hello", "v": version, "token": token}
    if resume_token is not None:
        hello["resume_token"] = resume_token
    async with open_client(server) as connection:
        await send(connection, hello)
        welcome = await receive(connection)
        assert welcome["type"] == "welcome", welcome
        yield connection, welcome


@attrs.frozen
class Closed:
    """How a connection ended, as the client saw it."""

    code: int | None
    frames: list[dict[str, Any]]


async def read_until_closed(connection: MessageSocket) -> Closed:
    """Read frames until the server closes; returns what arrived and the close code."""
    from trio_websocket import ConnectionClosed

    frames: list[dict[str, Any]] = []
    while True:
        try:
            frames.append(await receive(connection))
        except ConnectionClosed as closed:
            return Closed(code=closed.reason.code if closed.reason else None, frames=frames)


@asynccontextmanager
async def bot(server: TilemudServer, player_id: str) -> AsyncIterator[PlayerClient]:
    """A greeted protocol client for ``player_id`` (token minted by the server)."""
    token = server.tokens.mint_access(player_id=player_id, name=player_id)
    async with open_client(server, max_message_size=16 * 1024 * 1024) as connection:
        client = PlayerClient(connection)
        await client.hello(token)
        yield client
