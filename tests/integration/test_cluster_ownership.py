"""Arena ownership across real nodes: matchmaking spreads arenas, kill -9 fails over, drain.

Two ``tilemud serve`` processes on loopback share this run's PostgreSQL database
(tests/storage/conftest.py) and a Redis key prefix of this test's own (tests/conftest.py),
with a short heartbeat (0.25 s) and node lease (2 s) so that a failover takes seconds.
Every player reaches its node only through ``GET /v1/discovery`` and the ``elsewhere``
answer, as a real client does.

Policy of tests/integration/harness.py: loopback, port 0, the real clock (Redis,
PostgreSQL and other processes are real I/O), one absolute ``trio.fail_after`` per test;
every process is killed on the way out.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_client_stream

from tests.integration.processes import SECRET, ServerProcess, guest_login, running_process
from tests.redis_probe import count_keys
from tests.storage.conftest import truncate_all
from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, RedisSettings
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Join, Joined, Place, PlaceResult

pytestmark = pytest.mark.integration

BOUND = 90
HEARTBEAT = 0.25
NODE_TTL = 2.0
#: Placements each player has acknowledged before the kill.
ENOUGH = 5


def node_env(postgres_url: str, redis: RedisSettings, node_id: str, **extra: str) -> dict[str, str]:
    assert redis.url is not None
    return {
        "TILEMUD_DATABASE_URL": postgres_url,
        "TILEMUD_REDIS_URL": redis.url,
        "TILEMUD_REDIS_KEY_PREFIX": redis.key_prefix,
        "TILEMUD_CLUSTER_NODE_ID": node_id,
        "TILEMUD_CLUSTER_HEARTBEAT_INTERVAL": str(HEARTBEAT),
        "TILEMUD_CLUSTER_NODE_TTL": str(NODE_TTL),
        **extra,
    }


async def discover(server: ServerProcess, **query: str) -> dict[str, Any] | None:
    """``GET /v1/discovery`` on ``server``; None when it answers 404 or 503."""
    async with httpx.AsyncClient(base_url=server.http_url, timeout=5) as http:
        response = await http.get("/v1/discovery", params=query)
    if response.status_code in (404, 503):
        assert response.json()["error"]["retry_after"] >= 1
        return None
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


async def wait_for_owner(server: ServerProcess, arena_id: str, nodes: set[str]) -> dict[str, Any]:
    """Ask ``server``'s discovery until one of ``nodes`` runs ``arena_id``."""
    while True:
        route = await discover(server, arena_id=arena_id)
        if route is not None and route["node_id"] in nodes:
            return route
        await trio.sleep(0.05)


async def wait_for_route(server: ServerProcess, node_id: str, **query: str) -> dict[str, Any]:
    """Ask ``server``'s discovery until it names ``node_id``."""
    while True:
        route = await discover(server, **query)
        if route is not None and route["node_id"] == node_id:
            return route
        await trio.sleep(0.05)


@asynccontextmanager
async def connect(ws_url: str) -> AsyncIterator[WebSocketConnection]:
    """A WebSocket to ``ws_url`` whose TCP stream the test owns (see processes.open_client):
    a node killed under it leaves no socket behind."""
    parts = urlsplit(ws_url)
    assert parts.hostname == "127.0.0.1", ws_url
    assert parts.port is not None, ws_url
    stream = await trio.open_tcp_stream("127.0.0.1", parts.port)
    async with stream, trio.open_nursery() as nursery:
        connection = await wrap_client_stream(nursery, stream, "127.0.0.1", parts.path)
        try:
            yield connection
        finally:
            with trio.move_on_after(2, shield=True):
                await connection.aclose()
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def player(ws_url: str, token: str) -> AsyncIterator[PlayerClient]:
    """A player connected (hello done) to the node at ``ws_url``."""
    async with connect(ws_url) as connection:
        client = PlayerClient(connection)
        await client.hello(token)
        yield client


async def two_nodes(
    tmp_path: Path, postgres_url: str, redis: RedisSettings, **extra: str
) -> tuple[dict[str, str], dict[str, str]]:
    truncate_all(postgres_url)
    for name in ("n1", "n2"):
        (tmp_path / name).mkdir()
    return (
        node_env(postgres_url, redis, "n1", **extra),
        node_env(postgres_url, redis, "n2", **extra),
    )


