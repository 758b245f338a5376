"""Parties on this node: the directory of who is in which party, and the party actors' owner.

Parties are not stored in the database: they live in the memory of the node their members
play on, and end with it (docs/social.md).

:class:`PartyDirectory` answers, synchronously and from any task, which party a player is
in (``party_of``: the chat's ``party:<party_id>`` channel needs it), who its members are and
where its actor's mailbox is. Only party actors change it, each for its own party, in
synchronous steps, so a check made in one step (is the player invited somewhere? already
in a party?) still holds when the change is made.

:class:`Parties` is what the rest of the server holds: the ``parties`` dynamic supervisor
(a child of the world supervisor, with one temporary child per party), ``create``, asks to
a party by id, and the two hooks of the session's life that concern parties: a leader
entering a battle (``battle_mates``, ``battle_entered``) and a session whose reconnect
grace ran out (``member_gone``). In a cluster it also routes a member's request to the
node that holds the party (``request``, through ``PartyLinks``).

Why one module of over 400 lines: the directory, the owner and the routing of one party
request share one rule (a party's check and change are one step of its actor), and
split apart each would reach into the others' state.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import trio

from tilemud.actors.parties._cluster import GONE, PartyLinks
from tilemud.actors.parties._party import (
    BattleEntered,
    MemberGone,
    Party,
    PartyMessage,
    PartyOutcome,
    message_for,
)
from tilemud.actors.session import Presence, SessionListener
from tilemud.cluster import ClusterUnavailable
from tilemud.config import SocialSettings
from tilemud.errors import ActorGone, TilemudError
from tilemud.mailbox import Ref, Reply
from tilemud.social import party_rules as rules
from tilemud.social.party_rules import PartyState, Refusal
from tilemud.supervisors import ChildContext, ChildSpec, DynamicSupervisor, Intensity, Restart

log = logging.getLogger("tilemud.parties")

#: Seconds a session waits for a party to answer before giving up.
PARTY_ASK_TIMEOUT = 5.0

#: Whether ``blocker_id`` blocks ``blocked_id`` (``ChatStorage.is_blocked``, wired by the
#: tree): ``(blocker_id, blocked_id) -> bool``.
IsBlocked = Callable[[str, str], Awaitable[bool]]


class PartyGone(TilemudError):
    """The party asked for does not exist (any more) on this node."""


class PartyDirectory:
    """Which party each player is in or invited to, and each party's latest state and ref."""

    def __init__(self) -> None:
        self._parties: dict[str, tuple[PartyState, Ref[PartyMessage]]] = {}
        self._member_of: dict[str, str] = {}
        self._invited_to: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._parties)

    def party_of(self, player_id: str) -> str | None:
        """The party ``player_id`` is a member of, or None."""
        return self._member_of.get(player_id)

    def states(self) -> dict[str, PartyState]:
        """Every party of this node, by id."""
        return {party_id: state for party_id, (state, _) in self._parties.items()}

    def state_of(self, party_id: str) -> PartyState | None:
        """The party as its actor last published it, or None when it is gone."""
        found = self._parties.get(party_id)
        return None if found is None else found[0]

    def members_of(self, party_id: str) -> tuple[str, ...]:
        """The party's members, longest-standing first (empty when it is gone)."""
        state = self.state_of(party_id)
        return () if state is None else state.members

    def ref_of(self, party_id: str) -> Ref[PartyMessage] | None:
        """The party actor's mailbox, or None when the party is gone."""
        found = self._parties.get(party_id)
        return None if found is None else found[1]

    def invites_of(self, player_id: str) -> tuple[str, ...]:
        """Parties that invited ``player_id`` and wait for an answer."""
        return tuple(sorted(self._invited_to.get(player_id, ())))

    def register(self, state: PartyState, ref: Ref[PartyMessage]) -> None:
        """A new party (its creator is in no party: checked in the same step)."""
        assert state.party_id not in self._parties
        self._parties[state.party_id] = (state, ref)
        self._index(state)

    def update(self, state: PartyState) -> None:
        """The party changed (called by its own actor)."""
        old, ref = self._parties[state.party_id]
        self._unindex(old)
        self._parties[state.party_id] = (state, ref)
        self._index(state)

    def forget(self, party_id: str) -> None:
        """The party ended: nobody is in it or invited to it any more."""
        found = self._parties.pop(party_id, None)
        if found is not None:
            self._unindex(found[0])

    def _index(self, state: PartyState) -> None:
        for member in state.members:
            self._member_of[member] = state.party_id
        for invitee in state.invited:
            self._invited_to.setdefault(invitee, set()).add(state.party_id)

    def _unindex(self, state: PartyState) -> None:
        for member in state.members:
            if self._member_of.get(member) == state.party_id:
                del self._member_of[member]
        for invitee in state.invited:
            parties = self._invited_to.get(invitee)
            if parties is not None:
                parties.discard(state.party_id)
                if not parties:
                    del self._invited_to[invitee]


