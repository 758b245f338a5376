"""How the guilds actor reads and writes its book through the storage actor.

One guild change is one transaction: :func:`store_change` returns once it is committed (or
raises :class:`~tilemud.storage.StorageUnavailable` / :class:`~tilemud.storage.RecordRejected`
and nothing changed). Without storage both are no-ops and the book lives in memory.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import assert_never

import attrs

from tilemud.social.guild_rules import (
    LEADER,
    OFFICER,
    Created,
    Declined,
    Disbanded,
    Guild,
    GuildBook,
    GuildChange,
    Invited,
    Joined,
    Removed,
    RoleSet,
    Transferred,
    name_key,
)
from tilemud.storage import GuildRecord, GuildStorage


async def load_book(storage: GuildStorage | None, *, member_cap: int) -> GuildBook:
    """Every stored guild in a fresh book (an empty one without storage)."""
    book = GuildBook(member_cap=member_cap)
    if storage is None:
        return book
    for record in await storage.load_guilds():
        book.load(_guild(record))
    return book


async def refresh_guilds(
    storage: GuildStorage | None,
    book: GuildBook,
    *,
    guild_ids: Collection[str],
    player_ids: Collection[str] = (),
) -> dict[str, tuple[Guild | None, Guild | None]]:
    """Read the guilds named (and those the players are in or invited to) again from
    storage into ``book``; each one's ``(before, after)`` (None: absent).

    Raises:
        StorageUnavailable: nothing was read; the book is as it was.
    """
    if storage is None:
        return {}
    fresh = {
        record.guild_id: _guild(record)
        for record in await storage.load_guilds_about(guild_ids=guild_ids, player_ids=player_ids)
    }
    changes: dict[str, tuple[Guild | None, Guild | None]] = {}
    for guild_id in sorted({*guild_ids, *fresh}):
        old = book.guild(guild_id)
        before = None if old is None else _copy(old)
        book.replace(guild_id, fresh.get(guild_id))
        changes[guild_id] = (before, book.guild(guild_id))
    return changes


def _guild(record: GuildRecord) -> Guild:
    return Guild(
        guild_id=record.guild_id,
        name=record.name,
        members={m.player_id: m.role for m in record.members},
        invites={i.player_id: i.invited_by for i in record.invites},
    )


def _copy(guild: Guild) -> Guild:
    return attrs.evolve(guild, members=dict(guild.members), invites=dict(guild.invites))


async def store_change(storage: GuildStorage | None, change: GuildChange) -> None:
    """Commit one planned change."""
    if storage is None:
        return
    gid = change.guild_id
    match change:
        case Created(name=name, leader=leader):
            await storage.create_guild(
                guild_id=gid, name=name, name_key=name_key(name), leader_id=leader
            )
        case Invited(player_id=pid, by=by):
            await storage.invite_to_guild(guild_id=gid, player_id=pid, invited_by=by)
        case Joined(player_id=pid):
            await storage.join_guild(guild_id=gid, player_id=pid)
        case Declined(player_id=pid):
            await storage.drop_guild_invite(guild_id=gid, player_id=pid)
        case Removed(player_id=pid):
            await storage.remove_guild_member(guild_id=gid, player_id=pid)
        case RoleSet(player_id=pid, role=role):
            await storage.set_guild_roles(guild_id=gid, roles={pid: role})
        case Transferred(old_leader=old, new_leader=new):
            await storage.set_guild_roles(guild_id=gid, roles={old: OFFICER, new: LEADER})
        case Disbanded():
            await storage.disband_guild(guild_id=gid)
        case _:
            assert_never(change)
