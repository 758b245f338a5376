"""The sanctions in force on this node: written by the moderation actor alone, read by
sessions (a ``chat_send``, a ``dm_send``) and the gateway (a ``hello``) without a hop.

A sanction ends on Trio time: its ``deadline`` is compared with ``trio.current_time()``
on every read, so a mute is lifted at its very instant (and tests drive it with the
autojump clock). ``until`` is the same instant on the wall clock, for players and storage.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs
import trio

#: The kinds of sanction that last.
Kind: TypeAlias = Literal["mute", "ban"]


@attrs.frozen(kw_only=True)
class Sanction:
    """A mute or ban.

    Attributes:
        kind: ``mute`` or ``ban``.
        reason: the moderator's reason (told to the player).
        until: when it ends, in seconds since the Unix epoch; None: never (a ban).
        deadline: the same instant in Trio time; None: never.
    """

    kind: Kind
    reason: str
    until: float | None
    deadline: float | None

    def active(self, now: float) -> bool:
        """Whether it is still in force at Trio time ``now``."""
        return self.deadline is None or now < self.deadline

    def seconds_left(self, now: float) -> float | None:
        """Seconds of Trio time until it ends; None when it never does."""
        return None if self.deadline is None else max(0.0, self.deadline - now)


class SanctionBook:
    """Mutes and bans by player; only the moderation actor's task calls :meth:`put` and
    :meth:`drop` (docs/architecture.md: one owner, many readers, as with presence)."""

    def __init__(self) -> None:
        self._sanctions: dict[tuple[str, Kind], Sanction] = {}

    def __len__(self) -> int:
        return len(self._sanctions)

    def in_force(self, player_id: str, kind: Kind) -> Sanction | None:
        """The player's sanction of ``kind`` in force now, or None (expired ones too)."""
        sanction = self._sanctions.get((player_id, kind))
        if sanction is None or not sanction.active(trio.current_time()):
            return None
        return sanction

    def put(self, player_id: str, sanction: Sanction) -> None:
        """Record a sanction (replacing an expired one of its kind)."""
        self._sanctions[(player_id, sanction.kind)] = sanction

    def drop(self, player_id: str, kind: Kind) -> None:
        """Forget the player's sanction of ``kind``."""
        self._sanctions.pop((player_id, kind), None)

    def prune(self) -> None:
        """Forget every sanction that has ended."""
        now = trio.current_time()
        ended = [key for key, sanction in self._sanctions.items() if not sanction.active(now)]
        for key in ended:
            del self._sanctions[key]

    def clear(self) -> None:
        """Forget everything (before a reload from storage)."""
        self._sanctions.clear()
