"""Guilds in storage: the repository on both backends, the 0004 migration, and the guilds
actor over a real storage actor (a restart keeps everything; a conflict reloads the book).

Repository tests are synchronous; actor tests do real I/O in threads, so they run on the
real clock with absolute deadlines (tests/storage/conftest.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.engine import Connection

from tests.storage.actor_support import actor_for, running
from tilemud.actors.guilds import GuildDone, GuildRefused, Guilds, GuildsClient
from tilemud.config import SocialSettings
from tilemud.storage import (
    Database,
    GuildInviteRecord,
    GuildMemberRecord,
    GuildRecord,
    RecordRejected,
    StorageClient,
    create_guild,
    disband_guild,
    drop_guild_invite,
    invite_to_guild,
    join_guild,
    load_guilds,
    migrate,
    remove_guild_member,
    set_guild_roles,
)
from tilemud.storage import tables as t
from tilemud.supervisors import ChildContext

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_a_guild_round_trips(db: Database) -> None:
    db.run(
        lambda c: create_guild(
            c, guild_id="g1", name="Tile Lords", name_key="tile lords", leader_id="ann", at=at(0)
        )
    )
    db.run(lambda c: invite_to_guild(c, guild_id="g1", player_id="bob", invited_by="ann", at=at(1)))
    db.run(lambda c: invite_to_guild(c, guild_id="g1", player_id="cy", invited_by="ann", at=at(2)))
    db.run(lambda c: join_guild(c, guild_id="g1", player_id="bob", at=at(3)))
    db.run(lambda c: set_guild_roles(c, guild_id="g1", roles={"ann": "officer", "bob": "leader"}))
    assert db.run(load_guilds) == [
        GuildRecord(
            guild_id="g1",
            name="Tile Lords",
            name_key="tile lords",
            created=at(0),
            members=(
                GuildMemberRecord(player_id="ann", role="officer", joined=at(0)),
                GuildMemberRecord(player_id="bob", role="leader", joined=at(3)),
            ),
            invites=(GuildInviteRecord(player_id="cy", invited_by="ann", created=at(2)),),
        )
    ]


def test_invites_renew_and_drop(db: Database) -> None:
    def found_and_invite_bob(c: Connection) -> None:
        for gid, leader in (("g1", "ann"), ("g2", "di")):
            create_guild(c, guild_id=gid, name=gid, name_key=gid, leader_id=leader, at=at(0))
            invite_to_guild(c, guild_id=gid, player_id="bob", invited_by=leader, at=at(1))

    db.run(found_and_invite_bob)
    db.run(lambda c: invite_to_guild(c, guild_id="g1", player_id="bob", invited_by="ann", at=at(5)))
    first = db.run(load_guilds)[0]
    assert first.invites == (GuildInviteRecord(player_id="bob", invited_by="ann", created=at(5)),)
    db.run(lambda c: drop_guild_invite(c, guild_id="g1", player_id="bob"))
    assert db.run(load_guilds)[0].invites == ()
    # Founding a guild drops the founder's pending invites.
    db.run(
        lambda c: create_guild(
            c, guild_id="g3", name="g3", name_key="g3", leader_id="bob", at=at(6)
        )
    )
    assert all(g.invites == () for g in db.run(load_guilds))


def test_removal_and_disband(db: Database) -> None:
    db.run(
        lambda c: create_guild(c, guild_id="g1", name="A", name_key="a", leader_id="ann", at=at(0))
    )
    db.run(lambda c: join_guild(c, guild_id="g1", player_id="bob", at=at(1)))
    db.run(lambda c: invite_to_guild(c, guild_id="g1", player_id="cy", invited_by="ann", at=at(2)))
    db.run(lambda c: remove_guild_member(c, guild_id="g1", player_id="bob"))
    assert [m.player_id for m in db.run(load_guilds)[0].members] == ["ann"]
    db.run(lambda c: disband_guild(c, guild_id="g1"))
    assert db.run(load_guilds) == []
    # The name is free again.
    db.run(
        lambda c: create_guild(c, guild_id="g2", name="A", name_key="a", leader_id="bob", at=at(3))
    )


@pytest.mark.parametrize("clash", ["name", "membership"])
def test_the_database_refuses_a_second_name_or_membership(db: Database, clash: str) -> None:
    db.run(
        lambda c: create_guild(c, guild_id="g1", name="A", name_key="a", leader_id="ann", at=at(0))
    )
    if clash == "name":

        def again(c: Connection) -> None:
            create_guild(c, guild_id="g2", name="a", name_key="a", leader_id="bob", at=at(1))
    else:

        def again(c: Connection) -> None:
            join_guild(c, guild_id="g1", player_id="ann", at=at(1))

    with pytest.raises(RecordRejected):
        db.run(again)


def test_0004_adds_the_guild_tables_and_takes_them_away(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/m.sqlite3"
    migrate.upgrade(url, "0004")
    engine = sa.create_engine(url)
    guild_tables = {"guilds", "guild_members", "guild_invites"}
    try:
        assert guild_tables <= set(sa.inspect(engine).get_table_names())
        migrate.downgrade(url, "0003")
        assert not guild_tables & set(sa.inspect(engine).get_table_names())
        assert migrate.current(url) == "0003"
    finally:
        engine.dispose()
    assert {t.guilds.name, t.guild_members.name, t.guild_invites.name} == guild_tables


# -- the guilds actor over a real storage actor ----------------------------------------------


@asynccontextmanager
async def guilds_on(storage: StorageClient) -> AsyncIterator[GuildsClient]:
    ids = iter(f"g{n}" for n in range(1, 100))
    guilds = Guilds(
        SocialSettings(),
        storage=storage.guilds,
        is_blocked=lambda blocker, blocked: storage.chat.is_blocked(
            blocker_id=blocker, blocked_id=blocked
        ),
        new_guild_id=lambda: next(ids),
    )
    async with trio.open_nursery() as nursery:

        async def run(task_status: trio.TaskStatus[GuildsClient]) -> None:
            await guilds.run(ChildContext("guilds", task_status=task_status))

        yield await nursery.start(run)
        nursery.cancel_scope.cancel()


async def test_guilds_survive_a_restart_of_the_actor(database_url: str) -> None:
    with trio.fail_after(30):
        async with running(actor_for(database_url)) as storage:
            async with guilds_on(storage) as guilds:
                assert isinstance(
                    await guilds.apply("ann", "create", "Tile Lords", rid="1"), GuildDone
                )
                await guilds.apply("ann", "invite", "bob", rid="2")
                await guilds.apply("ann", "invite", "cy", rid="3")
                await guilds.apply("bob", "accept", "g1", rid="4")
                await guilds.apply("ann", "promote", "bob", rid="5")
            async with guilds_on(storage) as guilds:
                info = await guilds.apply("ann", "info", rid="6")
                assert isinstance(info, GuildDone)
                assert info.guild.members == (("ann", "leader"), ("bob", "officer"))
                assert info.guild.invites == ("cy",)
                assert await guilds.guild_of("bob") == "g1"
                taken = await guilds.apply("di", "create", "tile LORDS", rid="7")
                assert isinstance(taken, GuildRefused)
                assert taken.code == "name_taken"


async def test_a_change_the_database_refuses_reloads_the_book(database_url: str) -> None:
    with trio.fail_after(30):
        async with running(actor_for(database_url)) as storage, guilds_on(storage) as guilds:
            # Behind the actor's back (another node, say): a guild takes the name.
            await storage.guilds.create_guild(
                guild_id="elsewhere", name="Tile Lords", name_key="tile lords", leader_id="x"
            )
            clash = await guilds.apply("ann", "create", "Tile Lords", rid="1")
            assert isinstance(clash, GuildRefused)
            # The book was read again at once: the loser is told the rule's own reason.
            assert (clash.code, clash.retry_after) == ("name_taken", None)
            again = await guilds.apply("ann", "create", "Tile Lords", rid="1")
            assert again == clash
            assert await guilds.guild_of("x") == "elsewhere"
