"""The session keeper: every player's session on this node, and their reconnect grace.

Owns:
    the sessions by player (one session per player), which connection each one has, and
    the grace timer of each session whose connection dropped.
Used by:
    the gateway's connection handlers, one call per connection lifecycle step: ``claim``
    after the handshake, ``attached``, then ``released`` when the connection ends. All
    calls come from tasks of the gateway's handler nursery, which also runs the grace
    timers; the keeper is the gateway's state. It is the only writer of the node's
    :class:`~tilemud.actors.session.PresenceRegistry`.
Rules:
    A new connection of a player who has a session takes that session over (``resumed``):
    a connection still attached to it is closed first with 4009 (replaced). A session whose
    connection ended waits ``gateway.reconnect_grace`` seconds of Trio time; then it
    leaves its arena (its players see ``player_left`` with reason ``timeout``) and is gone.
"""

from __future__ import annotations

import logging

import trio

from tilemud.actors.session._connection import Connection
from tilemud.actors.session._presence import PresenceRegistry
from tilemud.actors.session._services import SessionServices
from tilemud.actors.session._session import Session, SessionIdentity
from tilemud.config import GatewaySettings
from tilemud.protocol import CloseCode

log = logging.getLogger("tilemud.sessions")


class SessionKeeper:
    """Sessions by player, their attached connections and their grace timers.

    Args:
        settings: the gateway's settings (grace, close timeout, stream sizes).
        services: what sessions talk to.
        presence: the node's presence, which this keeper keeps (empty when it starts).
        timers: the nursery that runs the grace timers.
    """

    def __init__(
        self,
        settings: GatewaySettings,
        services: SessionServices,
        presence: PresenceRegistry,
        timers: trio.Nursery,
    ) -> None:
        self._settings = settings
        self._services = services
        self._presence = presence
        presence.clear()
        self._timers = timers
        self._sessions: dict[str, Session] = {}
        self._attached: dict[str, Connection] = {}
        self._graces: dict[str, trio.CancelScope] = {}
        self._detached: dict[str, trio.Event] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def session_of(self, player_id: str) -> Session | None:
        """The player's session, attached or waiting in its grace."""
        return self._sessions.get(player_id)

    @property
    def connections(self) -> list[Connection]:
        """Connections attached to a session right now."""
        return list(self._attached.values())

    async def claim(self, identity: SessionIdentity) -> tuple[Session, bool]:
        """The session for a newly greeted connection of ``identity.player_id``.

        Returns:
            The session and whether it is an existing one taken over (``resumed``).
        """
        player_id = identity.player_id
        storage = self._services.storage
        if storage is not None:
            # Write-behind: a full buffer (a long outage) loses a last-seen, not a login.
            storage.record_player_seen(player_id, identity.name)
        session = self._sessions.get(player_id)
        if session is None:
            session = Session(identity, settings=self._settings, services=self._services)
            self._sessions[player_id] = session
            self._presence.arrived(session.ref)
            for listener in self._services.listeners:  # e.g. stored direct messages come
                listener.session_started(session.ref)
            return session, False
        # Every connection still attached is replaced first. Its end starts a grace timer
        # (released); the grace is cancelled once none is left, so that no timer of a
        # replaced connection outlives the take-over (issue 11: it expired the session
        # under its new connection, or raised KeyError as a second timer).
        while (previous := self._attached.get(player_id)) is not None:
            log.info("connection replaced", extra={"player_id": player_id})
            previous.request_close(CloseCode.REPLACED, "replaced")
            # Made only for a take-over (an Event per attached connection was ~310 bytes
            # per idle player); every claim waiting for the same connection shares it.
            detached = self._detached.setdefault(player_id, trio.Event())
            with trio.move_on_after(self._settings.close_timeout + 1.0):
                await detached.wait()
            if self._attached.get(player_id) is previous:
                break  # stuck closing: ``attached`` takes its place and it ends on its own
        self._cancel_grace(player_id)
        if self._sessions.get(player_id) is not session:
            # Expired while the previous connection closed: start afresh.
            return await self.claim(identity)
        return session, True

    def disconnect(
        self, player_id: str, code: int, reason: str, farewell: str | None = None
    ) -> bool:
        """Close the player's attached connection with ``code`` (a ban, a kick), after the
        encoded ``farewell`` frame if one is given; False when none is attached. The
        session waits out its grace as after any close."""
        connection = self._attached.get(player_id)
        if connection is None:
            return False
        log.info("connection closed by moderation", extra={"player_id": player_id})
        connection.request_close(code, reason, farewell)
        return True

    def attached(self, connection: Connection) -> None:
        """``connection`` now serves its session."""
        player_id = connection.session.player_id
        self._attached[player_id] = connection

    def released(self, connection: Connection) -> None:
        """``connection`` ended: its session waits out the reconnect grace."""
        player_id = connection.session.player_id
        if self._attached.get(player_id) is not connection:
            return  # already replaced by a newer connection
        del self._attached[player_id]
        detached = self._detached.pop(player_id, None)
        if detached is not None:  # a take-over waits for this connection's end
            detached.set()
        self._cancel_grace(player_id)
        scope = trio.CancelScope()
        self._graces[player_id] = scope
        self._timers.start_soon(self._expire_after_grace, connection.session, scope)

    def _cancel_grace(self, player_id: str) -> None:
        grace = self._graces.pop(player_id, None)
        if grace is not None:
            grace.cancel()

    async def _expire_after_grace(self, session: Session, scope: trio.CancelScope) -> None:
        player_id = session.player_id
        with scope:
            await trio.sleep(self._settings.reconnect_grace)
        # Only the timer the table still holds for this very session may end it.
        if scope.cancel_called or self._graces.get(player_id) is not scope:
            return
        del self._graces[player_id]
        if self._sessions.get(player_id) is not session:
            return
        del self._sessions[player_id]
        self._presence.departed(player_id)
        log.info("session expired", extra={"player_id": player_id})
        try:
            await session.leave_world("timeout")
            for listener in self._services.listeners:  # e.g. a party's lead passes on
                await listener.session_expired(player_id)
        except Exception:
            # This timer runs in the gateway's handler nursery: a bug in one session's
            # departure must not end every connection (issue 11). Logged once, here.
            log.exception("session expiry failed", extra={"player_id": player_id})