async def test_matchmaking_spreads_arenas_over_the_nodes(
    tmp_path: Path, postgres_url: str, redis_settings: RedisSettings
) -> None:
    env1, env2 = await two_nodes(
        tmp_path, postgres_url, redis_settings, TILEMUD_WORLD_MAX_ARENAS="1"
    )
    with trio.fail_after(BOUND):
        async with (
            running_process(tmp_path / "n1", env=env1) as n1,
            running_process(tmp_path / "n2", env=env2) as n2,
        ):
            # Both cards are up (each node publishes its own once its listeners are bound):
            # n2 sees n1 as the place for a game nobody plays yet (fewest arenas, then
            # fewest players, then the name: n1 first).
            assert redis_settings.url is not None
            cards = redis_settings.key_prefix + ":node:*"
            for _ in range(200):
                if count_keys(redis_settings.url, cards) == 2:
                    break
                await trio.sleep(0.05)
            first = await wait_for_route(n2, "n1", mode="arena", region="eu")
            assert first["arena_id"] is None
            ann = await guest_login(n1, "ann")
            async with player(first["ws_url"], ann["token"]) as client:
                joined = await client.request(
                    Join(rid=client.next_rid(), mode="arena", region="eu")
                )
                assert isinstance(joined, Joined), joined
                # n1 runs all it may (one arena): a battle is for n2, even asked of n1.
                bob = await guest_login(n1, "bob")
                async with connect(first["ws_url"]) as connection:
                    wrong = PlayerClient(connection)
                    await wrong.hello(bob["token"])
                    told = await wrong.request(
                        Join(rid=wrong.next_rid(), mode="battle", region="eu")
                    )
                assert isinstance(told, ErrorFrame), told
                assert told.code == "elsewhere"
                assert "n2" in told.message
                route = await discover(n1, mode="battle", region="eu")
                assert route is not None
                assert route["node_id"] == "n2"
                async with player(route["ws_url"], bob["token"]) as moved:
                    battle = await moved.request(
                        Join(rid=moved.next_rid(), mode="battle", region="eu")
                    )
                    assert isinstance(battle, Joined), battle
                    # Each node knows where the other's arena is.
                    there = await wait_for_route(n2, "n1", arena_id=joined.arena_id)
                    assert there["arena_id"] == joined.arena_id
                    back = await wait_for_route(n1, "n2", arena_id=battle.arena_id)
                    assert back["ws_url"] == route["ws_url"]
                    # A second epic-arena player goes to the arena with a free seat, on n1.
                    more = await discover(n2, mode="arena", region="eu")
                    assert more is not None
                    assert (more["node_id"], more["arena_id"]) == ("n1", joined.arena_id)
            # Nonsense is a 400, an arena nobody runs a 404 with retry_after.
            async with httpx.AsyncClient(base_url=n1.http_url) as http:
                for query in ({}, {"mode": "chess", "region": "eu"}, {"arena_id": "x" * 200}):
                    answer = await http.get("/v1/discovery", params=query)
                    assert answer.status_code == 400, query
                    assert answer.json()["error"]["code"] == "bad_request"
            assert await discover(n1, arena_id="a_nobody") is None


async def place_until_cut(
    client: PlayerClient,
    row: int,
    acked: list[PlaceResult],
    sent: list[Place],
    enough: trio.Event,
) -> None:
    """Walk a row of one's own (always adjacent, never contested) until the connection
    breaks; record what was accepted, and every request sent."""
    x = 2
    with contextlib.suppress(ConnectionClosed, trio.BrokenResourceError, OSError):
        while True:
            place = Place(rid=client.next_rid(), x=x, y=row, kind="stone")
            sent.append(place)
            answer = await client.request(place)
            if isinstance(answer, PlaceResult) and answer.outcome == "accepted":
                acked.append(answer)
                if len(acked) >= ENOUGH:
                    enough.set()
                x += 1
            else:
                await trio.sleep(0.1)  # cooldown: the same cell again


