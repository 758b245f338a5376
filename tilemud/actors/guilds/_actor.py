"""Guilds actor: every guild of the server, its members, their roles and pending invites.

Owns:
    a :class:`~tilemud.social.guild_rules.GuildBook` loaded from storage when it starts,
    which only ever holds what is committed; and a bounded memory of the answers it gave,
    by player and ``rid``, so that a request repeated after its answer was lost (the
    session gave up waiting) gets that answer instead of a second application.
Started by:
    the world supervisor, as child ``guilds`` (permanent). A restart loads the guilds
    again from storage; without storage (``database.durable`` off) guilds live in memory
    and end with the process.
Takes:
    ``ApplyGuildOp`` (ask): one guild operation of a player, decided by the rules, stored
    as one transaction, then applied to the book, answered (``GuildDone`` or
    ``GuildRefused``) and told (see Sends). With the database down the answer is
    ``unavailable`` with ``retry_after``, and nothing changed; after any storage failure
    the book is reloaded before the next operation, so it never drifts from the database.
    ``GuildOf`` and ``GuildMembers`` (ask): reads, for the chat's guild channels.
Sends:
    ``guild_event`` stream frames, through :class:`~tilemud.actors.session._presence.Presence`, to
    the online members of a guild whose membership changed (and to a kicked or leaving
    member, and to an invited player); calls ``on_member_removed(channel, player_id)``
    when a member leaves or is kicked and ``on_channel_closed(channel)`` when a guild
    disbands (channel ``guild:<guild_id>``); both must not block. Asks storage.
    In a cluster (a :class:`~tilemud.actors.guilds._cluster.GuildSync`): each change is
    made under the guild's lock in Redis on the guild read again from the database, then
    announced on the bus; ``GuildsChanged`` (another node's announcement) reads those
    guilds again and ``ReloadGuilds`` (announcements lost) every guild, and this node's
    chat is told who left.
Mailbox:
    ``mailbox_size`` messages, ``BLOCK``: guild requests wait when the actor is busy (each
    operation is one database round trip). The bus's messages never wait: when the
    mailbox is full the book is marked stale and read again before the next answer.

Why one module of over 400 lines: the actor's answers, its cache and the way that cache
follows the other nodes are one state machine over one book; split, each half would
reach into the other's state.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import nullcontext
from typing import TypeAlias, assert_never

import attrs

from tilemud.actors.guilds._cluster import GuildBusy, GuildSync
from tilemud.actors.guilds._news import GuildView as GuildView
from tilemud.actors.guilds._news import channel_of, guild_view, news_of, tell
from tilemud.actors.guilds._store import load_book, refresh_guilds, store_change
from tilemud.actors.session import Presence
from tilemud.cluster import ClusterUnavailable
from tilemud.config import SocialSettings
from tilemud.errors import ActorGone
from tilemud.mailbox import Mailbox, Overflow, Ref, Reply, open_mailbox
from tilemud.protocol import ErrorCode, GuildOp
from tilemud.social.guild_rules import (
    Created,
    Denied,
    Disbanded,
    Guild,
    GuildBook,
    GuildChange,
    Invited,
    Removed,
)
from tilemud.storage import GuildStorage, RecordRejected, StorageUnavailable
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.guilds")

#: Seconds a client should wait before repeating a request refused for a passing reason.
RETRY_SOON = 1.0
#: Answers remembered for repeated rids (all players together).
MAX_REMEMBERED = 4096

#: Whether ``blocker_id`` blocks ``blocked_id``: ``(blocker_id, blocked_id) -> bool``.
IsBlocked: TypeAlias = Callable[[str, str], Awaitable[bool]]


@attrs.frozen(kw_only=True)
class GuildDone:
    """An operation applied (or a read): the guild it was about, as the player now sees
    it (no members listed once they are out of it)."""

    op: GuildOp
    guild: GuildView


@attrs.frozen(kw_only=True)
class GuildRefused:
    """An operation refused; ``retry_after`` marks a passing reason (nothing changed)."""

    code: str
    message: str
    retry_after: float | None = None


GuildAnswer: TypeAlias = GuildDone | GuildRefused


@attrs.frozen(kw_only=True)
class ApplyGuildOp:
    """Apply ``op`` for ``player_id``.

    Attributes:
        player_id: who asks.
        op: the operation.
        target: what it is about: the name (``create``), a player (``invite``, ``kick``,
            ``promote``, ``demote``, ``transfer``), a guild (``accept``, ``decline``,
            ``info``: None for one's own), None otherwise.
        rid: the request id; a repeat of an answered one gets the same answer.
        reply: the answer's slot.
    """

    player_id: str
    op: GuildOp
    target: str | None
    rid: str
    reply: Reply[GuildAnswer]


@attrs.frozen(kw_only=True)
class GuildOf:
    """Ask for the id of the player's guild (None for none)."""

    player_id: str
    reply: Reply[str | None]


@attrs.frozen(kw_only=True)
class GuildMembers:
    """Ask for the members of a guild (empty when there is no such guild)."""

    guild_id: str
    reply: Reply[tuple[str, ...]]


@attrs.frozen(kw_only=True)
class GuildsChanged:
    """Another node committed changes to these guilds: read them again (from the bus)."""

    guild_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ReloadGuilds:
    """Announcements may have been lost (the bus subscribed again): read every guild."""


GuildsMessage: TypeAlias = ApplyGuildOp | GuildOf | GuildMembers | GuildsChanged | ReloadGuilds


class GuildsClient:
    """What sessions and the chat hold to reach the guilds actor; the caller sets timeouts."""

    def __init__(self, ref: Ref[GuildsMessage]) -> None:
        self.ref = ref

    async def apply(
        self, player_id: str, op: GuildOp, target: str | None = None, *, rid: str
    ) -> GuildAnswer:
        """Apply one operation (see :class:`ApplyGuildOp`)."""
        return await self.ref.ask(
            lambda reply: ApplyGuildOp(
                player_id=player_id, op=op, target=target, rid=rid, reply=reply
            )
        )

    async def guild_of(self, player_id: str) -> str | None:
        """The id of the player's guild (its channel is ``guild:<id>``), or None."""
        return await self.ref.ask(lambda reply: GuildOf(player_id=player_id, reply=reply))

    async def members_of(self, guild_id: str) -> tuple[str, ...]:
        """The guild's members, sorted; empty for no such guild."""
        return await self.ref.ask(lambda reply: GuildMembers(guild_id=guild_id, reply=reply))


class Guilds:
    """The guilds actor (see the module docstring).

    Args:
        settings: the ``[social]`` settings (``guild_member_cap``).
        storage: where guilds are kept; None keeps them in memory only.
        presence: how online players are reached (the gateway).
        is_blocked: the block check for invites (the chat's); None: nobody blocks anybody.
        on_member_removed: told ``(channel, player_id)`` when a member leaves or is kicked.
        on_channel_closed: told ``channel`` when a guild disbands.
        sync: the other nodes of a cluster (locks, announcements); None: this node alone.
        mailbox_size: the mailbox's capacity.
        new_guild_id: makes guild ids (tests pin them).
        clock: the Unix time of events.
    """

    def __init__(
        self,
        settings: SocialSettings,
        *,
        storage: GuildStorage | None = None,
        presence: Presence | None = None,
        is_blocked: IsBlocked | None = None,
        on_member_removed: Callable[[str, str], object] | None = None,
        on_channel_closed: Callable[[str], object] | None = None,
        sync: GuildSync | None = None,
        mailbox_size: int = 256,
        new_guild_id: Callable[[], str] = lambda: f"g_{secrets.token_urlsafe(9)}",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._storage = storage
        self._presence = presence
        self._is_blocked = is_blocked
        self._on_member_removed = on_member_removed
        self._on_channel_closed = on_channel_closed
        self._new_guild_id = new_guild_id
        self._clock = clock
        self._mailbox: Mailbox[GuildsMessage] = open_mailbox("guilds", mailbox_size, Overflow.BLOCK)
        self._book = GuildBook(member_cap=settings.guild_member_cap)
        self._stale = False
        self._answers: OrderedDict[tuple[str, str], GuildAnswer] = OrderedDict()
        self._sync = sync
        if sync is not None:
            sync.listen(self._heard_change, self._heard_loss)

    @property
    def ref(self) -> Ref[GuildsMessage]:
        """The actor's mailbox (valid across restarts)."""
        return self._mailbox.ref

    @property
    def client(self) -> GuildsClient:
        """A client of this actor."""
        return GuildsClient(self.ref)

    async def run(self, ctx: ChildContext) -> None:
        """Load the guilds, then serve until cancelled (the child's entry point).

        Raises:
            StorageUnavailable: the guilds could not be loaded (the supervisor retries).
        """
        self._book = await load_book(self._storage, member_cap=self._settings.guild_member_cap)
        self._stale = False
        log.info("guilds loaded", extra={"guilds": len(self._book)})
        ctx.started(self.client)
        async for message in self._mailbox.inbox:
            match message:
                case ApplyGuildOp():
                    message.reply.send(await self._answer(message))
                case GuildOf(player_id=player_id, reply=reply):
                    await self._catch_up()
                    reply.send(self._book.guild_of(player_id))
                case GuildMembers(guild_id=guild_id, reply=reply):
                    await self._catch_up()
                    guild = self._book.guild(guild_id)
                    reply.send(() if guild is None else tuple(sorted(guild.members)))
                case GuildsChanged(guild_ids=guild_ids):
                    await self._refresh(guild_ids)
                case ReloadGuilds():
                    self._stale = True
                    await self._catch_up()
                case _:
                    assert_never(message)

    # -- the other nodes (only with a sync) ------------------------------------------------

    def _heard_change(self, guild_ids: tuple[str, ...]) -> None:
        # In the bus's task: must not block. A full mailbox makes the book stale instead,
        # and the actor reads everything again before its next answer.
        try:
            if not self.ref.try_send(GuildsChanged(guild_ids=guild_ids)):
                self._stale = True
        except ActorGone:
            pass

    def _heard_loss(self) -> None:
        try:
            if not self.ref.try_send(ReloadGuilds()):
                self._stale = True
        except ActorGone:
            pass

    async def _catch_up(self) -> None:
        """Read every guild again if the book may be stale (a failed write, a lost
        announcement); with the database down, go on with the book."""
        if not self._stale:
            return
        try:
            fresh = await load_book(self._storage, member_cap=self._settings.guild_member_cap)
        except StorageUnavailable:
            return
        self._stale = False
        ids = {g.guild_id for g in self._book.guilds()} | {g.guild_id for g in fresh.guilds()}
        changes = {gid: (self._book.guild(gid), fresh.guild(gid)) for gid in ids}
        self._book = fresh
        self._reconcile(changes)

    async def _refresh(self, guild_ids: Collection[str], players: Collection[str] = ()) -> None:
        """Read these guilds (and the players' guilds) again; tell the chat who left.

        Raises:
            StorageUnavailable: nothing was read (the book is marked stale).
        """
        try:
            changes = await refresh_guilds(
                self._storage, self._book, guild_ids=guild_ids, player_ids=players
            )
        except StorageUnavailable:
            self._stale = True
            raise
        self._reconcile(changes)

    def _reconcile(self, changes: Mapping[str, tuple[Guild | None, Guild | None]]) -> None:
        """This node's chat learns of members gone and guilds disbanded elsewhere."""
        for guild_id, (before, after) in changes.items():
            if before is None:
                continue
            channel = channel_of(guild_id)
            try:
                if after is None:
                    if self._on_channel_closed is not None:
                        self._on_channel_closed(channel)
                    continue
                if self._on_member_removed is not None:
                    for player_id in sorted(set(before.members) - set(after.members)):
                        self._on_member_removed(channel, player_id)
            except Exception:
                log.exception("guild hook failed", extra={"channel": channel})

    async def _answer(self, request: ApplyGuildOp) -> GuildAnswer:
        key = (request.player_id, request.rid)
        remembered = self._answers.get(key)
        if remembered is not None:
            return remembered
        answer = await self._apply(request)
        if not (isinstance(answer, GuildRefused) and answer.retry_after is not None):
            self._answers[key] = answer
            while len(self._answers) > MAX_REMEMBERED:
                self._answers.popitem(last=False)
        return answer

    async def _apply(self, request: ApplyGuildOp) -> GuildAnswer:
        if self._sync is None:
            return await self._apply_here(request)
        if request.op == "info":
            # A read in a cluster: the guild as stored now, not as the last announcement
            # left it (one database read; a player asks at human speed).
            try:
                targets = [] if request.target is None else [request.target]
                await self._refresh(targets, [request.player_id])
            except StorageUnavailable:
                pass  # the book, as this node knows it
            return await self._apply_here(request)
        return await self._apply_across(request, self._sync)

    async def _apply_across(self, request: ApplyGuildOp, sync: GuildSync) -> GuildAnswer:
        """A change in a cluster: under the guild's lock, on the guild as stored now."""
        locked = self._lock_target(request)
        try:
            await self._catch_up()
            for _ in range(3):
                async with sync.changing(locked) if locked is not None else nullcontext():
                    players = [request.player_id]
                    if request.op in _PLAYER_TARGETS and request.target is not None:
                        players.append(request.target)
                    ids = [] if locked is None or request.op == "create" else [locked]
                    await self._refresh(ids, players)
                    planned = self._plan(request.player_id, request.op, request.target)
                    if (
                        isinstance(planned, GuildChange)
                        and not isinstance(planned, Created)
                        and planned.guild_id != locked
                    ):
                        locked = planned.guild_id  # the database says: another guild
                        continue
                    answer = await self._apply_here(request, planned=planned)
                    if not isinstance(planned, GuildChange) or _passing(answer):
                        return answer
                    await sync.announce({planned.guild_id})
                    return answer
        except StorageUnavailable as exc:
            return _unavailable(exc)
        except ClusterUnavailable as exc:
            log.warning("guild change refused: %s", exc, extra={"op": request.op})
            return GuildRefused(
                code=ErrorCode.UNAVAILABLE,
                message="guilds cannot change while the cluster is unreachable",
                retry_after=exc.retry_after,
            )
        except GuildBusy as exc:
            return GuildRefused(
                code=ErrorCode.UNAVAILABLE, message=str(exc), retry_after=RETRY_SOON
            )
        return GuildRefused(
            code=ErrorCode.UNAVAILABLE, message="guilds changed meanwhile", retry_after=RETRY_SOON
        )

    def _lock_target(self, request: ApplyGuildOp) -> str | None:
        """The lock a change takes: the guild it is about as this node's book sees it
        (checked after the fresh read), or None when the book knows none."""
        if request.op in ("accept", "decline"):
            return request.target
        if request.op == "create":
            # No guild yet: the founder's own key, so a founding needs Redis like any
            # change (nothing is committed that could not be announced).
            return f"founder:{request.player_id}"
        return self._book.guild_of(request.player_id)

    async def _apply_here(
        self, request: ApplyGuildOp, *, planned: GuildChange | Guild | Denied | None = None
    ) -> GuildAnswer:
        player_id, op = request.player_id, request.op
        try:
            if self._stale:
                self._book = await load_book(
                    self._storage, member_cap=self._settings.guild_member_cap
                )
                self._stale = False
            if planned is None:
                planned = self._plan(player_id, op, request.target)
            if isinstance(planned, Denied):
                return GuildRefused(code=planned.code, message=planned.message)
            if isinstance(planned, Guild):
                return GuildDone(op=op, guild=guild_view(planned, viewer=player_id))
            if isinstance(planned, Invited) and await self._blocks(planned):
                return GuildRefused(
                    code=ErrorCode.BLOCKED, message=f"{planned.player_id} blocks you"
                )
            before = self._book.guild(planned.guild_id)
            await store_change(self._storage, planned)
        except StorageUnavailable as exc:
            self._stale = True
            return _unavailable(exc)
        except RecordRejected as exc:
            # The database disagrees with the book (another node changed it): read again,
            # and tell the loser the rule's own reason when there is one now.
            self._stale = True
            log.warning("guild change rejected: %s", exc, extra={"op": op})
            await self._catch_up()
            again = self._plan(player_id, op, request.target)
            if isinstance(again, Denied):
                return GuildRefused(code=again.code, message=again.message)
            return GuildRefused(
                code=ErrorCode.UNAVAILABLE,
                message="guilds changed meanwhile",
                retry_after=RETRY_SOON,
            )
        # A disband's audience is the guild as it was; everyone else's, as it is now.
        if before is not None:
            before = attrs.evolve(before, members=dict(before.members))
        self._book.apply(planned)
        self._announce(planned, before)
        guild = self._book.guild(planned.guild_id)
        if guild is not None and player_id in guild.members:
            return GuildDone(op=op, guild=guild_view(guild, viewer=player_id))
        known = guild or before
        name = "" if known is None else known.name
        return GuildDone(op=op, guild=GuildView(guild_id=planned.guild_id, name=name))

    def _plan(
        self, player_id: str, op: GuildOp, target: str | None
    ) -> GuildChange | Guild | Denied:
        book = self._book
        match op:
            case "create":
                return book.plan_create(player_id, target or "", guild_id=self._new_guild_id())
            case "invite":
                return book.plan_invite(player_id, _required(target))
            case "accept":
                return book.plan_accept(player_id, _required(target))
            case "decline":
                return book.plan_decline(player_id, _required(target))
            case "leave":
                return book.plan_leave(player_id)
            case "kick":
                return book.plan_kick(player_id, _required(target))
            case "promote":
                return book.plan_promote(player_id, _required(target))
            case "demote":
                return book.plan_demote(player_id, _required(target))
            case "transfer":
                return book.plan_transfer(player_id, _required(target))
            case "disband":
                return book.plan_disband(player_id)
            case "info":
                return book.check_read(player_id, target)
            case _:
                assert_never(op)

    async def _blocks(self, invite: Invited) -> bool:
        if self._is_blocked is None:
            return False
        return await self._is_blocked(invite.player_id, invite.by)

    def _announce(self, change: GuildChange, before: Guild | None) -> None:
        guild = before if isinstance(change, Disbanded) else self._book.guild(change.guild_id)
        if guild is None:
            return
        news = news_of(change, guild, sent_at=self._clock())
        if news is not None:
            tell(self._presence, news)
        channel = channel_of(change.guild_id)
        try:
            if isinstance(change, Removed) and self._on_member_removed is not None:
                self._on_member_removed(channel, change.player_id)
            if isinstance(change, Disbanded) and self._on_channel_closed is not None:
                self._on_channel_closed(channel)
        except Exception:
            # The change is committed and answered either way; a hook's bug is the chat's.
            log.exception("guild hook failed", extra={"channel": channel})


#: Operations whose target is a player (the others name a guild, a name, or nothing).
_PLAYER_TARGETS = frozenset({"invite", "kick", "promote", "demote", "transfer"})


def _passing(answer: GuildAnswer) -> bool:
    """Whether nothing was committed (a refusal)."""
    return isinstance(answer, GuildRefused)


def _unavailable(exc: StorageUnavailable) -> GuildRefused:
    return GuildRefused(
        code=ErrorCode.UNAVAILABLE,
        message=f"guilds cannot change while the database is down: {exc}",
        retry_after=exc.retry_after,
    )


def _required(target: str | None) -> str:
    # The session always passes a target for the operations that need one.
    assert target is not None
    return target
