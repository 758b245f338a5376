"""Two or more real ``tilemud serve`` nodes of one cluster, and players on them.

The nodes share one throwaway PostgreSQL database (benchmarks.databases) and one Redis key
prefix (the ``redis_settings`` fixture), as an operator would run them; each has its own
data directory and node id. Players log in as guests on one node; the nodes share the
token secret, so a token works on every node.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from benchmarks.local_server import ServerFailed
from tests.integration.processes import (
    ServerProcess,
    guest_login,
    open_client,
    serve_argv,
    tilemud_process,
)
from tilemud.config import RedisSettings
from tilemud.player_client import PlayerClient
from tilemud.protocol import ServerMessage


def cluster_env(database_url: str, redis: RedisSettings, node_id: str) -> dict[str, str]:
    """The environment of one node of the cluster."""
    assert redis.url is not None
    return {
        "TILEMUD_DATABASE_URL": database_url,
        "TILEMUD_REDIS_URL": redis.url,
        "TILEMUD_REDIS_KEY_PREFIX": redis.key_prefix,
        "TILEMUD_CLUSTER_NODE_ID": node_id,
    }


@asynccontextmanager
async def cluster_nodes(
    tmp_path: Path,
    database_url: str,
    redis: RedisSettings,
    *names: str,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[dict[str, ServerProcess]]:
    """Start one node per name (bound ports learned from their logs; ``env``: more
    settings for every node); killed after."""
    async with AsyncExitStack() as stack:
        nodes: dict[str, ServerProcess] = {}
        for name in names:
            directory = tmp_path / name
            directory.mkdir(parents=True)
            node_env = {**cluster_env(database_url, redis, name), **(env or {})}
            process = await stack.enter_async_context(
                tilemud_process(directory, serve_argv(directory), env=node_env)
            )
            try:
                await process.learn_ports()
            except ServerFailed as failed:
                raise ServerFailed(f"node {name}: {failed}\n{process.log.lines[-8:]}") from None
            nodes[name] = process
        yield nodes


class NodePlayer:
    """A player connected to one node: a :class:`PlayerClient`, its id, and every frame
    it received (``seen``, in order)."""

    def __init__(self, player_id: str, token: str) -> None:
        self.player_id = player_id
        self.token = token
        self.seen: list[ServerMessage] = []
        self.client: PlayerClient

    async def ask(self, make: Callable[[str], Any]) -> ServerMessage:
        """Send the request ``make(rid)`` and wait for its answer."""
        return await self.client.request(make(self.client.next_rid()))

    async def until(self, found: Callable[[ServerMessage], bool]) -> ServerMessage:
        """The first frame received (already, or from now on) that satisfies ``found``."""
        checked = 0
        while True:
            for frame in self.seen[checked:]:
                if found(frame):
                    return frame
            checked = len(self.seen)
            await self.client.receive()


@asynccontextmanager
async def node_player(
    node: ServerProcess, name: str, *, token: str | None = None, player_id: str = ""
) -> AsyncIterator[NodePlayer]:
    """A player greeted by ``node``: a fresh guest, or the one whose ``token`` is given."""
    if token is None:
        login = await guest_login(node, name)
        token, player_id = login["token"], login["player_id"]
    player = NodePlayer(player_id, token)
    async with open_client(node) as connection:
        player.client = PlayerClient(connection, on_frame=player.seen.append)
        welcome = await player.client.hello(token)
        player.player_id = player_id or welcome.player_id
        yield player
