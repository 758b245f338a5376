"""Guild messages: the requests (critical tier), their one answer, and the stream event.

Every request carries a ``rid`` and is applied at most once; it is answered by a
``guild_result`` (naming the operation and, where there still is one, the guild as it is
now) or an ``error`` whose code says why it was refused (docs/social.md, "Guilds"). An
answer is sent once the change is stored. Players learn of changes they did not ask for
from ``guild_event`` frames on their stream.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeAlias

import attrs

from tilemud.protocol._fields import ID, RID, STREAM_SEQ, UNIX_TIME, Fixed, Items, Text

#: A guild role, highest first.
GuildRole: TypeAlias = Literal["leader", "officer", "member"]

#: The operation a ``guild_result`` answers.
GuildOp: TypeAlias = Literal[
    "create",
    "invite",
    "accept",
    "decline",
    "leave",
    "kick",
    "promote",
    "demote",
    "transfer",
    "disband",
    "info",
]

#: What a ``guild_event`` reports.
GuildChangeKind: TypeAlias = Literal[
    "invited", "joined", "left", "kicked", "promoted", "demoted", "leader_changed", "disbanded"
]

#: Most members (or pending invites) a guild view lists.
MAX_GUILD_LIST = 10_000

_ROLE = Text(min_length=1, max_length=16, pattern="leader|officer|member")
#: What a player typed as a guild name; the name rules are checked by the server and
#: answered with ``invalid_name``, not ``invalid_message``.
_GUILD_NAME = Text(min_length=1, max_length=64)


@attrs.frozen(kw_only=True)
class GuildCreate:
    """Founds a guild with the sender as its leader.

    Answered by ``guild_result`` or an ``error``: ``already_in_guild``, ``invalid_name``,
    ``name_taken``. Founding drops the sender's pending invites.

    Attributes:
        rid: the request id, echoed by the answer.
        name: the guild's name: 3 to 24 characters after trimming the ends; letters,
            digits, spaces, ``-`` and ``_``; starting with a letter or digit; no two spaces
            in a row. Unique ignoring case.
    """

    TYPE: ClassVar[str] = "guild_create"

    rid: str = attrs.field(validator=RID)
    name: str = attrs.field(validator=_GUILD_NAME)


@attrs.frozen(kw_only=True)
class GuildInvite:
    """Invites a player into the sender's guild (leader and officers).

    The invited player gets a ``guild_event`` ``invited`` if online, and sees the invite
    in ``guild_info`` until they accept or decline it. Inviting again renews it. Errors:
    ``not_in_guild``, ``forbidden``, ``invalid_target`` (a member), ``already_in_guild``,
    ``guild_full``, ``blocked`` (the player blocks the sender).

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the player to invite.
    """

    TYPE: ClassVar[str] = "guild_invite"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class GuildAccept:
    """Accepts a pending invite: the sender joins as a ``member``.

    Errors: ``already_in_guild``, ``no_invite``, ``guild_full``. Joining drops the
    sender's other pending invites.

    Attributes:
        rid: the request id, echoed by the answer.
        guild_id: the guild whose invite is accepted.
    """

    TYPE: ClassVar[str] = "guild_accept"

    rid: str = attrs.field(validator=RID)
    guild_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class GuildDecline:
    """Declines a pending invite. Errors: ``no_invite``.

    Attributes:
        rid: the request id, echoed by the answer.
        guild_id: the guild whose invite is declined.
    """

    TYPE: ClassVar[str] = "guild_decline"

    rid: str = attrs.field(validator=RID)
    guild_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class GuildLeave:
    """Leaves the sender's guild.

    A leader must hand leadership over first (``forbidden``) unless alone: a lone leader
    leaving disbands the guild. Errors: ``not_in_guild``, ``forbidden``.

    Attributes:
        rid: the request id, echoed by the answer.
    """

    TYPE: ClassVar[str] = "guild_leave"

    rid: str = attrs.field(validator=RID)


@attrs.frozen(kw_only=True)
class GuildKick:
    """Removes a member: the leader kicks officers and members, an officer kicks members.

    Errors: ``not_in_guild``, ``forbidden``, ``not_a_member``, ``invalid_target``.

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the member to remove.
    """

    TYPE: ClassVar[str] = "guild_kick"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class GuildPromote:
    """Makes a ``member`` an ``officer`` (the leader only).

    Errors: ``not_in_guild``, ``forbidden``, ``not_a_member``, ``invalid_target``.

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the member to promote.
    """

    TYPE: ClassVar[str] = "guild_promote"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class GuildDemote:
    """Makes an ``officer`` a ``member`` (the leader only).

    Errors: ``not_in_guild``, ``forbidden``, ``not_a_member``, ``invalid_target``.

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the officer to demote.
    """

    TYPE: ClassVar[str] = "guild_demote"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class GuildTransfer:
    """Hands leadership to another member (the leader only); the old leader becomes an
    ``officer``.

    Errors: ``not_in_guild``, ``forbidden``, ``not_a_member``, ``invalid_target``.

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the member who becomes the leader.
    """

    TYPE: ClassVar[str] = "guild_transfer"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class GuildDisband:
    """Ends the guild (the leader only): every member is out, pending invites are dropped,
    the guild channel closes and the name is free again.

    Errors: ``not_in_guild``, ``forbidden``.

    Attributes:
        rid: the request id, echoed by the answer.
    """

    TYPE: ClassVar[str] = "guild_disband"

    rid: str = attrs.field(validator=RID)


@attrs.frozen(kw_only=True)
class GuildInfo:
    """Asks for a guild's view: the sender's own guild, or one that invited them.

    Errors: ``not_in_guild`` (no ``guild_id`` and no guild), ``not_found``, ``forbidden``
    (neither a member nor invited).

    Attributes:
        rid: the request id, echoed by the answer.
        guild_id: the guild to look at; absent for the sender's own.
    """

    TYPE: ClassVar[str] = "guild_info"

    rid: str = attrs.field(validator=RID)
    guild_id: str | None = attrs.field(default=None, validator=ID)


@attrs.frozen(kw_only=True)
class GuildResult:
    """The answer to a guild request that was applied (or, for ``info``, read).

    Attributes:
        rid: the request's id.
        op: which request it answers: ``create``, ``invite``, ``accept``, ``decline``,
            ``leave``, ``kick``, ``promote``, ``demote``, ``transfer``, ``disband`` or
            ``info``.
        guild_id: the guild the request was about; its chat channel is
            ``guild:<guild_id>``.
        name: its name, unique on the server ignoring case.
        members: ``[player_id, role]`` for every member after the change, leader first,
            then officers, then members, each group in player id order; empty when the
            sender is not (or no longer) in the guild nor invited into it (``decline``,
            ``leave``, ``disband``).
        invites: the players invited and not yet answered, in player id order; listed
            for members only.
    """

    TYPE: ClassVar[str] = "guild_result"

    rid: str = attrs.field(validator=RID)
    op: GuildOp
    guild_id: str = attrs.field(validator=ID)
    name: str = attrs.field(validator=_GUILD_NAME)
    members: tuple[tuple[str, str], ...] = attrs.field(
        validator=Items(item=Fixed(ID, _ROLE), max_items=MAX_GUILD_LIST)
    )
    invites: tuple[str, ...] = attrs.field(validator=Items(item=ID, max_items=MAX_GUILD_LIST))


@attrs.frozen(kw_only=True)
class GuildEvent:
    """A change of a guild the player belongs to (or belonged to, or is invited into).

    Every member online is told of every membership change, the one who made it
    included; a kicked member is told too, and an invited player of the invite. A player
    offline is not told: ``guild_info`` shows the guild as it is.

    Attributes:
        seq: this frame's number in the session's stream; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
        guild_id: the guild.
        name: its name.
        change: ``invited``, ``joined``, ``left``, ``kicked``, ``promoted``, ``demoted``,
            ``leader_changed`` or ``disbanded``.
        player_id: whom the change is about: the invited, joining, leaving, kicked,
            promoted or demoted player, the new leader, or the leader who disbanded.
        by: who made the change, when it is not ``player_id``: the inviter, the kicker,
            the leader who promoted, demoted or handed over.
        role: ``player_id``'s role after the change, when they are still a member.
    """

    TYPE: ClassVar[str] = "guild_event"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    guild_id: str = attrs.field(validator=ID)
    name: str = attrs.field(validator=_GUILD_NAME)
    change: GuildChangeKind
    player_id: str = attrs.field(validator=ID)
    by: str | None = attrs.field(default=None, validator=ID)
    role: GuildRole | None = None


#: Every guild request of a client, closed.
GuildRequest: TypeAlias = (
    GuildCreate
    | GuildInvite
    | GuildAccept
    | GuildDecline
    | GuildLeave
    | GuildKick
    | GuildPromote
    | GuildDemote
    | GuildTransfer
    | GuildDisband
    | GuildInfo
)
