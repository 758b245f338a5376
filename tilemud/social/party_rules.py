"""Party rules: roles, who may do what, the cap and the leader handoff. Pure: no Trio, no I/O.

A party is a leader and members in the order they joined (the leader is one of them), plus
the players invited and not answered yet. Every operation has one check here, which says
why a player may not do it (a :class:`Refusal` with the error code of the wire) or None
when they may, and one transition, which gives the party after it. The party actor
(:mod:`tilemud.actors.parties._party`) runs them; docs/social.md has the table they implement.

Roles, seen from one party: ``leader``; ``member`` (any other member); ``invitee`` (invited
and not answered yet); ``outsider`` (anyone else).

Seats: invites hold a seat, so ``len(members) + len(invited) <= cap`` always holds and an
accept can never over-fill a party.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

#: A player's role in one party.
Role: TypeAlias = Literal["leader", "member", "invitee", "outsider"]

#: Every party operation a player may ask for.
PartyOp: TypeAlias = Literal["create", "invite", "accept", "decline", "leave", "kick", "promote"]

# Error codes, as the wire protocol names them (tilemud.protocol.ErrorCode).
ALREADY_IN_PARTY = "already_in_party"
NOT_IN_PARTY = "not_in_party"
PARTY_FULL = "party_full"
ALREADY_INVITED = "already_invited"
PLAYER_OFFLINE = "player_offline"
NO_INVITE = "no_invite"
FORBIDDEN = "forbidden"
BLOCKED = "blocked"
INVALID_TARGET = "invalid_target"
NOT_A_MEMBER = "not_a_member"


@attrs.frozen
class Refusal:
    """Why a party operation is refused.

    Attributes:
        code: the error code sent to the player.
        message: the same, for people.
    """

    code: str
    message: str


@attrs.frozen(kw_only=True)
class PartyState:
    """One party, as its actor holds it.

    Attributes:
        party_id: the party.
        leader: the member who leads it.
        members: every member, the leader included, longest-standing first.
        invited: players invited and not answered yet, in the order they were invited.
        cap: most members, pending invites counted.
    """

    party_id: str
    leader: str
    members: tuple[str, ...]
    invited: tuple[str, ...] = ()
    cap: int = 8

    @property
    def seats_taken(self) -> int:
        """Members plus pending invites: what the cap counts."""
        return len(self.members) + len(self.invited)

    def role_of(self, player_id: str) -> Role:
        """``player_id``'s role in this party."""
        if player_id == self.leader:
            return "leader"
        if player_id in self.members:
            return "member"
        if player_id in self.invited:
            return "invitee"
        return "outsider"


def new_party(party_id: str, leader: str, *, cap: int) -> PartyState:
    """A party of one: ``leader``, who created it."""
    return PartyState(party_id=party_id, leader=leader, members=(leader,), cap=cap)


# -- checks: None when allowed, else the refusal ------------------------------------------


def check_create(*, in_party: bool) -> Refusal | None:
    """May a player create a party? Only one who is in none."""
    if in_party:
        return Refusal(ALREADY_IN_PARTY, "already in a party; leave it first")
    return None


def _require_leader(party: PartyState, actor: str, what: str) -> Refusal | None:
    role = party.role_of(actor)
    if role == "leader":
        return None
    if role == "member":
        return Refusal(FORBIDDEN, f"only the party leader may {what}")
    return Refusal(NOT_IN_PARTY, "not in this party")


def check_invite(
    party: PartyState,
    actor: str,
    target: str,
    *,
    target_in_party: bool,
    target_blocks_actor: bool,
    target_online: bool,
) -> Refusal | None:
    """May ``actor`` invite ``target``? The leader may invite anyone who is in no party,
    not invited yet, does not block the leader and is online, while the party has room.

    Args:
        party: the actor's party.
        actor: who invites.
        target: who is invited.
        target_in_party: whether ``target`` is in a party (this one or another).
        target_blocks_actor: whether ``target`` blocked ``actor``.
        target_online: whether ``target`` has a session (on any node of a cluster).
    """
    refused = _require_leader(party, actor, "invite")
    if refused is not None:
        return refused
    if target == actor:
        return Refusal(INVALID_TARGET, "a player cannot invite themselves")
    if target in party.invited:
        return Refusal(ALREADY_INVITED, f"{target} is invited already")
    if target_in_party or target in party.members:
        return Refusal(ALREADY_IN_PARTY, f"{target} is in a party already")
    if party.seats_taken >= party.cap:
        return Refusal(PARTY_FULL, f"the party is full ({party.cap}, invites counted)")
    if target_blocks_actor:
        return Refusal(BLOCKED, f"{target} does not take invites from this player")
    if not target_online:
        return Refusal(PLAYER_OFFLINE, f"{target} is not online on this server")
    return None