class Parties(SessionListener):
    """Every party of this node: creation, asks by party id, and the session hooks.

    Args:
        settings: the social settings (``party_cap``).
        presence: how party actors reach players (the node's presence).
        is_blocked: ``(blocker_id, blocked_id) -> bool``; None: nobody blocks anybody.
        on_member_removed: told ``(channel, player_id)`` when a member leaves a party
            (left, kicked, timed out, or the party crashed); must not block.
        on_channel_closed: told ``channel`` when a party ends; must not block.
        mailbox_size: each party actor's mailbox.
        links: where this node's parties are written in Redis and how requests reach the
            parties of other nodes (None: one node alone).
    """

    def __init__(
        self,
        settings: SocialSettings,
        *,
        presence: Presence,
        is_blocked: IsBlocked | None = None,
        on_member_removed: Callable[[str, str], object] | None = None,
        on_channel_closed: Callable[[str], object] | None = None,
        mailbox_size: int = 64,
        links: PartyLinks | None = None,
    ) -> None:
        self._settings = settings
        self.links = links
        self._joining: dict[str, trio.Lock] = {}
        self._presence = presence
        self._is_blocked = is_blocked
        self._on_member_removed = on_member_removed
        self._on_channel_closed = on_channel_closed
        self._mailbox_size = mailbox_size
        self.directory = PartyDirectory()
        # Party actors are temporary: a crash ends that party and counts here.
        self.supervisor = DynamicSupervisor(
            "parties", intensity=Intensity(restarts=10, period=10.0)
        )

    def child_spec(self) -> ChildSpec:
        """The ``parties`` child of the world supervisor."""
        return ChildSpec(id="parties", run=self._run, shutdown=2.0)

    async def _run(self, ctx: ChildContext) -> None:
        links = self.links
        if links is None:
            await self.supervisor.run(ctx)
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.keep_links, links)
            await self.supervisor.run(ctx)
            nursery.cancel_scope.cancel()

    async def keep_links(self, links: PartyLinks) -> None:
        """Serve other nodes' requests to this node's parties and renew their Redis keys,
        until cancelled (with the ``parties`` child in a cluster)."""
        await links.keep(self.directory.states, self._serve)

    def party_of(self, player_id: str) -> str | None:
        """The party ``player_id`` is in, or None (synchronous; for the party chat channel)."""
        return self.directory.party_of(player_id)

    async def create(self, player_id: str, *, elsewhere: bool = False) -> PartyState | Refusal:
        """Create a party led by ``player_id`` and start its actor (``elsewhere``: the
        player is in a party of another node, as :meth:`in_another_party` found).

        Raises:
            SupervisorError: the parties supervisor is not running (the node is stopping).
        """
        in_party = elsewhere or self.directory.party_of(player_id) is not None
        refused = rules.check_create(in_party=in_party)
        if refused is not None:
            return refused
        state = rules.new_party(
            f"pt_{secrets.token_urlsafe(9)}", player_id, cap=self._settings.party_cap
        )
        party = Party(
            state,
            directory=self.directory,
            presence=self._presence,
            mailbox_size=self._mailbox_size,
            on_member_removed=self._on_member_removed,
            on_channel_closed=self._on_channel_closed,
        )
        # Claimed in this step, before any await: two creates of one player cannot both pass.
        self.directory.register(state, party.ref)
        try:
            await self.supervisor.start_child(
                ChildSpec(id=state.party_id, run=party.run, restart=Restart.TEMPORARY)
            )
        except BaseException:
            self.directory.forget(state.party_id)
            raise
        log.info("party created", extra={"party_id": state.party_id, "player_id": player_id})
        await self._record()
        return state

    async def blocks(self, blocker_id: str, blocked_id: str) -> bool:
        """Whether ``blocker_id`` blocks ``blocked_id`` (False when nobody can block)."""
        if self._is_blocked is None:
            return False
        return await self._is_blocked(blocker_id, blocked_id)

    async def ask(
        self, party_id: str, make: Callable[[Reply[PartyOutcome]], PartyMessage]
    ) -> PartyOutcome:
        """Ask party ``party_id`` and wait (at most :data:`PARTY_ASK_TIMEOUT`) for its answer.

        Raises:
            PartyGone: there is no such party (any more).
            trio.TooSlowError: the party did not answer in time.
        """
        ref = self.directory.ref_of(party_id)
        if ref is None:
            raise PartyGone(party_id)
        try:
            with trio.fail_after(PARTY_ASK_TIMEOUT):
                return await ref.ask(make)
        except ActorGone as exc:
            raise PartyGone(party_id) from exc

    async def party_anywhere(self, player_id: str) -> str | None:
        """The party ``player_id`` is a member of: on this node, else on any node per Redis.

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        here = self.directory.party_of(player_id)
        if here is not None or self.links is None:
            return here
        # A stale key (its party ended) is found out by the request: the party is gone.
        return await self.links.party_of(player_id)

    async def in_another_party(self, player_id: str, party_id: str | None = None) -> bool:
        """Whether ``player_id`` is a member of a party other than ``party_id``, on this
        node or on another living one (a key of a party that ended is not believed).

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        here = self.directory.party_of(player_id)
        if here is not None:
            return here != party_id
        links = self.links
        if links is None:
            return False
        found = await links.party_of(player_id)
        if found is None or found == party_id or self.directory.ref_of(found) is not None:
            return False  # none, this one, or one of this node that they left since
        node = await links.node_of(found)
        return node is not None and node != links.node_id

    @contextlib.asynccontextmanager
    async def joining(self, player_id: str) -> AsyncIterator[None]:
        """Hold ``player_id``'s join turn: their creates and accepts, made from their one
        session (on this node), are put in order, so that one check of "in a party on
        another node?" cannot pass for two joins at once."""
        lock = self._joining.setdefault(player_id, trio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._joining.pop(player_id, None)

    async def online(self, player_id: str) -> bool:
        """Whether ``player_id`` has a session (on any node of a cluster).

        Raises:
            ClusterUnavailable: Redis did not answer.
        """
        if self.links is None:
            return self._presence.find(player_id) is not None
        return await self.links.online(player_id)

    async def request(self, party_id: str, request: Mapping[str, Any]) -> PartyOutcome:
        """Ask party ``party_id``, on whichever node holds it, one member's request
        (``{"k": kind, "p": party_id, "a": actor, "t": target, ...}``: see ``message_for``).

        Raises:
            PartyGone: there is no such party (any more).
            trio.TooSlowError: the party (here) did not answer in time.
            PartyRemoteFailed: the party's node did not answer in time.
            ClusterUnavailable: Redis did not answer.
        """
        links = self.links
        if links is None or self.directory.ref_of(party_id) is not None:
            return await self._ask_here(party_id, request)
        node = await links.node_of(party_id)
        if node is None or node == links.node_id:
            raise PartyGone(party_id)
        answer = await links.ask(node, {**request, "p": party_id})
        if isinstance(answer, str):
            raise PartyGone(party_id)
        return answer

    async def _ask_here(self, party_id: str, request: Mapping[str, Any]) -> PartyOutcome:
        outcome = await self.ask(party_id, lambda reply: message_for(request, reply))
        await self._record()
        return outcome

    async def _serve(self, request: Mapping[str, Any]) -> PartyOutcome | str:
        """Answer a request another node sent to one of this node's parties."""
        party_id = str(request.get("p"))
        if request.get("k") == "gone":
            await self.member_gone(str(request.get("a")), here_only=True)
            return None
        try:
            return await self._ask_here(party_id, request)
        except PartyGone:
            return GONE
        except trio.TooSlowError:
            return Refusal("overloaded", "the party did not answer in time")

    async def _record(self) -> None:
        """Write this node's parties in Redis now (else the next heartbeat does)."""
        if self.links is not None:
            with trio.move_on_after(PARTY_ASK_TIMEOUT), contextlib.suppress(ClusterUnavailable):
                await self.links.record(self.directory.states())

    async def member_gone(self, player_id: str, *, here_only: bool = False) -> None:
        """``player_id``'s session ended: leave its party, drop its invites. Never raises.

        In a cluster, a party of another node is told too (``here_only``: not again)."""
        parties = [self.directory.party_of(player_id), *self.directory.invites_of(player_id)]
        if parties[0] is None and self.links is not None and not here_only:
            with trio.move_on_after(PARTY_ASK_TIMEOUT):
                await self._tell_gone_elsewhere(self.links, player_id)
        for party_id in parties:
            ref = None if party_id is None else self.directory.ref_of(party_id)
            if ref is None:
                continue
            with trio.move_on_after(PARTY_ASK_TIMEOUT), contextlib.suppress(ActorGone):
                await ref.send(MemberGone(player_id=player_id))
        await self._record()

    async def _tell_gone_elsewhere(self, links: PartyLinks, player_id: str) -> None:
        try:
            party_id = await links.party_of(player_id)
            node = None if party_id is None else await links.node_of(party_id)
        except ClusterUnavailable:
            return  # the member stays until they leave, or the party's node ends
        if node is not None and node != links.node_id:
            await links.tell(node, {"k": "gone", "p": party_id, "a": player_id})

    async def session_expired(self, player_id: str) -> None:
        """A session's grace ran out: the player leaves their party (:meth:`member_gone`)."""
        await self.member_gone(player_id)

    def battle_mates(self, player_id: str) -> tuple[str, ...]:
        """The members who enter a battle with ``player_id``: all others if they lead."""
        party_id = self.directory.party_of(player_id)
        state = None if party_id is None else self.directory.state_of(party_id)
        if state is None or state.leader != player_id:
            return ()
        return tuple(m for m in state.members if m != player_id)

    def battle_entered(self, player_id: str, arena_id: str, region: str) -> None:
        """The leader took a seat in a battle: tell the members. Never blocks."""
        party_id = self.directory.party_of(player_id)
        ref = None if party_id is None else self.directory.ref_of(party_id)
        if ref is None:
            return
        message = BattleEntered(player_id=player_id, arena_id=arena_id, region=region)
        with contextlib.suppress(ActorGone):
            if not ref.try_send(message):
                log.warning("party busy: battle not announced", extra={"party_id": party_id})
