"""Party actor: one party of players on this node, from its creation until its last member goes.

Owns:
    the party's :class:`~tilemud.social.party_rules.PartyState` (leader, members in the
    order they joined, pending invites, cap). It applies the rules of
    :mod:`tilemud.social.party_rules` and nothing else decides who is in the party.
Started by:
    :class:`~tilemud.actors.parties._parties.Parties` on ``party_create``, under the ``parties``
    dynamic supervisor. Restart type: ``temporary``: a party is not stored anywhere, so a
    crashed one is gone (its members are in no party and may create a new one). It ends
    itself, returning from ``run``, when its last member leaves.
Takes (:data:`PartyMessage`):
    ``Invite``, ``Accept``, ``Decline``, ``LeaveParty``, ``Kick``, ``Promote`` (asks from
    the members' sessions; each answered with the party after it, or a
    :class:`~tilemud.social.party_rules.Refusal`), ``MemberGone`` (a member's reconnect
    grace ran out: they leave, and a leader's lead passes on) and ``BattleEntered`` (the
    leader took a battle seat with seats kept for the others).
Sends:
    ``party_event`` stream frames to the members (and to a player invited or kicked)
    through :class:`~tilemud.actors.session._presence.Presence`, which never blocks; the party's
    membership to the party directory (:class:`PartyBook`) after every change
    (synchronous); and, when it is given them, the chat hooks ``on_member_removed(channel,
    player_id)`` and ``on_channel_closed(channel)`` (synchronous, must not block), with the
    channel ``party:<party_id>``.
Mailbox:
    ``mailbox_size`` messages (default 64), ``BLOCK``: a member's request waits (and so
    does the socket it came from) while the party is busy. Every message is handled
    without awaiting anything (the block check is made by the asker beforehand), so a
    request's check and its change are one step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeAlias, assert_never

import attrs

from tilemud.actors.session import Presence
from tilemud.mailbox import Mailbox, Overflow, Ref, Reply, open_mailbox
from tilemud.protocol import UNSTAMPED, PartyEvent, PartyEventKind, encode_stream_body
from tilemud.social import party_rules as rules
from tilemud.social.party_rules import PartyState, Refusal
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.party")


class PartyBook(Protocol):
    """What a party actor keeps up to date: who is in or invited to which party (the
    :class:`~tilemud.actors.parties.Parties`' directory)."""

    def party_of(self, player_id: str) -> str | None:
        """The party ``player_id`` is in, if any."""
        ...

    def update(self, state: PartyState) -> None:
        """The party changed: remember its members and invites."""
        ...

    def forget(self, party_id: str) -> None:
        """The party ended."""
        ...


#: What a party request gets back: the party after it, None when it ended, or why not.
PartyOutcome: TypeAlias = PartyState | Refusal | None


@attrs.frozen(kw_only=True)
class Invite:
    """``actor`` invites ``target``. The asker looked up what needs I/O: whether the target
    blocks the actor, is online on any node, and is in a party of another node."""

    actor: str
    target: str
    target_blocks_actor: bool
    target_online: bool
    target_elsewhere: bool = False
    reply: Reply[PartyOutcome]


@attrs.frozen(kw_only=True)
class Accept:
    """``actor`` accepts the party's invite (``actor_elsewhere``: the asker found them in a
    party of another node)."""

    actor: str
    actor_elsewhere: bool = False
    reply: Reply[PartyOutcome]


@attrs.frozen(kw_only=True)
class Decline:
    """``actor`` declines the party's invite."""

    actor: str
    reply: Reply[PartyOutcome]


@attrs.frozen(kw_only=True)
class LeaveParty:
    """``actor`` leaves the party."""

    actor: str
    reply: Reply[PartyOutcome]


@attrs.frozen(kw_only=True)
class Kick:
    """``actor`` (the leader) removes ``target``."""

    actor: str
    target: str
    reply: Reply[PartyOutcome]


@attrs.frozen(kw_only=True)
class Promote:
    """``actor`` (the leader) hands the lead to ``target``."""

    actor: str
    target: str
    reply: Reply[PartyOutcome]


@attrs.frozen(kw_only=True)
class MemberGone:
    """``player_id``'s session ended (its reconnect grace ran out)."""

    player_id: str


@attrs.frozen(kw_only=True)
class BattleEntered:
    """The leader ``player_id`` holds a seat in battle ``arena_id``; the others have one kept."""

    player_id: str
    arena_id: str
    region: str


PartyMessage: TypeAlias = (
    Invite | Accept | Decline | LeaveParty | Kick | Promote | MemberGone | BattleEntered
)


def message_for(request: Mapping[str, Any], reply: Reply[PartyOutcome]) -> PartyMessage:
    """The party actor's message for one member's request (from this node or another).

    Raises:
        ValueError: not a request kind (a garbled message of another node).
    """
    kind, actor, target = request.get("k"), str(request.get("a")), str(request.get("t"))
    match kind:
        case "invite":
            return Invite(
                actor=actor,
                target=target,
                target_blocks_actor=request.get("blocks") is True,
                target_online=request.get("online") is True,
                target_elsewhere=request.get("elsewhere") is True,
                reply=reply,
            )
        case "accept":
            return Accept(
                actor=actor, actor_elsewhere=request.get("elsewhere") is True, reply=reply
            )
        case "decline":
            return Decline(actor=actor, reply=reply)
        case "leave":
            return LeaveParty(actor=actor, reply=reply)
        case "kick":
            return Kick(actor=actor, target=target, reply=reply)
        case "promote":
            return Promote(actor=actor, target=target, reply=reply)
    raise ValueError(f"not a party request: {kind!r}")


def party_channel(party_id: str) -> str:
    """The chat channel of a party."""
    return f"party:{party_id}"


class Party:
    """One party: its state, its mailbox, and the members it tells what happens."""

    def __init__(
        self,
        state: PartyState,
        *,
        directory: PartyBook,
        presence: Presence,
        mailbox_size: int = 64,
        on_member_removed: Callable[[str, str], object] | None = None,
        on_channel_closed: Callable[[str], object] | None = None,
    ) -> None:
        self.party_id = state.party_id
        self._state: PartyState | None = state
        self._directory = directory
        self._presence = presence
        self._on_member_removed = on_member_removed
        self._on_channel_closed = on_channel_closed
        self._mailbox: Mailbox[PartyMessage] = open_mailbox(
            f"party {state.party_id}", mailbox_size, Overflow.BLOCK
        )

    @property
    def ref(self) -> Ref[PartyMessage]:
        """The party's mailbox."""
        return self._mailbox.ref

    async def run(self, ctx: ChildContext) -> None:
        """Serve the party until its last member is gone (the child's entry point)."""
        ctx.started(self.ref)
        try:
            async for message in self._mailbox.inbox:
                self._handle(message)
                if self._state is None:
                    return
        finally:
            # Ended, crashed or stopped: nobody is in this party any more. Later asks
            # meet a closed mailbox (ActorGone).
            self._mailbox.close()
            self._directory.forget(self.party_id)
            if self._state is not None:
                for member in self._state.members:
                    self._member_removed(member)
            if self._on_channel_closed is not None:
                self._on_channel_closed(party_channel(self.party_id))
            log.info("party ended", extra={"party_id": self.party_id})

    def _handle(self, message: PartyMessage) -> None:
        state = self._state
        assert state is not None
        match message:
            case Invite(actor=actor, target=target, reply=reply):
                refused = rules.check_invite(
                    state,
                    actor,
                    target,
                    target_in_party=self._directory.party_of(target) is not None
                    or message.target_elsewhere,
                    target_blocks_actor=message.target_blocks_actor,
                    target_online=message.target_online,
                )
                self._answer(reply, refused, lambda: rules.with_invite(state, target))
                if refused is None:
                    self._tell("invited", target, extra=(target,))
            case Accept(actor=actor, reply=reply):
                refused = rules.check_accept(
                    state,
                    actor,
                    actor_in_party=self._directory.party_of(actor) is not None
                    or message.actor_elsewhere,
                )
                self._answer(reply, refused, lambda: rules.with_accepted(state, actor))
                if refused is None:
                    self._tell("joined", actor)
            case Decline(actor=actor, reply=reply):
                refused = rules.check_decline(state, actor)
                self._answer(reply, refused, lambda: rules.without_invite(state, actor))
                if refused is None:
                    self._tell("declined", actor)
            case LeaveParty(actor=actor, reply=reply):
                refused = rules.check_leave(state, actor)
                self._answer(reply, refused, lambda: rules.without_member(state, actor))
                if refused is None:
                    self._removed("left", actor)
            case Kick(actor=actor, target=target, reply=reply):
                refused = rules.check_kick(state, actor, target)
                self._answer(reply, refused, lambda: rules.without_member(state, target))
                if refused is None:
                    self._removed("kicked", target, extra=(target,))
            case Promote(actor=actor, target=target, reply=reply):
                refused = rules.check_promote(state, actor, target)
                self._answer(reply, refused, lambda: rules.with_leader(state, target))
                if refused is None:
                    self._tell("promoted", target)
            case MemberGone(player_id=player_id):
                if player_id in state.members:
                    self._change(rules.without_member(state, player_id))
                    self._removed("timed_out", player_id)
                elif player_id in state.invited:  # an invite nobody will answer: free its seat
                    self._change(rules.without_invite(state, player_id))
            case BattleEntered(player_id=player_id, arena_id=arena_id, region=region):
                if state.leader == player_id:
                    self._tell("battle", player_id, arena_id=arena_id, region=region)
            case _:
                assert_never(message)

    def _answer(
        self,
        reply: Reply[PartyOutcome],
        refused: Refusal | None,
        apply: Callable[[], PartyState | None],
    ) -> None:
        if refused is not None:
            reply.send(refused)
            return
        after = apply()
        self._change(after)
        reply.send(after)

    def _change(self, after: PartyState | None) -> None:
        self._state = after
        if after is not None:
            self._directory.update(after)

    def _removed(self, event: PartyEventKind, player_id: str, extra: tuple[str, ...] = ()) -> None:
        self._member_removed(player_id)
        if self._state is not None:  # nobody is left to tell when it ended
            self._tell(event, player_id, extra=extra)

    def _member_removed(self, player_id: str) -> None:
        if self._on_member_removed is not None:
            self._on_member_removed(party_channel(self.party_id), player_id)

    def _tell(
        self,
        event: PartyEventKind,
        player_id: str,
        *,
        extra: tuple[str, ...] = (),
        arena_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Publish one ``party_event`` to every member, and to ``extra`` players."""
        state = self._state
        assert state is not None
        body = encode_stream_body(
            PartyEvent(
                seq=UNSTAMPED,
                sent_at=time.time(),
                party_id=state.party_id,
                event=event,
                player_id=player_id,
                leader=state.leader,
                members=state.members,
                arena_id=arena_id,
                region=region,
            )
        )
        for member in (*state.members, *extra):
            self._presence.publish_to(member, body)
