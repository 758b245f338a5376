"""A session's seat in an arena, the link that arena holds for it, and how a seat is taken.

Split from the session so that its one rule stays visible: an arena reaches a player only
through the link of a seat the player still holds.
"""

from __future__ import annotations

import contextlib

import attrs
import trio

from tilemud.actors.arena import (
    ArenaTicket,
    DirectoryMessage,
    FindArena,
    JoinArena,
    JoinOutcome,
    JoinRefused,
    LeaveArena,
    NoArena,
    PlayerLink,
    ReleaseSeat,
)
from tilemud.actors.session._critical import RETRY_SOON, Refused
from tilemud.errors import ActorGone
from tilemud.game import Mode
from tilemud.mailbox import Ref
from tilemud.protocol import ErrorCode, Join

#: Seconds a session waits for the arena directory or an arena to answer a join before giving up.
ASK_TIMEOUT = 5.0


class SeatLink:
    """The :class:`PlayerLink` one arena holds for one seat of a session.

    It goes silent when the session gives the seat up: an arena that still believes the
    player is seated (a join it handled after the player gave up waiting, frames published
    before it handled the leave) can no longer reach the player's stream, which by then may
    belong to another arena.

    Args:
        session: the session it forwards to: the session itself when the session makes
            it (:meth:`Session.seat_link`: the arena's fan-out and answers then skip the
            forwarding of the session's ref), or any link.
    """

    # One link per seated player: slots instead of a dict (memory per active player).
    __slots__ = ("_session", "active")

    def __init__(self, session: PlayerLink) -> None:
        self._session = session
        self.active = True

    @property
    def player_id(self) -> str:
        """The player's id."""
        return self._session.player_id

    @property
    def name(self) -> str:
        """The player's display name."""
        return self._session.name

    def publish(self, body: str, *, ring: bool = True) -> bool:
        """Forward a stream frame while the seat is held; True if that lost a frame."""
        return self.active and self._session.publish(body, ring=ring)

    def reset_stream(self, snapshot_body: str) -> None:
        """Forward a snapshot while the seat is held."""
        if self.active:
            self._session.reset_stream(snapshot_body)

    def reply(self, rid: str, frame: str) -> None:
        """Answers to the player's requests always go through: they are per rid."""
        self._session.reply(rid, frame)

    def arena_closed(self, arena_id: str) -> None:
        """Forward the end of the arena while the seat is held."""
        if self.active:
            self._session.arena_closed(arena_id)


@attrs.frozen(kw_only=True)
class Seat:
    """The arena a session is in, and the link that arena holds."""

    ticket: ArenaTicket
    link: SeatLink
    mode: Mode
    region: str


async def take_seat(
    directory: Ref[DirectoryMessage], link: SeatLink, join: Join, mates: tuple[str, ...]
) -> tuple[Seat, int]:
    """Find an arena for ``join`` (Mode -> Region -> Load) and take a seat in it.

    Args:
        directory: the arena directory.
        link: what the arena will hold for the player.
        join: the player's request.
        mates: party members who follow a leader into a battle (seats kept for them).

    Returns:
        The seat, and the arena's tick when the player sat down.

    Raises:
        Refused: no arena could take the player (``retry_after`` when it may pass); any
            seat reserved on the way is given back first.
    """
    player_id = link.player_id
    ticket: ArenaTicket | None = None
    try:
        with trio.fail_after(ASK_TIMEOUT):
            found: ArenaTicket | NoArena = await directory.ask(
                lambda reply: FindArena(
                    mode=join.mode,
                    region=join.region,
                    player_id=player_id,
                    reply=reply,
                    party=mates,
                )
            )
            if isinstance(found, NoArena):
                retry = found.retry_after
                if retry is None and found.code == ErrorCode.ARENA_UNAVAILABLE:
                    retry = RETRY_SOON
                raise Refused(found.code, found.message, retry_after=retry)
            ticket = found
            outcome: JoinOutcome = await ticket.ref.ask(
                lambda reply: JoinArena(link=link, reply=reply)
            )
    except (trio.TooSlowError, ActorGone) as exc:
        await _give_back(directory, ticket, link)
        reason = (
            f"matchmaking did not answer within {ASK_TIMEOUT:g} s"
            if isinstance(exc, trio.TooSlowError)
            else f"the arena went away: {exc}"
        )
        raise Refused(ErrorCode.ARENA_UNAVAILABLE, reason, retry_after=RETRY_SOON) from exc
    if isinstance(outcome, JoinRefused):
        await _give_back(directory, ticket, link)
        raise Refused(
            ErrorCode.ARENA_UNAVAILABLE,
            f"arena refused the seat ({outcome.code})",
            retry_after=RETRY_SOON,
        )
    seat = Seat(ticket=ticket, link=link, mode=join.mode, region=join.region)
    return seat, outcome.tick


async def _give_back(
    directory: Ref[DirectoryMessage], ticket: ArenaTicket | None, link: SeatLink
) -> None:
    """Give back a seat that a failed join reserved, and may still take.

    The arena may yet handle a ``JoinArena`` that timed out here: its link is silenced
    first, and the ``LeaveArena`` queued behind the join takes the seat back, so no
    ghost player keeps counting against the arena's cap. Without a ticket the directory
    may still have reserved a seat it could not tell us about: every reservation of
    this player is released (a player who is joining holds no other seat).
    """
    link.active = False
    player_id = link.player_id
    if ticket is not None:
        with contextlib.suppress(ActorGone):
            await ticket.ref.send(LeaveArena(player_id=player_id, reason="left"))
    await directory.send(
        ReleaseSeat(arena_id=None if ticket is None else ticket.arena_id, player_id=player_id)
    )
