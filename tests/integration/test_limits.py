"""Floods are cheap to refuse: connection attempts per address (HTTP 429 in the API's error
shape) and a frame budget per connection that counts every frame (issue 11, item 6)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import trio

from tests.integration.harness import guest_login, make_settings, running_server
from tests.integration.raw_ws import (
    PING,
    PONG,
    client_frame,
    connect,
    greeted,
    text,
    upgrade_request,
)

pytestmark = pytest.mark.integration


async def test_connection_attempts_over_the_limit_get_429(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, durable=False, connect_attempts=3, connect_window=60.0)
    with trio.fail_after(15):
        async with running_server(settings) as server:
            statuses = []
            for _ in range(3):
                async with await connect(server.addresses.ws_port) as client:
                    await client.send(upgrade_request())
                    statuses.append((await client.read_http_response())[0])
            assert statuses == [101, 101, 101]
            async with await connect(server.addresses.ws_port) as client:
                await client.send(upgrade_request())
                status, headers, body = await client.read_http_response()
            assert status == 429
            error = orjson.loads(body)["error"]
            assert error["code"] == "rate_limited"
            assert error["message"]
            assert 1 <= error["retry_after"] <= 60
            assert headers["retry-after"] == str(error["retry_after"])
            assert headers["content-type"] == "application/json"


async def test_every_frame_counts_against_the_budget(tmp_path: Path) -> None:
    """Pings (WebSocket and protocol) and acks: the first refused gets rate_limited."""
    settings = make_settings(tmp_path, durable=False, frame_rate=0.5, frame_burst=6)
    with trio.fail_after(15):
        async with running_server(settings) as server:
            token, _ = await guest_login(server, "ada")
            async with await greeted(server.addresses.ws_port, token) as client:
                # hello took one; five more are within the burst, of mixed kinds.
                await client.send(client_frame(PING, b"1"))
                await client.send(text({"type": "ping", "rid": "a"}))
                await client.send(client_frame(PING, b"2"))
                await client.send(text({"type": "ack", "seq": 0}))
                await client.send(text({"type": "ping", "rid": "b"}))
                # Over budget: the first is answered (with its rid), the next dropped.
                await client.send(text({"type": "ping", "rid": "over-1"}))
                await client.send(text({"type": "ping", "rid": "over-2"}))
                await client.send(client_frame(PING, b"over-3"))
                frames = [await client.next_frame() for _ in range(5)]
                assert [f.opcode if f else None for f in frames[:1]] == [PONG]
                answers = [f.json() for f in frames if f is not None and f.opcode != PONG]
                assert [(a["type"], a.get("rid")) for a in answers] == [
                    ("pong", "a"),
                    ("pong", "b"),
                    ("error", "over-1"),
                ]
                limited = answers[-1]
                assert limited["code"] == "rate_limited"
                assert 0 < limited["retry_after"] <= 2.0
                # After retry_after the connection serves again.
                await trio.sleep(limited["retry_after"])
                await client.send(text({"type": "ping", "rid": "later"}))
                answer = await client.next_frame()
                assert answer is not None
                assert answer.json()["rid"] == "later"
