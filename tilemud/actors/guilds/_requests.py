"""The sessions' guild route: wire request -> guilds actor -> answer frame.

Every guild request is critical-tier (:meth:`~tilemud.actors.session.Session.run_critical`:
at most once per ``rid``, the same answer to repeats) and counts against the game-actions
rate limit. The guilds actor answers after the change is committed; a refusal becomes an
``error`` frame with the rules' code. When the actor does not answer in time the request
is refused as ``unavailable`` (a passing refusal: the client repeats the same ``rid``, and
the guilds actor, which remembers its answers by ``rid``, answers it without applying it
a second time).
"""

from __future__ import annotations

from typing import assert_never, get_args

from tilemud.actors.guilds._actor import GuildRefused, GuildsClient
from tilemud.actors.session import Refused, Session, answer_within
from tilemud.protocol import (
    ClientMessage,
    ErrorCode,
    GuildAccept,
    GuildCreate,
    GuildDecline,
    GuildDemote,
    GuildDisband,
    GuildInfo,
    GuildInvite,
    GuildKick,
    GuildLeave,
    GuildOp,
    GuildPromote,
    GuildRequest,
    GuildResult,
    GuildTransfer,
    encode_server,
)

#: Seconds a session waits for the guilds actor (which waits for the database).
GUILD_ASK_TIMEOUT = 10.0


def guild_op(message: GuildRequest) -> tuple[GuildOp, str | None]:
    """The operation a request asks for, and what it is about."""
    match message:
        case GuildCreate(name=name):
            return "create", name
        case GuildInvite(player_id=target):
            return "invite", target
        case GuildAccept(guild_id=guild_id):
            return "accept", guild_id
        case GuildDecline(guild_id=guild_id):
            return "decline", guild_id
        case GuildLeave():
            return "leave", None
        case GuildKick(player_id=target):
            return "kick", target
        case GuildPromote(player_id=target):
            return "promote", target
        case GuildDemote(player_id=target):
            return "demote", target
        case GuildTransfer(player_id=target):
            return "transfer", target
        case GuildDisband():
            return "disband", None
        case GuildInfo(guild_id=guild_id):
            return "info", guild_id
        case _:
            assert_never(message)


class GuildRequests:
    """The guild route the composition root hands every session.

    Args:
        guilds: the guilds actor's client, or None where guilds are not served (every
            guild request then answers ``unavailable``).
    """

    def __init__(self, guilds: GuildsClient | None) -> None:
        self._guilds = guilds

    @property
    def kinds(self) -> tuple[type[ClientMessage], ...]:
        """The requests this route answers."""
        return get_args(GuildRequest)

    async def handle(self, session: Session, message: GuildRequest) -> str | None:
        """Answer one guild request of the session's player (the encoded answer frame)."""

        async def apply() -> str:
            return await _apply(session, self._guilds, message)

        return await session.run_critical(message.rid, apply)


async def _apply(session: Session, guilds: GuildsClient | None, message: GuildRequest) -> str:
    if guilds is None:
        raise Refused(ErrorCode.UNAVAILABLE, "guilds are not served here", retry_after=30.0)
    op, target = guild_op(message)
    answer = await answer_within(
        guilds.apply(session.player_id, op, target, rid=message.rid),
        seconds=GUILD_ASK_TIMEOUT,
        what="guilds",
    )
    if isinstance(answer, GuildRefused):
        raise Refused(answer.code, answer.message, retry_after=answer.retry_after)
    view = answer.guild
    return encode_server(
        GuildResult(
            rid=message.rid,
            op=answer.op,
            guild_id=view.guild_id,
            name=view.name,
            members=view.members,
            invites=view.invites,
        )
    )
