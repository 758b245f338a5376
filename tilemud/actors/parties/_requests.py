"""The sessions' party route: the critical tier around the party actors.

Each request runs in the player's session task through ``Session.run_critical`` (at most
once per ``rid``, the same answer for a repeat, counted against the actions rate limit).
It finds the party (the player's own, or the one named by an accept or decline), makes
what checks need I/O here (whether the player invited blocks the inviter, is online on any
node, is in a party of another node), then asks the party actor, on this node or, in a
cluster, on the node that holds the party (``Parties.request``), which checks the rules and
changes the party in one step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, assert_never, get_args

import trio

from tilemud.actors.parties._cluster import PartyRemoteFailed
from tilemud.actors.parties._parties import Parties, PartyGone
from tilemud.actors.parties._party import PartyOutcome
from tilemud.actors.session import RETRY_SOON, Refused, Session
from tilemud.cluster import ClusterUnavailable
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
            async with parties.joining(player_id):
                try:
                    elsewhere = await parties.in_another_party(player_id)
                    created = await parties.create(player_id, elsewhere=elsewhere)
                except ClusterUnavailable as exc:
                    raise _unavailable(exc.retry_after) from exc
                except SupervisorError as exc:
                    raise Refused(
                        ErrorCode.UNAVAILABLE,
                        f"parties are stopping: {exc}",
                        retry_after=RETRY_SOON,
                    ) from exc
            return _info(rid, _allowed(created))
        case PartyInvite(rid=rid, player_id=target):
            party_id = await _own_party(parties, player_id)
            blocks = await _blocks(parties, target, player_id)
            online, elsewhere = await _cluster_check(parties, target, party_id)
            request = {"k": "invite", "a": player_id, "t": target, "blocks": blocks}
            request |= {"online": online, "elsewhere": elsewhere}
            return _info(rid, await _ask(parties, party_id, request, ErrorCode.NOT_IN_PARTY))
        case PartyAccept(rid=rid, party_id=party_id):
            async with parties.joining(player_id):
                _, elsewhere = await _cluster_check(parties, player_id, party_id)
                request = {"k": "accept", "a": player_id, "elsewhere": elsewhere}
                accepted = await _ask(parties, party_id, request, ErrorCode.NO_INVITE)
            return _info(rid, accepted)
        case PartyDecline(rid=rid, party_id=party_id):
            request = {"k": "decline", "a": player_id}
            await _ask(parties, party_id, request, ErrorCode.NO_INVITE)
            return encode_server(PartyDeclined(rid=rid, party_id=party_id))
        case PartyLeave(rid=rid):
            party_id = await _own_party(parties, player_id)
            request = {"k": "leave", "a": player_id}
            await _ask(parties, party_id, request, ErrorCode.NOT_IN_PARTY)
            return encode_server(PartyLeft(rid=rid, party_id=party_id))
        case PartyKick(rid=rid, player_id=target):
            party_id = await _own_party(parties, player_id)
            request = {"k": "kick", "a": player_id, "t": target}
            return _info(rid, await _ask(parties, party_id, request, ErrorCode.NOT_IN_PARTY))
        case PartyPromote(rid=rid, player_id=target):
            party_id = await _own_party(parties, player_id)
            request = {"k": "promote", "a": player_id, "t": target}
            return _info(rid, await _ask(parties, party_id, request, ErrorCode.NOT_IN_PARTY))
        case _:
            assert_never(message)


async def _own_party(parties: Parties, player_id: str) -> str:
    try:
        party_id = await parties.party_anywhere(player_id)
    except ClusterUnavailable as exc:
        raise _unavailable(exc.retry_after) from exc
    if party_id is None:
        raise Refused(ErrorCode.NOT_IN_PARTY, "not in a party")
    return party_id


async def _cluster_check(parties: Parties, player_id: str, party_id: str) -> tuple[bool, bool]:
    """Whether ``player_id`` is online (on any node), and in a party other than
    ``party_id`` on any node (the party's actor checks its own node's parties again)."""
    try:
        online = await parties.online(player_id)
        elsewhere = await parties.in_another_party(player_id, party_id)
    except ClusterUnavailable as exc:
        raise _unavailable(exc.retry_after) from exc
    return online, elsewhere


def _unavailable(retry_after: float) -> Refused:
    return Refused(
        ErrorCode.UNAVAILABLE, "the cluster cannot be asked now", retry_after=retry_after
    )


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
    parties: Parties, party_id: str, request: Mapping[str, Any], gone: str
) -> PartyState | None:
    try:
        outcome = await parties.request(party_id, request)
    except PartyGone as exc:
        raise Refused(gone, f"no party {party_id}") from exc
    except trio.TooSlowError as exc:
        raise Refused(
            ErrorCode.OVERLOADED, "the party did not answer in time", retry_after=RETRY_SOON
        ) from exc
    except PartyRemoteFailed as exc:
        raise _unavailable(exc.retry_after) from exc
    except ClusterUnavailable as exc:
        raise _unavailable(exc.retry_after) from exc
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
