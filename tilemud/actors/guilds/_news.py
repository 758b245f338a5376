"""What the guilds actor says about a guild: its view for answers, its events for streams.

Pure helpers of :mod:`tilemud.actors.guilds._actor`: they read the book and build wire values;
sending them is the actor's business.
"""

from __future__ import annotations

from typing import assert_never

import attrs

from tilemud.actors.session import Presence
from tilemud.protocol import (
    UNSTAMPED,
    GuildChangeKind,
    GuildEvent,
    GuildRole,
    encode_stream_body,
)
from tilemud.social.guild_rules import (
    MEMBER,
    OFFICER,
    Created,
    Declined,
    Disbanded,
    Guild,
    GuildChange,
    Invited,
    Joined,
    Removed,
    RoleSet,
    Transferred,
)

_ORDER = {"leader": 0, "officer": 1, "member": 2}


@attrs.frozen(kw_only=True)
class GuildView:
    """A guild as one player sees it (the body of a ``guild_result``).

    Attributes:
        guild_id: the guild.
        name: its name.
        members: ``(player_id, role)``, leader first, then officers, then members; empty
            when the player is out of the guild.
        invites: pending invites, listed for members only.
    """

    guild_id: str
    name: str
    members: tuple[tuple[str, str], ...] = ()
    invites: tuple[str, ...] = ()


def guild_view(guild: Guild, *, viewer: str) -> GuildView:
    """The guild as ``viewer`` sees it: invites are listed for members only."""
    members = sorted(guild.members.items(), key=lambda item: (_ORDER[item[1]], item[0]))
    invites = tuple(sorted(guild.invites)) if viewer in guild.members else ()
    return GuildView(
        guild_id=guild.guild_id, name=guild.name, members=tuple(members), invites=invites
    )


def channel_of(guild_id: str) -> str:
    """The guild's chat channel id."""
    return f"guild:{guild_id}"


@attrs.frozen(kw_only=True)
class News:
    """An event and who hears it."""

    event: GuildEvent
    audience: tuple[str, ...]


def news_of(change: GuildChange, guild: Guild, *, sent_at: float) -> News | None:
    """The event of a change and its audience, or None when nobody is told.

    ``guild`` is the guild after the change (before it, for a disband). Members hear of
    every membership change; a removed member hears of their own removal; an invited
    player of their invite.
    """

    def event(
        change: GuildChangeKind,
        player_id: str,
        by: str | None = None,
        role: GuildRole | None = None,
    ) -> GuildEvent:
        return GuildEvent(
            seq=UNSTAMPED,
            sent_at=sent_at,
            guild_id=guild.guild_id,
            name=guild.name,
            change=change,
            player_id=player_id,
            by=by,
            role=role,
        )

    members = tuple(sorted(guild.members))
    match change:
        case Created() | Declined():
            return None
        case Invited(player_id=pid, by=by):
            return News(event=event(change="invited", player_id=pid, by=by), audience=(pid,))
        case Joined(player_id=pid):
            return News(event=event(change="joined", player_id=pid, role=MEMBER), audience=members)
        case Removed(player_id=pid, by=None):
            return News(event=event(change="left", player_id=pid), audience=(*members, pid))
        case Removed(player_id=pid, by=by):
            return News(
                event=event(change="kicked", player_id=pid, by=by), audience=(*members, pid)
            )
        case RoleSet(player_id=pid, role=role, by=by):
            kind: GuildChangeKind = "promoted" if role == OFFICER else "demoted"
            return News(event=event(change=kind, player_id=pid, by=by, role=role), audience=members)
        case Transferred(old_leader=old, new_leader=new):
            return News(
                event=event(change="leader_changed", player_id=new, by=old, role="leader"),
                audience=members,
            )
        case Disbanded(by=by):
            return News(event=event(change="disbanded", player_id=by), audience=members)
        case _:
            assert_never(change)


def tell(presence: Presence | None, news: News) -> int:
    """Put the event on the stream of each online listener; how many were reached."""
    if presence is None:
        return 0
    body = encode_stream_body(news.event)
    return sum(1 for player_id in news.audience if presence.publish_to(player_id, body))
