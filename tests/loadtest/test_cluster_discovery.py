"""The load tester in a cluster: ``--discover`` bots find their node, follow ``elsewhere``.

Two nodes in this process share the run's PostgreSQL database and a Redis key prefix of
the test's own; each may run one arena, a battle seats 8. Twelve bots log in on the first
node's HTTP API and ask its discovery where to play: the first 8 fill the first node's
battle; the others are told, by discovery or by a ``join`` answered ``elsewhere``, to play
on the second node. Real sockets and real Redis: the real clock, an absolute bound.
"""

from __future__ import annotations

import io
from pathlib import Path

import attrs
import trio

from tests.integration.harness import make_settings, running_server
from tests.storage.conftest import postgres_url as postgres_url
from tests.storage.conftest import truncate_all
from tilemud.actors.arena import ArenaListing, ListArenas
from tilemud.config import ClusterSettings, DatabaseSettings, RedisSettings, Settings, WorldSettings
from tilemud.loadtest import LoadConfig, run_loadtest
from tilemud.server import TilemudServer

BOUND = 120
PLAYERS = 12


def node_settings(data_dir: Path, url: str, redis: RedisSettings, node_id: str) -> Settings:
    settings = make_settings(data_dir)
    return attrs.evolve(
        settings,
        database=DatabaseSettings(url=url),
        world=WorldSettings(max_arenas=1),
        redis=redis,
        cluster=ClusterSettings(node_id=node_id, heartbeat_interval=0.25, node_ttl=3.0),
    )


async def seated(server: TilemudServer) -> int:
    listing: tuple[ArenaListing, ...] = await server.directory.ref.ask(
        lambda reply: ListArenas(reply=reply)
    )
    return sum(entry.players for entry in listing)


async def test_discovering_bots_spread_over_two_nodes(
    tmp_path: Path, postgres_url: str, redis_settings: RedisSettings
) -> None:
    truncate_all(postgres_url)
    with trio.fail_after(BOUND):
        async with (
            running_server(
                node_settings(tmp_path / "n1", postgres_url, redis_settings, "n1")
            ) as n1,
            running_server(
                node_settings(tmp_path / "n2", postgres_url, redis_settings, "n2")
            ) as n2,
        ):
            config = LoadConfig(
                http_url=n1.addresses.http_url,
                ws_url="ws://127.0.0.1:9/unused",
                discover=True,
                players=PLAYERS,
                mode="battle",
                duration=3.0,
                ramp=1.0,
                actions_per_second=1.0,
                scenario="cluster",
            )
            report = await run_loadtest(
                config,
                report_path=tmp_path / "report.json",
                picture_path=None,
                out=io.StringIO(),
                interactive=False,
            )
            assert report["errors"] == {}, report["errors"]
            assert report["bots"]["joined"] == PLAYERS
            assert (await seated(n1), await seated(n2)) == (8, PLAYERS - 8)
