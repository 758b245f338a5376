"""The sessions' party route: the critical tier around the party actors.

Each request runs in the player's session task through ``Session.run_critical`` (at most
once per ``rid``, the same answer for a repeat, counted against the actions rate limit).
It finds the party (the player's own, or the one named by an accept or decline), makes
what checks need I/O here (whether the player invited blocks the inviter), then asks the
party actor, which checks the rules and changes the party in one step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never, get_args

import trio

from tilemud.actors.parties._parties import Parties, PartyGone
from tilemud.actors.parties._party import (
    Accept,
    Decline,
    Invite,
    Kick,
    LeaveParty,
    PartyMessage,
    PartyOutcome,
    Promote,
)
from tilemud.actors.session import RETRY_SOON, Refused, Session
from tilemud.errors import TilemudError
from tilemud.protocol import (
    ClientMessage,
    ErrorCode,
    PartyAccept,
    PartyCreate,
    PartyDecline,
    PartyDeclined,
    PartyInfo,
    PartyInvite,
    PartyKick,
    PartyLeave,
    PartyLeft,
    PartyPromote,
    PartyRequest,
    encode_server,
)
from tilemud.social.party_rules import PartyState, Refusal
from tilemud.supervisors import SupervisorError

if TYPE_CHECKING:
    from collections.abc import Callable

    from tilemud.mailbox import Reply

#: Seconds an invite waits for the block list before it is refused as ``unavailable``.
BLOCK_CHECK_TIMEOUT = 5.0


class PartyRequests:
    """The party route the composition root hands every session.

    Args:
        parties: the party directory, or None where parties are not served (every party
            request then answers ``unavailable``).
    """

    def __init__(self, parties: Parties | None) -> None:
        self._parties = parties

    @property
    def kinds(self) -> tuple[type[ClientMessage], ...]:
        """The requests this route answers."""
        return get_args(PartyRequest)

    async def handle(self, session: Session, message: PartyRequest) -> str | None:
        """Answer one party request of ``session``'s player (critical tier)."""
        parties = self._parties

        async def apply() -> str:
            if parties is None:
                raise Refused(
                    ErrorCode.UNAVAILABLE, "parties are not served here", retry_after=RETRY_SOON
                )
            return await _apply(parties, session.player_id, message)

        return await session.run_critical(message.rid, apply)


async def _apply(parties: Parties, player_id: str, message: PartyRequest) -> str:
    match message:
        case PartyCreate(rid=rid):
            try:
                created = await parties.create(player_id)
            except SupervisorError as exc:
                raise Refused(
                    ErrorCode.UNAVAILABLE, f"parties are stopping: {exc}", retry_after=RETRY_SOON
                ) from exc
            return _info(rid, _allowed(created))
        case PartyInvite(rid=rid, player_id=target):
            party_id = _own_party(parties, player_id)
            blocks = await _blocks(parties, target, player_id)
            return _info(
                rid,
                await _ask(
                    parties,
                    party_id,
                    lambda reply: Invite(
                        actor=player_id, target=target, target_blocks_actor=blocks, reply=reply
                    ),
                    gone=ErrorCode.NOT_IN_PARTY,
                ),
            )
        case PartyAccept(rid=rid, party_id=party_id):
            return _info(
                rid,
                await _ask(
                    parties,
                    party_id,
                    lambda reply: Accept(actor=player_id, reply=reply),
                    gone=ErrorCode.NO_INVITE,
                ),
            )
        case PartyDecline(rid=rid, party_id=party_id):
            await _ask(
                parties,
                party_id,
                lambda reply: Decline(actor=player_id, reply=reply),
                gone=ErrorCode.NO_INVITE,
            )
            return encode_server(PartyDeclined(rid=rid, party_id=party_id))
        case PartyLeave(rid=rid):
            party_id = _own_party(parties, player_id)
            await _ask(
                parties,
                party_id,
                lambda reply: LeaveParty(actor=player_id, reply=reply),
                gone=ErrorCode.NOT_IN_PARTY,
            )
            return encode_server(PartyLeft(rid=rid, party_id=party_id))
        case PartyKick(rid=rid, player_id=target):
            party_id = _own_party(parties, player_id)
            return _info(
                rid,
                await _ask(
                    parties,
                    party_id,
                    lambda reply: Kick(actor=player_id, target=target, reply=reply),
                    gone=ErrorCode.NOT_IN_PARTY,
                ),
            )
        case PartyPromote(rid=rid, player_id=target):
            party_id = _own_party(parties, player_id)
            return _info(
                rid,
                await _ask(
                    parties,
                    party_id,
                    lambda reply: Promote(actor=player_id, target=target, reply=reply),
                    gone=ErrorCode.NOT_IN_PARTY,
                ),
            )
        case _:
            assert_never(message)


def _own_party(parties: Parties, player_id: str) -> str:
    party_id = parties.party_of(player_id)
    if party_id is None:
        raise Refused(ErrorCode.NOT_IN_PARTY, "not in a party")
    return party_id


async def _blocks(parties: Parties, blocker_id: str, blocked_id: str) -> bool:
    try:
        with trio.fail_after(BLOCK_CHECK_TIMEOUT):
            return await parties.blocks(blocker_id, blocked_id)
    except (TilemudError, trio.TooSlowError) as exc:
        # The block list is in the database; no invite goes out unchecked.
        raise Refused(
            ErrorCode.UNAVAILABLE, "the block list cannot be read now", retry_after=RETRY_SOON
        ) from exc


async def _ask(
    parties: Parties,
    party_id: str,
    make: Callable[[Reply[PartyOutcome]], PartyMessage],
    *,
    gone: str,
) -> PartyState | None:
    try:
        outcome = await parties.ask(party_id, make)
    except PartyGone as exc:
        raise Refused(gone, f"no party {party_id} here") from exc
    except trio.TooSlowError as exc:
        raise Refused(
            ErrorCode.OVERLOADED, "the party did not answer in time", retry_after=RETRY_SOON
        ) from exc
    return _allowed(outcome)


def _allowed(outcome: PartyOutcome) -> PartyState | None:
    if isinstance(outcome, Refusal):
        raise Refused(outcome.code, outcome.message)
    return outcome


def _info(rid: str, state: PartyState | None) -> str:
    assert state is not None, "only a leave can end a party"
    return encode_server(
        PartyInfo(
            rid=rid,
            party_id=state.party_id,
            leader=state.leader,
            members=state.members,
            invited=state.invited,
        )
    )
