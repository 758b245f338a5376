"""The seats of one arena: who is in it, in join order, and how to reach them.

Part of the arena actor's state (touched only by its task). Players who left are kept, a
bounded number of them, so that a placement of theirs that was already on its way can
still be answered (``not_in_arena``) instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Final

from tilemud.actors.arena._links import PlayerLink

#: How many players who left are remembered, oldest forgotten first.
FORMER_PLAYERS: Final = 1024


class Seats:
    """Seated players' links by player id, in join order, and recent leavers' links."""

    __slots__ = (
        "_former",
        "_former_limit",
        "_seated",
        "_unwelcomed",
        "_watchers",
        "frames_dropped",
    )

    def __init__(self, *, former_limit: int = FORMER_PLAYERS) -> None:
        self._seated: dict[str, PlayerLink] = {}
        self._former: dict[str, PlayerLink] = {}
        self._former_limit = former_limit
        # Spectators: they get what is published, hold no seat and are never announced.
        self._watchers: dict[str, PlayerLink] = {}
        # Seated by seat_unwelcomed and owed a snapshot: (the link, the link it replaced).
        self._unwelcomed: list[tuple[PlayerLink, PlayerLink | None]] = []
        #: Stream frames this arena's players lost for good (evicted before they had them).
        self.frames_dropped = 0

    def __len__(self) -> int:
        return len(self._seated)

    def __contains__(self, player_id: object) -> bool:
        return player_id in self._seated

    def __iter__(self) -> Iterator[PlayerLink]:
        return iter(self._seated.values())

    def get(self, player_id: str) -> PlayerLink | None:
        """The seated player's link, or None."""
        return self._seated.get(player_id)

    def link_of(self, player_id: str) -> PlayerLink | None:
        """The link of a seated player, else of a player who recently left, else None."""
        link = self._seated.get(player_id)
        return self._former.get(player_id) if link is None else link

    def ids(self) -> tuple[str, ...]:
        """Seated player ids, in join order."""
        return tuple(self._seated)

    def names(self) -> dict[str, str]:
        """Seated player id -> display name."""
        return {player_id: link.name for player_id, link in self._seated.items()}

    def seat(self, link: PlayerLink) -> None:
        """Seat ``link``'s player, or give a seated player this new link (keeps the order)."""
        self._seated[link.player_id] = link
        self._former.pop(link.player_id, None)

    def seat_unwelcomed(self, link: PlayerLink) -> bool:
        """Seat ``link`` as :meth:`seat` does, owed a snapshot until :meth:`welcome`.

        Returns:
            True when the player was not seated before (not a replaced session's link).
        """
        previous = self._seated.get(link.player_id)
        self.seat(link)
        self._unwelcomed.append((link, previous))
        return previous is None

    def welcome(self, snapshot: Callable[[], str], announced: dict[str, str]) -> list[str]:
        """Reset the stream of every link seated since the last call with one snapshot.

        Args:
            snapshot: builds the snapshot body (called once, if anyone is owed one).
            announced: the joins to announce; the newcomers' are taken back if ``snapshot``
                raises.

        Returns:
            The newcomers still seated (a link that left or was replaced since is skipped).

        Raises:
            Exception: whatever ``snapshot`` raised, the seats put back as they were
                before those joins.
        """
        owed, self._unwelcomed = self._unwelcomed, []
        if not owed:
            return []
        try:
            body = snapshot()
        except BaseException:
            for link, previous in reversed(owed):
                if previous is None:
                    self._seated.pop(link.player_id, None)
                    announced.pop(link.player_id, None)
                else:
                    self._seated[link.player_id] = previous
            raise
        newcomers = []
        for link, previous in owed:
            if self._seated.get(link.player_id) is link:
                link.reset_stream(body)
                if previous is None:
                    newcomers.append(link.player_id)
        return newcomers

    def unseat(self, player_id: str) -> PlayerLink | None:
        """Free a seat; returns the link it held, or None when the player held none."""
        link = self._seated.pop(player_id, None)
        if link is not None:
            self._former[player_id] = link
            if len(self._former) > self._former_limit:
                del self._former[next(iter(self._former))]
        return link

    def watch(self, link: PlayerLink) -> None:
        """Add (or replace) the spectator ``link.player_id``."""
        self._watchers[link.player_id] = link

    def unwatch(self, watcher_id: str) -> None:
        """Remove a spectator, if there is one by that id."""
        self._watchers.pop(watcher_id, None)

    def watchers(self) -> tuple[PlayerLink, ...]:
        """The spectators' links."""
        return tuple(self._watchers.values())

    def publish(self, body: str, *, ring: bool = True) -> None:
        """Append ``body`` to every seated player's stream, then to every spectator's:
        the same ``str`` for all (a spectator's losses are its own, not counted here).

        ``ring=False``: another publish to everyone follows at once (see
        :meth:`PlayerLink.publish`), and each player's frames go out in one write.
        """
        dropped = 0
        for link in self._seated.values():
            dropped += link.publish(body, ring=ring)
        self.frames_dropped += dropped
        for watcher in self._watchers.values():
            watcher.publish(body, ring=ring)
