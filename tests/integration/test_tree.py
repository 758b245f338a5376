"""The whole server tree over real sockets: capacity, health, graceful shutdown."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import attrs
import httpx
import pytest
import trio

from tests.integration.harness import (
    make_settings,
    open_client,
    player,
    read_until_closed,
    receive,
    running_server,
    send,
)
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration


async def test_200_idle_connections_stay_connected(tmp_path: Path) -> None:
    count = 200
    # Short enough to idle past it, long enough that a busy machine pausing the process
    # between a connect and its hello does not time the handshake out.
    settings = make_settings(tmp_path, hello_timeout=2.0)
    with trio.fail_after(60):
        async with running_server(settings) as server, AsyncExitStack() as stack:
            tokens = [
                server.tokens.mint_access(player_id=f"p_{i}", name=f"player {i}")
                for i in range(count)
            ]
            connections = [
                (await stack.enter_async_context(player(server, token=token)))[0]
                for token in tokens
            ]
            assert len(server.gateway.sessions) == count
            # Idle for longer than any handshake or keep-alive timeout of the server.
            await trio.sleep(2.5)
            for index, connection in enumerate(connections):
                await send(connection, {"type": "ping", "rid": str(index)})
            for index, connection in enumerate(connections):
                assert (await receive(connection))["rid"] == str(index)
            assert len(server.gateway.sessions) == count


async def test_healthz_reports_the_tree_and_its_sessions(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            async with player(server, "ada"), player(server, "bob"):
                async with httpx.AsyncClient(base_url=server.addresses.http_url) as client:
                    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["sessions"] == 2
    assert body["children"] == {"gateway": "up", "http": "up"}


async def test_health_is_down_once_the_tree_is_stopping(tmp_path: Path) -> None:
    with trio.fail_after(10):
        async with running_server(make_settings(tmp_path)) as server:
            assert server.health().ok
            server.stop()
            await server.stopped.wait()
            assert not server.health().ok


async def test_guest_login_can_be_switched_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings = attrs.evolve(settings, auth=attrs.evolve(settings.auth, guest_login=False))
    with trio.fail_after(10):
        async with running_server(settings) as server:
            async with httpx.AsyncClient(base_url=server.addresses.http_url) as client:
                response = await client.post("/v1/auth/guest", json={"name": "ada"})
            # Players still get in with a token minted by the operator.
            token = server.tokens.mint_access(player_id="p_ops", name="ops")
            async with player(server, token=token) as (_, welcome):
                assert welcome["player_id"] == "p_ops"
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "guest_login_disabled"


async def test_graceful_stop_closes_every_connection_with_1001(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, hello_timeout=30)
    server = TilemudServer(settings)
    codes: list[int | None] = []
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            greeted = trio.Semaphore(0)

            async def greeted_player(name: str) -> None:
                async with player(server, name) as (connection, _):
                    greeted.release()
                    codes.append((await read_until_closed(connection)).code)

            async def silent_client() -> None:
                # Connected, but still in its handshake when the server stops.
                async with open_client(server) as connection:
                    greeted.release()
                    codes.append((await read_until_closed(connection)).code)

            for index in range(10):
                nursery.start_soon(greeted_player, f"p{index}")
            nursery.start_soon(silent_client)
            for _ in range(11):
                await greeted.acquire()
            # The server counts a connection just after its upgrade, which the client may
            # see first; nothing in the server signals it, so look until it is counted.
            while server.gateway.connections < 11:  # noqa: ASYNC110
                await trio.sleep(0.01)
            server.stop()
            await server.stopped.wait()
    assert codes == [1001] * 11
