"""A session's seat in an arena, and the link that arena holds for it.

Split from the session so that its one rule stays visible: an arena reaches a player only
through the link of a seat the player still holds.
"""

from __future__ import annotations

import attrs

from tilemud.actors.arena import ArenaTicket, PlayerLink
from tilemud.game import Mode


class SeatLink:
    """The :class:`PlayerLink` one arena holds for one seat of a session.

    It goes silent when the session gives the seat up: an arena that still believes the
    player is seated (a join it handled after the player gave up waiting, frames published
    before it handled the leave) can no longer reach the player's stream, which by then may
    belong to another arena.
    """

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

    def publish(self, body: str) -> bool:
        """Forward a stream frame while the seat is held; True if that lost a frame."""
        return self.active and self._session.publish(body)

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
