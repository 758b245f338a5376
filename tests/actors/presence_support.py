"""What a fake presence in the actor tests hands out for a player who is online."""

from __future__ import annotations

from typing import Protocol

import attrs


class Publishes(Protocol):
    def publish_to(self, player_id: str, body: str) -> bool: ...


@attrs.frozen
class StreamPosition:
    """A stream that never moves (the fakes decode frames instead of numbering them)."""

    last_seq: int = 0
    dropped: int = 0


@attrs.frozen
class OnlinePlayer:
    """A player found by a fake presence (the ``PlayerDoor`` a session gives)."""

    player_id: str
    presence: Publishes

    @property
    def stream(self) -> StreamPosition:
        return StreamPosition()

    def publish(self, body: str) -> bool:
        return self.presence.publish_to(self.player_id, body)