def check_accept(party: PartyState, actor: str, *, actor_in_party: bool) -> Refusal | None:
    """May ``actor`` accept the party's invite? An invitee who is in no party yet."""
    role = party.role_of(actor)
    if role in ("leader", "member"):
        return Refusal(ALREADY_IN_PARTY, "already in this party")
    if role != "invitee":
        return Refusal(NO_INVITE, "no pending invite from this party")
    if actor_in_party:
        return Refusal(ALREADY_IN_PARTY, "already in another party; leave it first")
    if len(party.members) >= party.cap:  # invites hold seats: only a bug gets here
        return Refusal(PARTY_FULL, f"the party is full ({party.cap})")
    return None


def check_decline(party: PartyState, actor: str) -> Refusal | None:
    """May ``actor`` decline the party's invite? Only an invitee."""
    if party.role_of(actor) != "invitee":
        return Refusal(NO_INVITE, "no pending invite from this party")
    return None


def check_leave(party: PartyState, actor: str) -> Refusal | None:
    """May ``actor`` leave? Any member, the leader included (the lead passes on)."""
    if party.role_of(actor) in ("leader", "member"):
        return None
    return Refusal(NOT_IN_PARTY, "not in this party")


def _check_target_member(party: PartyState, actor: str, target: str) -> Refusal | None:
    if target == actor:
        return Refusal(INVALID_TARGET, "the leader cannot target themselves (leave instead)")
    if target not in party.members:
        return Refusal(NOT_A_MEMBER, f"{target} is not a member of this party")
    return None


def check_kick(party: PartyState, actor: str, target: str) -> Refusal | None:
    """May ``actor`` kick ``target``? The leader may kick any other member."""
    return _require_leader(party, actor, "kick") or _check_target_member(party, actor, target)


def check_promote(party: PartyState, actor: str, target: str) -> Refusal | None:
    """May ``actor`` hand the lead to ``target``? The leader, to any other member."""
    return _require_leader(party, actor, "hand over the lead") or _check_target_member(
        party, actor, target
    )


# -- transitions: the party after an allowed operation --------------------------------------


def with_invite(party: PartyState, target: str) -> PartyState:
    """``target`` is invited."""
    return attrs.evolve(party, invited=(*party.invited, target))


def with_accepted(party: PartyState, player_id: str) -> PartyState:
    """``player_id`` accepted: no longer invited, the newest member."""
    return attrs.evolve(
        party,
        members=(*party.members, player_id),
        invited=tuple(p for p in party.invited if p != player_id),
    )


def without_invite(party: PartyState, player_id: str) -> PartyState:
    """``player_id``'s invite is gone (declined)."""
    return attrs.evolve(party, invited=tuple(p for p in party.invited if p != player_id))


def next_leader(party: PartyState, leaving: str) -> str | None:
    """Who leads once ``leaving`` is gone: the longest-standing other member, or None."""
    return next((p for p in party.members if p != leaving), None)


def without_member(party: PartyState, player_id: str) -> PartyState | None:
    """``player_id`` left, was kicked or timed out; None when nobody is left.

    A leader who goes hands the lead to the longest-standing member.
    """
    members = tuple(p for p in party.members if p != player_id)
    if not members:
        return None
    leader = party.leader if party.leader != player_id else members[0]
    return attrs.evolve(party, members=members, leader=leader)


def with_leader(party: PartyState, player_id: str) -> PartyState:
    """``player_id`` leads (a member already)."""
    return attrs.evolve(party, leader=player_id)
