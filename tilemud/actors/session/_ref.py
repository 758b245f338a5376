"""The one door other actors have to a session: :class:`SessionRef`."""

from __future__ import annotations

from typing import Protocol

from tilemud.actors.session._stream import SessionStream


class Identity(Protocol):
    """Who the session belongs to."""

    @property
    def player_id(self) -> str: ...
    @property
    def name(self) -> str: ...


class RefTarget(Protocol):
    """What a :class:`SessionRef` forwards to (a :class:`~tilemud.actors.session.Session`)."""

    @property
    def identity(self) -> Identity: ...
    @property
    def stream(self) -> SessionStream[bytes]: ...
    def publish(self, body: str, *, ring: bool = True) -> bool: ...
    def reset_stream(self, snapshot_body: str) -> None: ...
    def reply(self, rid: str, frame: str) -> None: ...
    def arena_closed(self, arena_id: str) -> None: ...


class SessionRef:
    """The one way other actors reach a session: synchronous, never blocking.

    Arenas (through their seat's link), the chat, guilds, parties and the direct message
    courier (through :class:`~tilemud.actors.session.Presence`) hold this, never the
    :class:`Session`. Each call appends to the session's stream or outbox and rings its
    connection's writer; a full stream evicts its oldest frame (the player then gets a
    snapshot or a ``stream_gap``), a full outbox drops an answer that the player gets again
    by repeating its ``rid``. Nothing here waits for the player.
    """

    __slots__ = ("__weakref__", "_session")

    def __init__(self, session: RefTarget) -> None:
        self._session = session

    @property
    def player_id(self) -> str:
        """The player's id."""
        return self._session.identity.player_id

    @property
    def name(self) -> str:
        """The player's display name."""
        return self._session.identity.name

    @property
    def stream(self) -> SessionStream[bytes]:
        """The player's stream, to read its position (``last_seq``, ``dropped``)."""
        return self._session.stream

    def publish(self, body: str, *, ring: bool = True) -> bool:
        """Append a high-volume frame body to the stream; True if that lost a frame.

        ``ring=False`` leaves the writing to the next publish, which follows at once.
        """
        return self._session.publish(body, ring=ring)

    def reset_stream(self, snapshot_body: str) -> None:
        """Replace what is unsent in the stream with a snapshot."""
        self._session.reset_stream(snapshot_body)

    def reply(self, rid: str, frame: str) -> None:
        """Answer a critical request; kept for repeats of ``rid`` even if undelivered."""
        self._session.reply(rid, frame)

    def arena_closed(self, arena_id: str) -> None:
        """The arena ended (a battle is over): the player is no longer in it."""
        self._session.arena_closed(arena_id)
