"""The guild values the repositories take and give back: frozen, plain, no database types."""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypeAlias

import attrs

#: ``guild_members.role``.
StoredRole: TypeAlias = Literal["leader", "officer", "member"]


@attrs.frozen(kw_only=True)
class GuildMemberRecord:
    """A member of a guild, as stored."""

    player_id: str
    role: StoredRole
    joined: dt.datetime


@attrs.frozen(kw_only=True)
class GuildInviteRecord:
    """A pending invite, as stored."""

    player_id: str
    invited_by: str
    created: dt.datetime


@attrs.frozen(kw_only=True)
class GuildRecord:
    """A guild with its members and pending invites, each list in player id order.

    Attributes:
        guild_id: the guild's id.
        name: its name as its founder gave it (trimmed, NFC).
        name_key: what makes names the same (unique).
        created: when it was founded.
        members: its members, with their roles.
        invites: its pending invites.
    """

    guild_id: str
    name: str
    name_key: str
    created: dt.datetime
    members: tuple[GuildMemberRecord, ...]
    invites: tuple[GuildInviteRecord, ...] = ()
