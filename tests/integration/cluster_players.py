"""Several real ``tilemud serve`` processes in one cluster, and players on them.

The nodes share this test's PostgreSQL database (made and migrated per test, dropped
after) and its Redis key prefix; each has its own data directory and ports (0, learned from
its log). A node may reach Redis through a :class:`~tests.storage.proxy.TcpProxy`, to cut
it alone. Players are raw WebSocket clients that keep every frame and answer by ``rid``.

Testing policy: loopback only, the real clock, an absolute ``trio.fail_after`` in each
test, every process killed on the way out.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from benchmarks.databases import throwaway_database
from tests.integration.processes import (
    SECRET,
    ServerProcess,
    guest_login,
    open_client,
    running_process,
)
from tests.storage.conftest import ADMIN_URL
from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, RedisSettings
from tilemud.protocol import PROTOCOL_VERSION

#: Fast enough that a test sees presence move within a second or two.
CLUSTER_ENV = {
    "TILEMUD_CLUSTER_HEARTBEAT_INTERVAL": "0.5",
    "TILEMUD_CLUSTER_NODE_TTL": "3",
    "TILEMUD_REDIS_COMMAND_TIMEOUT": "1",
    "TILEMUD_REDIS_CONNECT_TIMEOUT": "1",
    "TILEMUD_REDIS_RETRY_AFTER": "2",
}


@contextmanager
def cluster_database() -> Iterator[str]:
    """A migrated PostgreSQL database for one test's nodes (skips when unreachable)."""
    import psycopg

    try:
        psycopg.connect(ADMIN_URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}")
    with throwaway_database(ADMIN_URL, prefix="tilemud_cluster") as url:
        yield url


@asynccontextmanager
async def cluster_nodes(
    tmp_path: Path,
    redis: RedisSettings,
    database_url: str,
    names: tuple[str, ...] = ("a", "b"),
    *,
    redis_urls: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[dict[str, ServerProcess]]:
    """Start one ``tilemud serve`` per name, all in one cluster; yields them by name."""
    assert redis.url is not None
    nodes: dict[str, ServerProcess] = {}
    async with AsyncExitStack() as stack:
        for name in names:
            home = tmp_path / name
            home.mkdir()
            node_env = {
                **CLUSTER_ENV,
                "TILEMUD_DATABASE_URL": database_url,
                "TILEMUD_REDIS_URL": (redis_urls or {}).get(name, redis.url),
                "TILEMUD_REDIS_KEY_PREFIX": redis.key_prefix,
                "TILEMUD_CLUSTER_NODE_ID": name,
                **(env or {}),
            }
            nodes[name] = await stack.enter_async_context(running_process(home, env=node_env))
        try:
            yield nodes
        except BaseException:
            for name, node in nodes.items():  # what each node said, for the failure's report
                for line in node.log.lines[-25:]:
                    print(f"node {name}: {str(line)[:400]}")
            raise


def admin_token(*roles: str) -> str:
    """An access token with admin roles, signed with the processes' secret."""
    tokens = TokenAuthority(AuthSettings(secret=SECRET), resume_lifetime=120.0)
    return tokens.mint_access(player_id="admin:tester", name="tester", roles=roles)


async def moderate(node: ServerProcess, player_id: str, act: str, **body: Any) -> httpx.Response:
    """One act through the node's admin API."""
    headers = {"Authorization": f"Bearer {admin_token('moderator')}"}
    async with httpx.AsyncClient(base_url=node.http_url, headers=headers) as http:
        return await http.post(f"/v1/admin/players/{player_id}/{act}", json=body)


class Player:
    """A raw client on one node: keeps every stream frame, answers by ``rid``."""

    def __init__(self, connection: WebSocketConnection, welcome: dict[str, Any]) -> None:
        self.connection = connection
        self.welcome = welcome
        self.frames: list[dict[str, Any]] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.others: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self._rids = (f"r{n}" for n in itertools.count(1))

    @property
    def player_id(self) -> str:
        return str(self.welcome["player_id"])

    def next_rid(self) -> str:
        return next(self._rids)

    async def receive_one(self) -> dict[str, Any]:
        decoded = orjson.loads(await self.connection.get_message())
        assert isinstance(decoded, dict)
        if "seq" in decoded:
            self.frames.append(decoded)
        elif "rid" in decoded:
            self.answers[decoded["rid"]] = decoded
        else:
            self.others.append(decoded)
        return decoded

    async def send(self, frame: Mapping[str, Any]) -> None:
        await self.connection.send_message(orjson.dumps(frame).decode())

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        rid = frame.setdefault("rid", self.next_rid())
        await self.send(frame)
        while rid not in self.answers:
            await self.receive_one()
        return self.answers[rid]

    async def until(self, done: Callable[[Player], bool]) -> None:
        while not done(self):
            await self.receive_one()

    async def until_closed(self) -> int | None:
        """Read until the server closes; the close code."""
        try:
            while True:
                await self.receive_one()
        except ConnectionClosed as closed:
            self.close_code = None if closed.reason is None else closed.reason.code
        return self.close_code

    async def ack(self) -> None:
        seq = max((f["seq"] for f in self.frames), default=0)
        await self.send({"type": "ack", "seq": seq})

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    def chat_ids(self, channel: str) -> list[str]:
        return [f["message_id"] for f in self.of_type("chat_message") if f["channel"] == channel]


async def login(node: ServerProcess, name: str) -> str:
    """A guest's access token."""
    body = await guest_login(node, name)
    return str(body["token"])


@asynccontextmanager
async def hello(node: ServerProcess, token: str) -> AsyncIterator[Player | dict[str, Any]]:
    """Connect and say hello: yields the greeted :class:`Player`, or the refusal frame
    (the connection is closed after it)."""
    async with open_client(node) as connection:
        await connection.send_message(
            orjson.dumps({"type": "hello", "v": PROTOCOL_VERSION, "token": token}).decode()
        )
        first = orjson.loads(await connection.get_message())
        if first.get("type") != "welcome":
            yield first
            return
        yield Player(connection, first)


@asynccontextmanager
async def player_on(node: ServerProcess, token: str) -> AsyncIterator[Player]:
    """A greeted player (the hello must be welcomed)."""
    async with hello(node, token) as greeted:
        assert isinstance(greeted, Player), greeted
        yield greeted


async def until_answered(
    player: Player, frame: Mapping[str, Any], done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Send ``frame`` (a new rid each time) until its answer is ``done``.

    An act made on another node takes effect here when this node hears it on the bus
    (milliseconds after the admin API answered, not before): a client that was just
    unmuted may be refused once more.
    """
    while True:
        answer = await player.request({**frame, "rid": player.next_rid()})
        if done(answer):
            return answer
        await trio.sleep(0.5)  # under the chat rate limit (2 a second)