async def test_kill_9_of_a_node_its_arena_plays_on_a_survivor_with_every_acknowledged_tile(
    tmp_path: Path, postgres_url: str, redis_settings: RedisSettings
) -> None:
    env1, env2 = await two_nodes(tmp_path, postgres_url, redis_settings)
    (tmp_path / "n3").mkdir()
    env3 = node_env(postgres_url, redis_settings, "n3")
    with trio.fail_after(BOUND):
        async with (
            running_process(tmp_path / "n1", env=env1) as n1,
            running_process(tmp_path / "n2", env=env2) as n2,
            running_process(tmp_path / "n3", env=env3) as n3,
        ):
            route = await wait_for_route(n2, "n1", mode="arena", region="eu")
            await wait_for_route(n3, "n1", mode="arena", region="eu")
            logins = [await guest_login(n1, f"p{i}") for i in range(3)]
            acked: list[list[PlaceResult]] = [[] for _ in logins]
            sent: list[list[Place]] = [[] for _ in logins]
            arena_ids: set[str] = set()
            enough = [trio.Event() for _ in logins]
            async with trio.open_nursery() as nursery:

                async def play(i: int) -> None:
                    async with player(route["ws_url"], logins[i]["token"]) as client:
                        joined = await client.request(
                            Join(rid=client.next_rid(), mode="arena", region="eu")
                        )
                        assert isinstance(joined, Joined), joined
                        arena_ids.add(joined.arena_id)
                        await place_until_cut(client, 2 + 4 * i, acked[i], sent[i], enough[i])

                for i in range(len(logins)):
                    nursery.start_soon(play, i)
                for placed_enough in enough:
                    await placed_enough.wait()
                n1.process.send_signal(signal.SIGKILL)
            (arena_id,) = arena_ids
            # Two survivors race for the orphan: one lease, one owner.
            moved = await wait_for_owner(n2, arena_id, {"n2", "n3"})
            for i, login in enumerate(logins):
                async with player(moved["ws_url"], login["token"]) as client:
                    joined = await client.request(
                        Join(rid=client.next_rid(), mode="arena", region="eu")
                    )
                    assert isinstance(joined, Joined), joined
                    assert joined.arena_id == arena_id
                    await client.receive_until(lambda c: c.view.arena_id == arena_id)
                    mine = {
                        cell
                        for cell, (owner, _) in client.view.tiles.items()
                        if owner == login["player_id"]
                    }
                    assert {(a.x, a.y) for a in acked[i]} <= mine, (acked[i], mine)
                    # A repeated rid of a committed placement gets its first answer from
                    # the new owner (the rids are in the log, migration 0009), not a
                    # second application.
                    first = acked[i][-1]
                    repeat = next(p for p in sent[i] if p.rid == first.rid)
                    again = await client.request(repeat)
                    assert isinstance(again, PlaceResult), again
                    assert (again.outcome, again.tick, again.x, again.y) == (
                        "accepted",
                        first.tick,
                        first.x,
                        first.y,
                    )
                    # The request whose answer the kill may have taken is answered once:
                    # with its first result if it was committed, else applied now.
                    last = sent[i][-1]
                    if last.rid != first.rid:
                        answer = await client.request(last)
                        assert isinstance(answer, PlaceResult | ErrorFrame), answer
                        assert len(client.answers[last.rid]) == 1
            # Once more from the other survivor: both name the same owner.
            assert (await wait_for_owner(n3, arena_id, {"n2", "n3"}))["node_id"] == moved["node_id"]
            adopted = [
                record["arena_id"]
                for server in (n2, n3)
                for record in server.log.records
                if record.get("msg") == "arena adopted"
            ]
            assert adopted == [arena_id]


async def closed_by_server(client: PlayerClient) -> ConnectionClosed:
    try:
        while True:
            await client.receive()
    except ConnectionClosed as closed:
        return closed


async def test_a_drained_node_hands_its_arena_over_and_exits_0(
    tmp_path: Path, postgres_url: str, redis_settings: RedisSettings
) -> None:
    env1, env2 = await two_nodes(tmp_path, postgres_url, redis_settings)
    admin = TokenAuthority(AuthSettings(secret=SECRET)).mint_access(
        player_id="admin:ops", name="ops", roles=("admin",)
    )
    with trio.fail_after(BOUND):
        async with (
            running_process(tmp_path / "n1", env=env1) as n1,
            running_process(tmp_path / "n2", env=env2) as n2,
        ):
            route = await wait_for_route(n2, "n1", mode="arena", region="eu")
            ann = await guest_login(n1, "ann")
            async with player(route["ws_url"], ann["token"]) as client:
                joined = await client.request(
                    Join(rid=client.next_rid(), mode="arena", region="eu")
                )
                assert isinstance(joined, Joined), joined
                placed = await client.request(Place(rid=client.next_rid(), x=4, y=4, kind="stone"))
                assert isinstance(placed, PlaceResult), placed
                assert placed.outcome == "accepted"
                async with httpx.AsyncClient(base_url=n1.http_url) as http:
                    refused = await http.post("/v1/admin/drain")
                    assert refused.status_code == 401
                    answer = await http.post(
                        "/v1/admin/drain", headers={"Authorization": f"Bearer {admin}"}
                    )
                    assert answer.status_code == 202, answer.text
                    assert answer.json() == {"status": "draining", "began": True}
                # The node closes its players' connections when it stops.
                closed = await closed_by_server(client)
                assert closed.reason is not None
                assert closed.reason.code == 1001
            moved = await wait_for_route(n2, "n2", arena_id=joined.arena_id)
            assert await n1.exit_status() == 0
            messages = n1.log.messages
            assert "arenas handed over" in messages
            async with player(moved["ws_url"], ann["token"]) as client:
                again = await client.request(Join(rid=client.next_rid(), mode="arena", region="eu"))
                assert isinstance(again, Joined), again
                assert again.arena_id == joined.arena_id
                await client.receive_until(lambda c: c.view.arena_id == joined.arena_id)
                assert client.view.tiles[(4, 4)] == (ann["player_id"], "stone")
