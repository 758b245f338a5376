"""Guilds through the real gateway: create, invite, accept, members told; a restart keeps them.

The whole server runs (durable, SQLite in the test's data dir); players connect through
in-memory streams (tests/world/memory.py). Storage works in threads, so the real clock
runs and every test has an absolute deadline.
"""

from __future__ import annotations

from pathlib import Path

import trio

from tests.integration.harness import make_settings, running_server
from tests.world.memory import MemoryPlayer, memory_player
from tilemud.protocol import (
    ClientMessage,
    ErrorFrame,
    GuildAccept,
    GuildCreate,
    GuildEvent,
    GuildInfo,
    GuildInvite,
    GuildKick,
    GuildResult,
    ServerMessage,
)


def events(player: MemoryPlayer) -> list[tuple[str, str]]:
    return [(f.change, f.player_id) for f in player.seen if isinstance(f, GuildEvent)]


async def until_event(player: MemoryPlayer, change: str, about: str) -> None:
    await player.client.receive_until(lambda _: (change, about) in events(player))


async def ask(player: MemoryPlayer, message: ClientMessage) -> ServerMessage:
    return await player.client.request(message)


async def test_players_found_a_guild_over_the_gateway_and_it_survives_a_restart(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")
    with trio.fail_after(60):
        async with running_server(settings) as server:
            async with memory_player(server, "ann") as ann, memory_player(server, "bob") as bob:
                created = await ask(ann, GuildCreate(rid=ann.client.next_rid(), name="Tile Lords"))
                assert isinstance(created, GuildResult), created
                guild_id = created.guild_id
                invited = await ask(ann, GuildInvite(rid=ann.client.next_rid(), player_id="bob"))
                assert isinstance(invited, GuildResult), invited
                await until_event(bob, "invited", "bob")
                accepted = await ask(bob, GuildAccept(rid=bob.client.next_rid(), guild_id=guild_id))
                assert isinstance(accepted, GuildResult), accepted
                assert accepted.members == (("ann", "leader"), ("bob", "member"))
                # Every member hears of the join, the one who joined included.
                await until_event(ann, "joined", "bob")
                await until_event(bob, "joined", "bob")
                # A member may not kick: a typed refusal, and nothing changes.
                refused = await ask(bob, GuildKick(rid=bob.client.next_rid(), player_id="ann"))
                assert isinstance(refused, ErrorFrame)
                assert refused.code == "forbidden"
        async with running_server(settings) as server:
            async with memory_player(server, "bob") as bob:
                info = await ask(bob, GuildInfo(rid=bob.client.next_rid()))
                assert isinstance(info, GuildResult), info
                assert (info.guild_id, info.name) == (guild_id, "Tile Lords")
                assert info.members == (("ann", "leader"), ("bob", "member"))
                assert await server.guilds.client.guild_of("ann") == guild_id
