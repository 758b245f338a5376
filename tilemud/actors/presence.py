"""Presence: reaching a player's session on this node, wherever the message comes from.

Guilds, parties and chat tell players things (a membership change, a direct message, a
channel message) that are not answers to a request of theirs. They go on the player's
numbered stream (the high-volume tier: resent after a reconnect, acknowledged by the
client), through :class:`Presence`. The gateway implements it over its session table; a
player with no session on this node is not reached (what must not be lost, a direct
message, is stored and delivered when they next connect).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Presence(Protocol):
    """Who is on this node, and how to put a stream frame in front of them."""

    def is_online(self, player_id: str) -> bool:
        """Whether the player has a session here (connected, or within its grace)."""
        ...

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame body (``encode_stream_body``) to the player's stream.

        Never blocks. Returns False when the player has no session here (nothing sent).
        """
        ...


class LatePresence:
    """A :class:`Presence` looked up at each call.

    The gateway, which knows the sessions, is built after the actors that reach players
    (they are part of the services its sessions use); until it exists nobody is reached.

    Args:
        find: returns the presence, or None while there is none.
    """

    def __init__(self, find: Callable[[], Presence | None]) -> None:
        self._find = find

    def is_online(self, player_id: str) -> bool:
        """Whether the player has a session on this node."""
        presence = self._find()
        return presence is not None and presence.is_online(player_id)

    def publish_to(self, player_id: str, body: str) -> bool:
        """Append a stream frame body to the player's stream, if they are here."""
        presence = self._find()
        return presence is not None and presence.publish_to(player_id, body)
