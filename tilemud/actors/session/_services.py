"""What every session talks to, handed in by the composition root (:mod:`tilemud.server`).

The session room knows arenas (a player sits in one) and nothing of the social rooms:
guilds, parties and chat hand the session their request routes (:class:`RequestRoute`) and
listen to its life (:class:`SessionListener`). That keeps the arrows pointing one way:
chat, guilds and parties import the session's face; the session imports none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from tilemud.actors.arena import DirectoryMessage
from tilemud.actors.session._critical import Refused
from tilemud.actors.session._framer import StreamFramer
from tilemud.actors.session._ref import SessionRef
from tilemud.actors.session._turns import JOINS_AT_ONCE, JoinTurns
from tilemud.cluster.ratelimit import RateLimiter
from tilemud.mailbox import Ref
from tilemud.metrics import SessionMeter
from tilemud.protocol import ClientMessage
from tilemud.storage import PlayerStorage

if TYPE_CHECKING:  # the Session annotation of a route; _session imports this module
    from tilemud.actors.session._session import Session


class RequestRoute(Protocol):
    """A room's requests, answered in the session's task (e.g. chat, guilds, parties)."""

    @property
    def kinds(self) -> tuple[type[ClientMessage], ...]:
        """The request classes this route answers."""
        ...

    async def handle(self, session: Session, message: Any) -> str | None:
        """Answer ``message`` (one of :attr:`kinds`) for ``session``'s player.

        Returns the encoded answer frame, or None when it comes later or not at all (a
        repeat in flight). Critical requests go through ``session.run_critical``.
        """
        ...


class SessionListener:
    """Told of a session's life; every hook does nothing unless overridden.

    The synchronous hooks run in the session's (or its keeper's) task and must never block.
    """

    def session_started(self, session: SessionRef) -> None:
        """A fresh session began (not a resume)."""

    def stream_acked(self, session: SessionRef, seq: int) -> None:
        """The session's client acknowledged its stream up to ``seq``."""

    def left_arena(self, player_id: str, arena_id: str) -> None:
        """The player no longer sits in ``arena_id``."""

    async def session_expired(self, player_id: str) -> None:
        """The player's reconnect grace ran out: they are gone from this node."""


class Admission(Protocol):
    """Who may not play here now (moderation's bans), asked after each ``hello``."""

    def refusal(self, player_id: str) -> Refused | None:
        """Why ``player_id`` is refused (``banned``, with ``until``), or None. Never blocks."""
        ...


class BattleParties(Protocol):
    """What a join asks of parties: a leader entering a battle keeps seats for members."""

    def battle_mates(self, player_id: str) -> tuple[str, ...]:
        """The members who follow ``player_id`` into a battle (empty unless they lead)."""
        ...

    def battle_entered(self, player_id: str, arena_id: str, region: str) -> None:
        """The leader took a seat in ``arena_id``: members' joins go there."""
        ...


def _index_routes(routes: Iterable[RequestRoute]) -> Mapping[type[ClientMessage], RequestRoute]:
    index: dict[type[ClientMessage], RequestRoute] = {}
    for route in routes:
        for kind in route.kinds:
            if kind in index:
                raise ValueError(f"two routes answer {kind.__name__}")
            index[kind] = route
    return MappingProxyType(index)


@attrs.frozen(kw_only=True)
class SessionServices:
    """What every session talks to: the arena directory, the actions rate limit, the metrics it
    feeds, storage (players are remembered when they connect; None keeps nothing), the
    routes of other rooms' requests, who listens to sessions' lives, and who may not
    play (``admission``: moderation's bans; None admits everyone). ``framer`` makes every
    session's stream frames (one for all: a tick's body is cut once for all players).
    ``join_turns`` bounds the joins worked on at once, ``joins_at_once`` (the rest wait
    in line)."""

    directory: Ref[DirectoryMessage]
    actions: RateLimiter
    meter: SessionMeter
    storage: PlayerStorage | None = None
    routes: tuple[RequestRoute, ...] = ()
    listeners: tuple[SessionListener, ...] = ()
    parties: BattleParties | None = None
    admission: Admission | None = None
    framer: StreamFramer = attrs.field(factory=StreamFramer)
    joins_at_once: int = JOINS_AT_ONCE
    join_turns: JoinTurns = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: JoinTurns(self.joins_at_once), takes_self=True),
    )
    _by_kind: Mapping[type[ClientMessage], RequestRoute] = attrs.field(
        init=False, default=attrs.Factory(lambda self: _index_routes(self.routes), takes_self=True)
    )

    def route_for(self, message: ClientMessage) -> RequestRoute | None:
        """The route that answers ``message``, or None when no room here serves it."""
        return self._by_kind.get(type(message))
