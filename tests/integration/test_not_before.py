"""A token that is not valid yet (JWT ``nbf`` in the future) is refused at both doors.

The HTTP API answers 401 ``invalid_token``; the WebSocket ``hello`` gets an ``error``
frame ``invalid_token`` and close 4001 (docs/protocol.md). Within ``auth.leeway`` the
same token is accepted. Real server on loopback, real clients, the real clock.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
import httpx
import jwt
import orjson
import pytest
import trio

from tests.integration.harness import (
    SECRET,
    make_settings,
    open_client,
    read_until_closed,
    receive,
    running_server,
)
from tilemud.config import Settings
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration


def token_valid_from(not_before: float) -> str:
    now = int(time.time())
    payload = {
        "iss": "tilemud",
        "aud": "tilemud-client",
        "sub": "p_early",
        "typ": "access",
        "name": "early",
        "roles": ["admin"],
        "iat": now,
        "nbf": int(not_before),
        "exp": now + 3600,
    }
    return jwt.encode(payload, SECRET, algorithm="HS256")


async def hello_with(server: TilemudServer, token: str) -> tuple[int | None, list[Any]]:
    async with open_client(server) as connection:
        await connection.send_message(
            orjson.dumps({"type": "hello", "v": 2, "token": token}).decode()
        )
        first = await receive(connection)
        if first["type"] == "welcome":
            return None, [first]
        closed = await read_until_closed(connection)
        return closed.code, [first, *closed.frames]


async def replay_status(server: TilemudServer, token: str) -> tuple[int, Any]:
    async with httpx.AsyncClient(base_url=server.addresses.http_url) as client:
        response = await client.get(
            "/v1/replays/a_none", headers={"Authorization": f"Bearer {token}"}
        )
    return response.status_code, response.json()


def with_leeway(settings: Settings, leeway: float) -> Settings:
    return attrs.evolve(settings, auth=attrs.evolve(settings.auth, leeway=leeway))


async def test_a_token_not_valid_yet_is_refused_over_http_and_websocket(
    tmp_path: Path,
) -> None:
    early = token_valid_from(time.time() + 600)
    with trio.fail_after(20):
        async with running_server(make_settings(tmp_path)) as server:
            status, body = await replay_status(server, early)
            assert status == 401
            assert body["error"]["code"] == "invalid_token"
            code, frames = await hello_with(server, early)
            assert code == 4001
            assert [f["code"] for f in frames] == ["invalid_token"]

            # The same claims, valid from now: past the token checks (the arena is
            # unknown, and a welcome comes).
            now = token_valid_from(time.time() - 1)
            assert (await replay_status(server, now))[0] == 404
            code, frames = await hello_with(server, now)
            assert code is None
            assert frames[0]["type"] == "welcome"


async def test_nbf_within_the_leeway_is_accepted(tmp_path: Path) -> None:
    slightly_early = token_valid_from(time.time() + 20)
    with trio.fail_after(20):
        settings = with_leeway(make_settings(tmp_path), 60.0)
        async with running_server(settings) as server:
            assert (await replay_status(server, slightly_early))[0] == 404
            code, frames = await hello_with(server, slightly_early)
            assert (code, frames[0]["type"]) == (None, "welcome")
