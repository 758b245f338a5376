"""Presence: who is on this node, and the one door to each of them.

Guilds, parties and chat tell players things (a membership change, a direct message, a
channel message) that are not answers to a request of theirs. They go on the player's
numbered stream (the high-volume tier: resent after a reconnect, acknowledged by the
client) through the player's :class:`~tilemud.actors.session.SessionRef`, found here. A
player with no session on this node is not reached (what must not be lost, a direct
message, is stored and delivered when they next connect).

With a cluster, the composition root hands rooms the cluster's presence instead (which
keeps this registry's players in Redis, told through :meth:`PresenceRegistry.watch`, and
forwards ``publish_to`` for players on other nodes); this room knows nothing of Redis.

One :class:`PresenceRegistry` is built by the composition root and passed at construction
to the gateway (whose session keeper is its only writer) and to every room that reaches
players, which see it as a :class:`Presence` (what they may ask of it).
"""

from __future__ import annotations

from typing import Protocol

from tilemud.actors.session._ref import SessionRef


class StreamPosition(Protocol):
    """How far a player's stream got."""

    @property
    def last_seq(self) -> int:
        """The last frame published."""
        ...

    @property
    def dropped(self) -> int:
        """Frames lost for good."""
        ...


class PlayerDoor(Protocol):
    """What another room gets of a player found here (a :class:`SessionRef` is one)."""

    @property
    def player_id(self) -> str:
        """Whose session."""
        ...

    @property
    def stream(self) -> StreamPosition:
        """Their stream's position."""
        ...

    def publish(self, body: str) -> bool:
        """Append a stream frame body; never blocks."""
        ...


class Presence(Protocol):
    """Who is on this node, as the rooms that reach players see it."""

    def find(self, player_id: str) -> PlayerDoor | None:
        """The player's session here, or None: the one way to ask "is this player here,
        and where is their stream"."""
        ...

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame body to the player's stream; False when not here."""
        ...


class PresenceWatcher(Protocol):
    """Told of every arrival and departure (the cluster's presence, which keeps Redis)."""

    def arrived(self, player_id: str) -> None:
        """A session began here; never blocks."""
        ...

    def departed(self, player_id: str) -> None:
        """The player's session here ended; never blocks."""
        ...

    def cleared(self) -> None:
        """Every session here ended; never blocks."""
        ...


class PresenceRegistry:
    """Every session on this node by player, connected or within its reconnect grace.

    Written only by the session keeper, from the gateway's tasks; read by any actor.
    Reads never block and never fail: before the gateway runs (or after it stopped) nobody
    is here.
    """

    def __init__(self) -> None:
        self._here: dict[str, SessionRef] = {}
        self._watchers: list[PresenceWatcher] = []

    def watch(self, watcher: PresenceWatcher) -> None:
        """Tell ``watcher`` of every arrival and departure from now on."""
        self._watchers.append(watcher)

    def players(self) -> list[str]:
        """The players with a session here now."""
        return list(self._here)

    def __len__(self) -> int:
        return len(self._here)

    def find(self, player_id: str) -> SessionRef | None:
        """The player's session here, or None: the one way to ask "is this player here,
        and where is their stream"."""
        return self._here.get(player_id)

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame body (``encode_stream_body``) to the player's stream.

        Never blocks. Returns False when the player has no session here (nothing sent).
        """
        session = self._here.get(player_id)
        if session is None:
            return False
        session.publish(body)
        return True

    # -- the session keeper's side --------------------------------------------------------

    def arrived(self, session: SessionRef) -> None:
        """A session began for ``session.player_id``."""
        self._here[session.player_id] = session
        for watcher in self._watchers:
            watcher.arrived(session.player_id)

    def departed(self, player_id: str) -> None:
        """The player's session ended (their grace ran out)."""
        if self._here.pop(player_id, None) is not None:
            for watcher in self._watchers:
                watcher.departed(player_id)

    def clear(self) -> None:
        """The gateway stopped: its sessions are gone."""
        self._here.clear()
        for watcher in self._watchers:
            watcher.cleared()
