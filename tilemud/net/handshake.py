"""The hello/welcome handshake that turns a new WebSocket into a player's session.

The client's first frame must be a ``hello`` with a supported protocol version and a valid
access token, within ``gateway.hello_timeout`` seconds. Anything else is refused with an
``error`` frame followed by the close code that :func:`close_code_for` names
(docs/protocol.md has the table).
"""

from __future__ import annotations

import secrets

import attrs
import trio

from tilemud.actors.session import Admission, SessionIdentity
from tilemud.auth import TokenAuthority
from tilemud.config import GatewaySettings
from tilemud.errors import AuthError, TilemudError
from tilemud.protocol import CloseCode, ErrorCode, binary_frame_error, close_code_for, decode_hello
from tilemud.wire import Refused, WebSocket


class HandshakeRefused(TilemudError):
    """The connection cannot become a session; it gets an error frame and a close code."""

    def __init__(
        self,
        error: TilemudError,
        rid: str | None = None,
        retry_after: float | None = None,
        until: float | None = None,
    ) -> None:
        super().__init__(error.message, code=error.code)
        self.rid = rid
        self.retry_after = retry_after
        self.until = until
        self.close_code = close_code_for(error.code, before_welcome=True) or CloseCode.BAD_HELLO


@attrs.frozen(kw_only=True)
class Greeting:
    """What a successful handshake established."""

    identity: SessionIdentity
    version: int
    #: The last stream seq the client saw, for an exact resend after a resume.
    last_seq: int | None


def _check_resume_token(tokens: TokenAuthority, resume_token: str, player_id: str) -> None:
    """Refuse a forged resume token, or another player's; one past its lifetime is ignored.

    Which session a connection takes over is decided by the player (one session each),
    not by the token: the token is only checked, so that a client holding a wrong one
    learns it.
    """
    try:
        tokens.verify_resume(resume_token, player_id=player_id)
    except AuthError as exc:
        if exc.code != ErrorCode.TOKEN_EXPIRED:
            raise


def new_session_id() -> str:
    """A fresh, unguessable session id."""
    return "s_" + secrets.token_urlsafe(12)


async def receive_hello(
    connection: WebSocket, settings: GatewaySettings, tokens: TokenAuthority, *, deadline: float
) -> Greeting:
    """Wait for the client's hello, until ``deadline`` (Trio time), and check it.

    Raises:
        HandshakeRefused: no hello in time, not a hello, unsupported version, bad token,
            a first frame over the frame budget.
        tilemud.wire.ConnectionClosed: the client left, or broke the WebSocket protocol.
    """
    frame: str | bytes | Refused | None = None
    with trio.move_on_at(deadline):
        frame = await connection.receive()
    if frame is None:
        timeout = f"no hello within {settings.hello_timeout:g} s"
        raise HandshakeRefused(TilemudError(timeout, code=ErrorCode.HELLO_TIMEOUT))
    if isinstance(frame, Refused):
        limited = TilemudError("too many frames; wait for retry_after", code=ErrorCode.RATE_LIMITED)
        raise HandshakeRefused(limited, retry_after=frame.retry_after)
    return check_hello(frame, tokens)


def check_hello(frame: str | bytes, tokens: TokenAuthority) -> Greeting:
    """Check a first frame: a hello of a supported version with valid tokens.

    Raises:
        HandshakeRefused: with the error to send and the close code to follow it.
    """
    if isinstance(frame, bytes):
        raise HandshakeRefused(binary_frame_error())
    try:
        hello = decode_hello(frame)
        claims = tokens.verify_access(hello.token)
        if hello.resume_token is not None:
            _check_resume_token(tokens, hello.resume_token, claims.player_id)
    except TilemudError as exc:
        raise HandshakeRefused(exc, getattr(exc, "rid", None)) from exc
    identity = SessionIdentity(
        player_id=claims.player_id,
        name=claims.name,
        session_id=new_session_id(),
        roles=claims.roles,
    )
    return Greeting(identity=identity, version=hello.v, last_seq=hello.last_seq)


def check_admission(greeting: Greeting, admission: Admission | None) -> HandshakeRefused | None:
    """The refusal of a greeted player who may not play here now (banned), or None."""
    if admission is None:
        return None
    refused = admission.refusal(greeting.identity.player_id)
    if refused is None:
        return None
    return HandshakeRefused(refused, retry_after=refused.retry_after, until=refused.until)
