"""The guilds actor without a database: answers, events to members, hooks, blocks, rids.

Pure actor logic under ``autojump_clock``; storage is absent (guilds in memory) or a fake.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio

from tests.actors.presence_support import OnlinePlayer
from tilemud.actors.guilds import GuildDone, GuildRefused, Guilds, GuildsClient
from tilemud.config import SocialSettings
from tilemud.protocol import GuildEvent, GuildOp, decode_server, stamp
from tilemud.supervisors import ChildContext


@attrs.define
class FakePresence:
    """Players online, and every stream frame published to each."""

    online: set[str] = attrs.field(factory=set)
    frames: dict[str, list[GuildEvent]] = attrs.field(factory=dict)

    def find(self, player_id: str) -> OnlinePlayer | None:
        return OnlinePlayer(player_id, self) if player_id in self.online else None

    def publish_to(self, player_id: str, body: str) -> bool:
        if player_id not in self.online:
            return False
        frame = decode_server(stamp(body, 1))
        assert isinstance(frame, GuildEvent)
        self.frames.setdefault(player_id, []).append(frame)
        return True

    def changes(self, player_id: str) -> list[tuple[str, str]]:
        return [(f.change, f.player_id) for f in self.frames.pop(player_id, [])]


@attrs.define
class World:
    client: GuildsClient
    presence: FakePresence
    removed: list[tuple[str, str]]
    closed: list[str]
    blocks: set[tuple[str, str]]
    rids: Any = attrs.field(factory=lambda: iter(range(1, 10**6)))

    async def do(self, player: str, op: GuildOp, target: str | None = None) -> Any:
        with trio.fail_after(5):
            return await self.client.apply(player, op, target, rid=f"r{next(self.rids)}")

    async def ok(self, player: str, op: GuildOp, target: str | None = None) -> GuildDone:
        answer = await self.do(player, op, target)
        assert isinstance(answer, GuildDone), answer
        return answer

    async def refused(self, player: str, op: GuildOp, target: str | None = None) -> str:
        answer = await self.do(player, op, target)
        assert isinstance(answer, GuildRefused), answer
        return answer.code


@asynccontextmanager
async def guild_world(
    cap: int = 50, new_id: Callable[[], str] | None = None
) -> AsyncIterator[World]:
    presence = FakePresence(online={"ann", "bob", "cy", "di"})
    removed: list[tuple[str, str]] = []
    closed: list[str] = []
    blocks: set[tuple[str, str]] = set()

    async def is_blocked(blocker: str, blocked: str) -> bool:
        return (blocker, blocked) in blocks

    ids = iter(f"g{n}" for n in range(1, 1000))
    guilds = Guilds(
        SocialSettings(guild_member_cap=cap),
        presence=presence,
        is_blocked=is_blocked,
        on_member_removed=lambda channel, player: removed.append((channel, player)),
        on_channel_closed=closed.append,
        new_guild_id=new_id or (lambda: next(ids)),
        clock=lambda: 1767225600.0,
    )
    async with trio.open_nursery() as nursery:

        async def run(task_status: trio.TaskStatus[GuildsClient]) -> None:
            await guilds.run(ChildContext("guilds", task_status=task_status))

        client = await nursery.start(run)
        yield World(client, presence, removed, closed, blocks)
        nursery.cancel_scope.cancel()


async def test_create_invite_accept_and_members_are_told(autojump_clock: object) -> None:
    async with guild_world() as w:
        created = await w.ok("ann", "create", "  Tile Lords ")
        assert created.guild.name == "Tile Lords"
        assert created.guild.members == (("ann", "leader"),)
        invited = await w.ok("ann", "invite", "bob")
        assert invited.guild.invites == ("bob",)
        assert w.presence.changes("bob") == [("invited", "bob")]
        # The invitee may look at the guild, without its invite list.
        info = await w.ok("bob", "info", "g1")
        assert info.guild.invites == ()
        joined = await w.ok("bob", "accept", "g1")
        assert joined.guild.members == (("ann", "leader"), ("bob", "member"))
        assert w.presence.changes("ann") == [("joined", "bob")]
        assert w.presence.changes("bob") == [("joined", "bob")]
        assert await w.client.guild_of("bob") == "g1"
        assert await w.client.members_of("g1") == ("ann", "bob")
        assert await w.client.guild_of("cy") is None


async def test_roles_transfer_kick_and_the_chat_hooks(autojump_clock: object) -> None:
    async with guild_world() as w:
        await w.ok("ann", "create", "Tile Lords")
        for player in ("bob", "cy", "di"):
            await w.ok("ann", "invite", player)
            await w.ok(player, "accept", "g1")
        w.presence.frames.clear()
        await w.ok("ann", "promote", "bob")
        event = w.presence.frames["cy"][-1]
        assert (event.change, event.player_id, event.by, event.role) == (
            "promoted",
            "bob",
            "ann",
            "officer",
        )
        assert await w.refused("bob", "kick", "ann") == "forbidden"
        kicked = await w.ok("bob", "kick", "cy")
        assert [p for p, _ in kicked.guild.members] == ["ann", "bob", "di"]
        assert w.presence.changes("cy")[-1] == ("kicked", "cy")  # the kicked hear it too
        assert w.removed == [("guild:g1", "cy")]
        # The leader must hand over before leaving.
        assert await w.refused("ann", "leave") == "forbidden"
        await w.ok("ann", "transfer", "di")
        assert w.presence.changes("bob")[-1] == ("leader_changed", "di")
        left = await w.ok("ann", "leave")
        assert (left.guild.name, left.guild.members) == ("Tile Lords", ())
        assert w.removed[-1] == ("guild:g1", "ann")
        assert await w.refused("bob", "disband") == "forbidden"
        await w.ok("di", "disband")
        assert w.closed == ["guild:g1"]
        assert w.presence.changes("bob")[-1] == ("disbanded", "di")
        assert await w.client.guild_of("bob") is None
        # The name is free again.
        await w.ok("bob", "create", "TILE LORDS")


async def test_a_lone_leader_leaving_disbands(autojump_clock: object) -> None:
    async with guild_world() as w:
        await w.ok("ann", "create", "Solo")
        await w.ok("ann", "invite", "bob")
        await w.ok("ann", "leave")
        assert w.closed == ["guild:g1"]
        assert await w.refused("bob", "accept", "g1") == "no_invite"


async def test_a_blocked_player_cannot_invite_the_blocker(autojump_clock: object) -> None:
    async with guild_world() as w:
        await w.ok("ann", "create", "Tile Lords")
        w.blocks.add(("bob", "ann"))  # bob blocks ann
        assert await w.refused("ann", "invite", "bob") == "blocked"
        assert "bob" not in w.presence.frames
        await w.ok("ann", "invite", "cy")  # others still can be invited


async def test_the_member_cap(autojump_clock: object) -> None:
    async with guild_world(cap=2) as w:
        await w.ok("ann", "create", "Tiny")
        await w.ok("ann", "invite", "bob")
        await w.ok("ann", "invite", "cy")
        await w.ok("bob", "accept", "g1")
        assert await w.refused("cy", "accept", "g1") == "guild_full"
        assert await w.refused("ann", "invite", "di") == "guild_full"
        await w.ok("cy", "decline", "g1")


@pytest.mark.parametrize(
    ("raw", "code"), [("ab", "invalid_name"), ("a!b", "invalid_name"), ("taken", "name_taken")]
)
async def test_names_are_checked(autojump_clock: object, raw: str, code: str) -> None:
    async with guild_world() as w:
        await w.ok("ann", "create", "Taken")
        assert await w.refused("bob", "create", raw) == code


async def test_a_repeated_rid_gets_the_first_answer(autojump_clock: object) -> None:
    async with guild_world() as w:
        first = await w.client.apply("ann", "create", "Tile Lords", rid="same")
        again = await w.client.apply("ann", "create", "Tile Lords", rid="same")
        assert isinstance(first, GuildDone)
        assert again == first  # not "already_in_guild": it was not applied twice
        other = await w.client.apply("ann", "create", "Tile Lords", rid="other")
        assert isinstance(other, GuildRefused)
        assert other.code == "already_in_guild"


async def test_offline_players_are_not_reached(autojump_clock: object) -> None:
    async with guild_world() as w:
        await w.ok("ann", "create", "Tile Lords")
        await w.ok("ann", "invite", "eve")  # eve is not online
        assert "eve" not in w.presence.frames
        await w.ok("eve", "accept", "g1")
        assert w.presence.changes("ann") == [("joined", "eve")]
