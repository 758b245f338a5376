"""The one small typed error hierarchy of tilemud.

Bad input from a player becomes one of these and is answered with an ``error`` frame
(its ``code``) or a documented close code; a bug is any other exception and crashes the
actor, whose supervisor restarts it.
"""

from __future__ import annotations


class TilemudError(Exception):
    """Base of every error tilemud raises on purpose.

    Attributes:
        code: a stable snake_case identifier, the one sent to clients in ``error`` frames.
    """

    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(TilemudError):
    """A setting is missing, malformed or out of range."""

    code = "bad_config"


class AuthError(TilemudError):
    """A token is forged, expired, meant for someone else, or otherwise unusable."""

    code = "invalid_token"


class ProtocolError(TilemudError):
    """A frame broke the wire protocol (bad JSON, bad shape, unknown type, ...).

    Attributes:
        rid: the request id of the offending frame, when it could be read, so that the
            ``error`` reply echoes it.
        close_code: the WebSocket close code that must follow the ``error`` frame, or None
            when the connection stays usable (see ``tilemud.protocol.close_code_for``).
    """

    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        rid: str | None = None,
        close_code: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.rid = rid
        self.close_code = close_code


class MailboxFull(TilemudError):
    """An actor's bounded mailbox is full and its overflow policy is to reject."""

    code = "overloaded"


class ActorGone(TilemudError):
    """The actor behind a ``Ref`` has stopped for good; its mailbox is closed."""

    code = "unavailable"
