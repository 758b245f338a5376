"""How an arena (and later a chat channel) reaches a player without knowing about sockets.

A :class:`PlayerLink` belongs to the player's session state, which outlives connections:
frames published while the player is disconnected wait in its stream for a resume. Every
method is synchronous and never blocks, so an arena can fan out a tick to 300 players
without ever waiting on one of them.
"""

from __future__ import annotations

from typing import Protocol


class PlayerLink(Protocol):
    """What an arena holds for each of its players."""

    @property
    def player_id(self) -> str:
        """The player's id."""
        ...

    @property
    def name(self) -> str:
        """The player's display name."""
        ...

    def publish(self, body: str, *, ring: bool = True) -> bool:
        """Append a high-volume frame to the player's numbered stream.

        Args:
            body: the frame encoded once for every recipient, without its ``seq``
                (``tilemud.protocol.encode_stream_body``); the stream stamps the seq.
            ring: False when another publish to this player follows at once, in the same
                step: the frames then go out together, in one write (the last publish
                rings the player's connection). A publish with ``ring=False`` must be
                followed by one with ``ring=True`` before the caller yields.

        Returns:
            True when making room lost a frame for good (evicted before the player had it):
            the arena counts its drops this way.
        """
        ...

    def reset_stream(self, snapshot_body: str) -> None:
        """Replace everything unsent in the player's stream with a snapshot frame body."""
        ...

    def reply(self, rid: str, frame: str) -> None:
        """Answer a critical request: deliver ``frame`` and remember it for repeats of ``rid``."""
        ...

    def arena_closed(self, arena_id: str) -> None:
        """The arena ended (a battle is over): the player is no longer in it."""
        ...
