"""Client -> server messages and their closed union.

Adding a message: write one ``@attrs.frozen(kw_only=True)`` class with a ``TYPE`` tag, a
Google docstring whose ``Attributes:`` section describes every field (it becomes the JSON
Schema's descriptions), a constraint from ``_fields`` on every str and float field, then add
the class to :data:`ClientMessage`. Regenerate the schemas (``make schemas``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeAlias

import attrs

from tilemud.protocol._fields import RID, Number, Text
from tilemud.protocol._registry import tag_registry

#: Longest token (JWT) or resume token accepted in a ``hello``, in characters.
MAX_TOKEN_LENGTH = 8192


@attrs.frozen(kw_only=True)
class Hello:
    """The first frame of every connection: the protocol version and who the player is.

    The server answers ``welcome``, or an ``error`` frame and a close (4000-4004).

    Attributes:
        v: the protocol version the client speaks; the server checks it before anything
            else and closes with 4003 when it is not supported.
        token: the player's JWT, as issued by the HTTP API's login.
        resume_token: the ``resume_token`` of an earlier ``welcome``, to take over that
            session (its subscriptions and unacked frames) if it is still within its
            grace; an unknown or stale one starts a fresh session (``resumed: false``).
    """

    TYPE: ClassVar[str] = "hello"

    v: int = attrs.field(validator=Number(minimum=1))
    token: str = attrs.field(validator=Text(min_length=1, max_length=MAX_TOKEN_LENGTH))
    resume_token: str | None = attrs.field(
        default=None, validator=Text(min_length=1, max_length=MAX_TOKEN_LENGTH)
    )


@attrs.frozen(kw_only=True)
class Ping:
    """Asks for a ``pong``: a liveness check and a round-trip time probe.

    Attributes:
        rid: the request id, echoed by the ``pong``.
    """

    TYPE: ClassVar[str] = "ping"

    rid: str = attrs.field(validator=RID)


#: Every message a client may send, closed: the decoder knows exactly these.
ClientMessage: TypeAlias = Hello | Ping

#: ``type`` tag -> class, for every member of :data:`ClientMessage`.
CLIENT_MESSAGES: Mapping[str, type[ClientMessage]] = tag_registry(ClientMessage)
