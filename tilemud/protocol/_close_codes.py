"""Close codes: every WebSocket close code a tilemud server sends, and what each means.

The table here is the single source of the close-code table in ``docs/protocol.md`` (it is
rendered from this module and a test checks the document against it). Which error leads
to which close is :mod:`tilemud.protocol._error_codes`' business.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs


class CloseCode(enum.IntEnum):
    """Every WebSocket close code a tilemud server sends (RFC 6455 and 4000-4999)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    BAD_HELLO = 4000
    INVALID_TOKEN = 4001
    TOKEN_EXPIRED = 4002
    UNSUPPORTED_VERSION = 4003
    HELLO_TIMEOUT = 4004
    SLOW_CLIENT = 4008
    REPLACED = 4009
    BANNED = 4010
    KICKED = 4011


@attrs.frozen(kw_only=True)
class CloseCodeInfo:
    """What a close code means to a client.

    Attributes:
        when: why the server closes with this code.
        error_frame: whether an ``error`` frame is sent just before the close.
        client_action: what a client should do next.
    """

    when: str
    error_frame: bool
    client_action: str


_RESUME = "reconnect, sending `resume_token` in the new `hello`"

CLOSE_CODES: Mapping[CloseCode, CloseCodeInfo] = MappingProxyType(
    {
        CloseCode.NORMAL: CloseCodeInfo(
            when="the session ended on purpose (the client closed first, or was logged out)",
            error_frame=False,
            client_action="do not reconnect automatically",
        ),
        CloseCode.GOING_AWAY: CloseCodeInfo(
            when=(
                "the server is shutting down (`shutting_down` is the close reason); every"
                " request it read was answered before this close"
            ),
            error_frame=False,
            client_action=(
                f"{_RESUME}, after 1-5 s with jitter; repeat every request that got no"
                " answer: it was not applied"
            ),
        ),
        CloseCode.PROTOCOL_ERROR: CloseCodeInfo(
            when=(
                "a broken WebSocket frame: unmasked, reserved bits set, an unknown opcode, "
                "a bad close payload, a control frame fragmented or too long "
                "(`protocol_error`)"
            ),
            error_frame=False,
            client_action="a client bug: report it; reconnecting is allowed",
        ),
        CloseCode.INVALID_PAYLOAD: CloseCodeInfo(
            when="a text frame was not valid UTF-8 (`invalid_utf8`)",
            error_frame=False,
            client_action="a client bug: report it; reconnecting is allowed",
        ),
        CloseCode.POLICY_VIOLATION: CloseCodeInfo(
            when=(
                "the client kept sending over its frame budget after a `rate_limited` "
                "error: a run of refused frames longer than the budget (`rate_limited`)"
            ),
            error_frame=False,
            client_action=f"{_RESUME} after a few seconds, and send more slowly",
        ),
        CloseCode.MESSAGE_TOO_BIG: CloseCodeInfo(
            when="a frame was larger than `welcome.max_frame_bytes` (`frame_too_large`)",
            error_frame=False,
            client_action=f"a client bug: do not resend that frame; {_RESUME}",
        ),
        CloseCode.INTERNAL_ERROR: CloseCodeInfo(
            when="the server failed on a bug while serving this connection (`internal`)",
            error_frame=True,
            client_action=f"{_RESUME}, with exponential backoff",
        ),
        CloseCode.TRY_AGAIN_LATER: CloseCodeInfo(
            when="the server is at its connection limit (`server_full`)",
            error_frame=True,
            client_action="reconnect after the error frame's `retry_after` seconds",
        ),
        CloseCode.BAD_HELLO: CloseCodeInfo(
            when=(
                "the first frame was not a valid `hello` (the error frame's code says why), "
                "or a second `hello` came after `welcome`"
            ),
            error_frame=True,
            client_action="a client bug: fix it; do not retry in a loop",
        ),
        CloseCode.INVALID_TOKEN: CloseCodeInfo(
            when="the `hello` token is forged, malformed, for another audience or not valid"
            " yet (`iat` or `nbf` in the future), or its `resume_token` is another player's",
            error_frame=True,
            client_action="log in again for a new token, then reconnect",
        ),
        CloseCode.TOKEN_EXPIRED: CloseCodeInfo(
            when="the `hello` token has expired",
            error_frame=True,
            client_action="refresh the token, then reconnect with `resume_token`",
        ),
        CloseCode.UNSUPPORTED_VERSION: CloseCodeInfo(
            when="`hello.v` is not one this server speaks (the message lists those it does)",
            error_frame=True,
            client_action="retry with a listed version if the client has one; else upgrade",
        ),
        CloseCode.HELLO_TIMEOUT: CloseCodeInfo(
            when="no frame arrived within the hello timeout (5 s by default)",
            error_frame=True,
            client_action="reconnect and send `hello` as the first frame, at once",
        ),
        CloseCode.SLOW_CLIENT: CloseCodeInfo(
            when="frames to this client stayed queued too long (`slow_client` close reason)",
            error_frame=False,
            client_action=f"{_RESUME}; the resumed stream continues from the last ack",
        ),
        CloseCode.REPLACED: CloseCodeInfo(
            when=(
                "another connection of the same player took over this session "
                "(`replaced` close reason)"
            ),
            error_frame=False,
            client_action="do not reconnect automatically; the other connection is the player's",
        ),
        CloseCode.BANNED: CloseCodeInfo(
            when=(
                "the player is banned (`banned`): their `hello` is refused, and a ban ends "
                "every live connection of theirs at once; the `error` frame before the "
                "close (a refused `hello`'s, or a live connection's last frame) says until "
                "when (`until`, absent for a permanent ban)"
            ),
            error_frame=True,
            client_action="do not reconnect before `until` (never, without one)",
        ),
        CloseCode.KICKED: CloseCodeInfo(
            when=(
                "a moderator kicked the player (`kicked` close reason, after an `error` "
                "frame `kicked` giving the reason); no ban"
            ),
            error_frame=True,
            client_action="do not reconnect automatically; the player may log in again",
        ),
    }
)
