"""``GET /readyz`` on a running server: ready, not ready while its database is cut, ready
again once it is back; ``/healthz`` (liveness) stays up throughout.

A loopback TCP proxy sits between the server and this run's PostgreSQL database (the
shared PostgreSQL is never stopped), as in test_outage.py. Real sockets, the real clock,
one absolute deadline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa
import trio

from tests.integration.harness import make_settings, running_server
from tests.storage.conftest import truncate_all
from tests.storage.proxy import TcpProxy, database_through
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration

ALL_UP = {"storage": "up", "world": "up", "gateway": "up", "http": "up"}


async def readyz(server: TilemudServer) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.addresses.http_url) as client:
        response = await client.get("/readyz")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert isinstance(body, dict)
    return response.status_code, body


async def healthz(server: TilemudServer) -> int:
    async with httpx.AsyncClient(base_url=server.addresses.http_url) as client:
        return (await client.get("/healthz")).status_code


async def test_a_node_on_sqlite_is_ready_with_every_root_child_up(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            status, body = await readyz(server)
            assert status == 200, body
            assert body["status"] == "ready"
            assert body["children"] == ALL_UP
            assert body["stopping"] is False
            assert body["database"]["status"] == "ok"
            assert 0 <= body["database"]["latency_ms"] < 2000


async def test_a_node_without_a_database_does_not_ask_one(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path, durable=False)) as server:
            status, body = await readyz(server)
            assert status == 200, body
            assert body["children"] == {"world": "up", "gateway": "up", "http": "up"}
            assert body["database"] == {"status": "not_used"}


async def test_a_cut_database_makes_the_node_not_ready_until_it_is_back(
    tmp_path: Path, postgres_url: str
) -> None:
    truncate_all(postgres_url)
    target = sa.make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            settings = database_through(make_settings(tmp_path), port, postgres_url)
            settings = attrs.evolve(
                settings, server=attrs.evolve(settings.server, readiness_timeout=1.0)
            )
            async with running_server(settings) as server:
                status, body = await readyz(server)
                assert (status, body["status"], body["children"]) == (200, "ready", ALL_UP)
                assert body["database"]["status"] == "ok"

                proxy.cut()
                status, body = await readyz(server)
                assert status == 503, body
                assert body["status"] == "not_ready"
                # The proxy refuses at once: the storage actor reports the database
                # unavailable well within the bound.
                assert body["database"]["status"] == "unavailable"
                assert body["children"] == ALL_UP
                # Liveness does not follow the database: restarting the node would not help.
                assert await healthz(server) == 200

                await proxy.restore()
                # The pool's connections were cut with the proxy: the first ping after the
                # restore may find a dead one (the pool then reconnects).
                deadline = trio.current_time() + 10
                while (status := (await readyz(server))[0]) != 200:
                    assert trio.current_time() < deadline, "never ready again"
                    await trio.sleep(0.1)
                status, body = await readyz(server)
                assert (status, body["database"]["status"]) == (200, "ok")
            nursery.cancel_scope.cancel()
