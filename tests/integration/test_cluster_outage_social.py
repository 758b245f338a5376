"""A clustered node whose Redis goes away: guild changes wait, play and chat limits go on.

One in-process server (durable, SQLite) linked to the machine's Redis through a TCP proxy
that the test cuts and restores; players connect through in-memory streams. Real clock
(Redis), absolute deadlines.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import trio

from benchmarks.databases import throwaway_database
from tests.integration.harness import make_settings, running_server
from tests.storage.conftest import ADMIN_URL
from tests.storage.proxy import TcpProxy
from tests.world.memory import memory_player
from tilemud.cluster import InProcessRateLimiter, RedisRateLimiter
from tilemud.config import ClusterSettings, RedisSettings, Settings
from tilemud.protocol import (
    ChatClosed,
    ChatJoin,
    ChatJoined,
    ChatSend,
    ChatSent,
    ErrorFrame,
    GuildAccept,
    GuildCreate,
    GuildInvite,
    GuildKick,
    GuildResult,
)
from tilemud.server import TilemudServer

BOUND = 60


async def test_without_redis_guild_changes_are_refused_with_retry_after_and_chat_goes_on(
    tmp_path: Path, redis_settings: RedisSettings
) -> None:
    proxy = TcpProxy("127.0.0.1", 6379)
    with trio.fail_after(BOUND):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            redis = attrs.evolve(
                redis_settings,
                url=f"redis://127.0.0.1:{port}/0",
                command_timeout=0.5,
                retry_after=7.0,
            )
            settings = attrs.evolve(
                make_settings(tmp_path), redis=redis, cluster=ClusterSettings(node_id="a")
            )
            async with running_server(settings) as server, memory_player(server, "ann") as ann:
                joined = await ann.client.request(ChatJoin(rid="j1", channel="global"))
                assert isinstance(joined, ChatJoined), joined
                proxy.cut()
                refused = await ann.client.request(GuildCreate(rid="g1", name="Cut Off"))
                assert isinstance(refused, ErrorFrame), refused
                assert (refused.code, refused.retry_after) == ("unavailable", 7.0)
                # Chat is limited by the node alone meanwhile: not refused for the outage.
                sent = await ann.client.request(ChatSend(rid="c1", channel="global", text="hi"))
                assert isinstance(sent, ChatSent), sent
                chat_limit = server.limits["chat"]
                assert isinstance(chat_limit, RedisRateLimiter)
                assert chat_limit.fallbacks >= 1
                await proxy.restore()
                # The same rid again once Redis is back: applied now, once.
                while True:
                    ann.client.answers.pop("g1")  # wait for this repeat's own answer
                    again = await ann.client.request(GuildCreate(rid="g1", name="Cut Off"))
                    if isinstance(again, GuildResult):
                        break
                    assert isinstance(again, ErrorFrame), again
                    assert again.code == "unavailable", again
                    await trio.sleep(0.2)
                assert again.name == "Cut Off"
                assert await server.guilds.client.guild_of("ann") == again.guild_id
            nursery.cancel_scope.cancel()


def test_a_clustered_server_shares_the_limits_of_players_and_addresses(
    tmp_path: Path,
) -> None:
    redis = RedisSettings(url="redis://127.0.0.1:1/0")  # never contacted: not run
    settings = attrs.evolve(make_settings(tmp_path, durable=False), redis=redis)
    server = TilemudServer(settings)
    shared = {"chat", "chat_actions", "reports", "guest_logins", "admin_sign_ins"}
    assert {
        name for name, limit in server.limits.items() if isinstance(limit, RedisRateLimiter)
    } == shared
    # The action limit stays per node unless asked (its cost: docs/performance.md).
    assert isinstance(server.limits["actions"], InProcessRateLimiter)
    everything = attrs.evolve(settings, limits=attrs.evolve(settings.limits, shared_actions=True))
    assert isinstance(TilemudServer(everything).limits["actions"], RedisRateLimiter)
    # Alone: every limit in process.
    alone = TilemudServer(make_settings(tmp_path, durable=False))
    assert all(isinstance(limit, InProcessRateLimiter) for limit in alone.limits.values())


async def test_a_node_that_missed_a_guild_announcement_reads_every_guild_again(
    tmp_path: Path, redis_settings: RedisSettings, postgres_url: str
) -> None:
    """Attack: node b's bus is down while node a kicks bob; when b subscribes again it
    reads the guilds again, and bob, connected to b, is out of the guild's channel."""
    proxy = TcpProxy("127.0.0.1", 6379)
    with (
        throwaway_database(ADMIN_URL, prefix="tilemud_test_missed") as url,
        trio.fail_after(BOUND),
    ):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)

            def node(name: str, redis: RedisSettings) -> Settings:
                base = make_settings(tmp_path / name)
                return attrs.evolve(
                    base,
                    database=attrs.evolve(base.database, url=url),
                    redis=redis,
                    cluster=ClusterSettings(node_id=name),
                )

            cut = attrs.evolve(
                redis_settings, url=f"redis://127.0.0.1:{port}/0", command_timeout=0.5
            )
            async with (
                running_server(node("a", redis_settings)) as a,
                running_server(node("b", cut)) as b,
                memory_player(a, "ann") as ann,
                memory_player(b, "bob") as bob,
            ):
                created = await ann.client.request(GuildCreate(rid="c", name="Missed"))
                assert isinstance(created, GuildResult), created
                channel = f"guild:{created.guild_id}"
                invited = await ann.client.request(GuildInvite(rid="i", player_id="bob"))
                assert isinstance(invited, GuildResult), invited
                accepted = await bob.client.request(GuildAccept(rid="a", guild_id=created.guild_id))
                assert isinstance(accepted, GuildResult), accepted
                joined = await bob.client.request(ChatJoin(rid="j", channel=channel))
                assert isinstance(joined, ChatJoined), joined
                assert b.bus is not None
                reconnects = b.bus.reconnects
                proxy.cut()
                kicked = await ann.client.request(GuildKick(rid="k", player_id="bob"))
                assert isinstance(kicked, GuildResult), kicked  # a's Redis is up
                await proxy.restore()
                # b never heard the kick; its bus subscribes again and b reads everything.
                await bob.client.receive_until(
                    lambda _: any(
                        isinstance(f, ChatClosed) and f.channel == channel for f in bob.seen
                    )
                )
                assert b.bus.reconnects > reconnects
                assert await b.guilds.client.guild_of("bob") is None
            nursery.cancel_scope.cancel()
