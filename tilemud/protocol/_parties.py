"""Party messages: the requests, their answers and the ``party_event`` stream frame.

Every request is in the *critical* tier: it carries a ``rid``, is applied at most once
per ``rid`` and a repeat gets the first answer. What happens to a party is told to its
members (and to the player invited) as ``party_event`` stream frames, numbered in the
session's stream like arena frames. docs/social.md has the roles and the permission table.
"""

from __future__ import annotations

from typing import ClassVar, Literal, TypeAlias

import attrs

from tilemud.protocol._fields import ID, REGION, RID, STREAM_SEQ, UNIX_TIME, Items

#: Most players a party message lists (the largest party cap the settings allow).
MAX_PARTY = 64

_PLAYERS = Items(item=ID, max_items=MAX_PARTY)

#: What a ``party_event`` tells.
PartyEventKind: TypeAlias = Literal[
    "invited", "declined", "joined", "left", "kicked", "timed_out", "promoted", "battle"
]


@attrs.frozen(kw_only=True)
class PartyCreate:
    """Creates a party led by the sender, who must be in no party.

    Answered by ``party`` or an ``error`` (``already_in_party``, ``rate_limited``).

    Attributes:
        rid: the request id, echoed by the answer.
    """

    TYPE: ClassVar[str] = "party_create"

    rid: str = attrs.field(validator=RID)


@attrs.frozen(kw_only=True)
class PartyInvite:
    """The leader invites a player, who gets a ``party_event`` ``invited``.

    Answered by ``party`` or an ``error``: ``not_in_party``, ``forbidden`` (not the
    leader), ``invalid_target`` (oneself), ``already_invited``, ``already_in_party``,
    ``party_full`` (invites count), ``blocked`` (the player blocks the leader),
    ``player_offline``.

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the player invited.
    """

    TYPE: ClassVar[str] = "party_invite"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PartyAccept:
    """Accepts a pending invite: the sender joins the party.

    Answered by ``party`` or an ``error`` (``no_invite``, ``already_in_party``).

    Attributes:
        rid: the request id, echoed by the answer.
        party_id: the party whose invite is accepted (from the ``invited`` event).
    """

    TYPE: ClassVar[str] = "party_accept"

    rid: str = attrs.field(validator=RID)
    party_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PartyDecline:
    """Declines a pending invite.

    Answered by ``party_declined`` or an ``error`` (``no_invite``).

    Attributes:
        rid: the request id, echoed by the answer.
        party_id: the party whose invite is declined.
    """

    TYPE: ClassVar[str] = "party_decline"

    rid: str = attrs.field(validator=RID)
    party_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PartyLeave:
    """Leaves the sender's party; a leader hands the lead to the longest-standing member.

    Answered by ``party_left`` or an ``error`` (``not_in_party``).

    Attributes:
        rid: the request id, echoed by the answer.
    """

    TYPE: ClassVar[str] = "party_leave"

    rid: str = attrs.field(validator=RID)


@attrs.frozen(kw_only=True)
class PartyKick:
    """The leader removes a member, who gets a ``party_event`` ``kicked``.

    Answered by ``party`` or an ``error`` (``not_in_party``, ``forbidden``,
    ``invalid_target``, ``not_a_member``).

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the member removed.
    """

    TYPE: ClassVar[str] = "party_kick"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PartyPromote:
    """The leader hands the lead to another member.

    Answered by ``party`` or an ``error`` (``not_in_party``, ``forbidden``,
    ``invalid_target``, ``not_a_member``).

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: the member who leads from now on.
    """

    TYPE: ClassVar[str] = "party_promote"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PartyInfo:
    """The answer to a good party request: the party as it is after it.

    Attributes:
        rid: the request's id.
        party_id: the party.
        leader: the member who leads it.
        members: every member, the leader included, longest-standing first.
        invited: players invited who have not answered yet.
    """

    TYPE: ClassVar[str] = "party"

    rid: str = attrs.field(validator=RID)
    party_id: str = attrs.field(validator=ID)
    leader: str = attrs.field(validator=ID)
    members: tuple[str, ...] = attrs.field(validator=_PLAYERS)
    invited: tuple[str, ...] = attrs.field(validator=_PLAYERS)


@attrs.frozen(kw_only=True)
class PartyLeft:
    """The answer to a good ``party_leave``: the sender is in no party now.

    Attributes:
        rid: the ``party_leave``'s request id.
        party_id: the party left.
    """

    TYPE: ClassVar[str] = "party_left"

    rid: str = attrs.field(validator=RID)
    party_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PartyDeclined:
    """The answer to a good ``party_decline``: the invite is gone.

    Attributes:
        rid: the ``party_decline``'s request id.
        party_id: the party whose invite was declined.
    """

    TYPE: ClassVar[str] = "party_declined"

    rid: str = attrs.field(validator=RID)
    party_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PartyEvent:
    """Something happened to a party the player is in, or is invited to.

    Sent to every member (and, for ``invited``, to the player invited; for ``kicked``,
    also to the player removed). ``leader`` and ``members`` are always the party after
    the event, so a client can replace its view with them.

    Attributes:
        seq: this frame's number in the session's stream: one more than the previous
            frame's; ``ack`` it.
        sent_at: the server's clock when the frame was built, Unix seconds.
        party_id: the party.
        event: ``invited``, ``declined``, ``joined``, ``left``, ``kicked``, ``timed_out``
            (the member's reconnect grace ran out), ``promoted`` (``player_id`` leads
            now) or ``battle`` (the leader entered a battle: a seat in ``arena_id`` is
            kept for each member; ``join`` a battle in ``region`` to take it).
        player_id: who the event is about (the one invited, who joined, left ...; for
            ``battle``, the leader).
        leader: the member who leads the party after the event.
        members: every member after the event, longest-standing first.
        arena_id: the battle, for ``battle`` events only.
        region: the battle's region, for ``battle`` events only.
    """

    TYPE: ClassVar[str] = "party_event"

    seq: int = attrs.field(validator=STREAM_SEQ)
    sent_at: float = attrs.field(validator=UNIX_TIME)
    party_id: str = attrs.field(validator=ID)
    event: PartyEventKind
    player_id: str = attrs.field(validator=ID)
    leader: str = attrs.field(validator=ID)
    members: tuple[str, ...] = attrs.field(validator=_PLAYERS)
    arena_id: str | None = attrs.field(default=None, validator=ID)
    region: str | None = attrs.field(default=None, validator=REGION)


#: Party requests (client -> server).
PartyRequest: TypeAlias = (
    PartyCreate | PartyInvite | PartyAccept | PartyDecline | PartyLeave | PartyKick | PartyPromote
)
