"""Error codes: what each ``error`` frame's ``code`` means, and which errors end the
connection.

The table here is the single source of the error-code table in ``docs/protocol.md``.

The rule, in one place (:func:`close_code_for`):

- before ``welcome``, every error closes the connection: with the error's own close code,
  or with 4000 (bad hello) when it has none (1013 for the server-side ``overloaded`` and
  ``unavailable``);
- after ``welcome``, an error closes the connection only when its code has a close code;
  every other error is answered with an ``error`` frame and the connection stays usable.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from tilemud.protocol._close_codes import CloseCode


class ErrorCode(enum.StrEnum):
    """Every ``code`` an ``error`` frame (or a close reason) carries."""

    BAD_REQUEST = "bad_request"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_TYPE = "missing_type"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_MESSAGE = "invalid_message"
    BINARY_NOT_SUPPORTED = "binary_not_supported"
    FRAME_TOO_LARGE = "frame_too_large"
    PROTOCOL_ERROR = "protocol_error"
    INVALID_UTF8 = "invalid_utf8"
    HELLO_REQUIRED = "hello_required"
    DUPLICATE_HELLO = "duplicate_hello"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_MISMATCH = "token_mismatch"
    HELLO_TIMEOUT = "hello_timeout"
    SLOW_CLIENT = "slow_client"
    SERVER_FULL = "server_full"
    SHUTTING_DOWN = "shutting_down"
    OVERLOADED = "overloaded"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    RATE_LIMITED = "rate_limited"
    NOT_IN_ARENA = "not_in_arena"
    ALREADY_IN_ARENA = "already_in_arena"
    UNKNOWN_REGION = "unknown_region"
    INVALID_ACK = "invalid_ack"
    ARENA_UNAVAILABLE = "arena_unavailable"
    ELSEWHERE = "elsewhere"
    REPLACED = "replaced"
    # social: guilds
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    BLOCKED = "blocked"
    INVALID_NAME = "invalid_name"
    NAME_TAKEN = "name_taken"
    GUILD_FULL = "guild_full"
    ALREADY_IN_GUILD = "already_in_guild"
    NOT_IN_GUILD = "not_in_guild"
    NOT_A_MEMBER = "not_a_member"
    INVALID_TARGET = "invalid_target"
    NO_INVITE = "no_invite"
    # social: parties
    ALREADY_IN_PARTY = "already_in_party"
    NOT_IN_PARTY = "not_in_party"
    PARTY_FULL = "party_full"
    ALREADY_INVITED = "already_invited"
    PLAYER_OFFLINE = "player_offline"
    # social: chat, direct messages and blocks
    EMPTY_MESSAGE = "empty_message"
    MESSAGE_TOO_LONG = "message_too_long"
    INVALID_TEXT = "invalid_text"
    UNKNOWN_CHANNEL = "unknown_channel"
    NOT_SUBSCRIBED = "not_subscribed"
    UNKNOWN_PLAYER = "unknown_player"
    # moderation
    BANNED = "banned"
    KICKED = "kicked"
    MUTED = "muted"


@attrs.frozen(kw_only=True)
class ErrorCodeInfo:
    """What an error code means and what follows it.

    Attributes:
        meaning: what went wrong.
        close_code: the close that always follows this error, or None when the connection
            stays open (after ``welcome``).
        retry_after: whether the ``error`` frame carries ``retry_after``.
        handshake_close_code: the close when this error happens before ``welcome``, if it
            differs from ``close_code`` and from 4000 (bad hello), the default for errors
            that have no ``close_code``: a server-side failure during the handshake is not
            the client's fault.
    """

    meaning: str
    close_code: CloseCode | None = None
    retry_after: bool = False
    handshake_close_code: CloseCode | None = None


ERROR_CODES: Mapping[ErrorCode, ErrorCodeInfo] = MappingProxyType(
    {
        ErrorCode.BAD_REQUEST: ErrorCodeInfo(meaning="a request broke a protocol rule"),
        ErrorCode.MALFORMED_JSON: ErrorCodeInfo(
            meaning="the frame is not valid JSON (RFC 8259, UTF-8)"
        ),
        ErrorCode.NOT_AN_OBJECT: ErrorCodeInfo(
            meaning="the frame is JSON but not an object (an array, a number ...)"
        ),
        ErrorCode.MISSING_TYPE: ErrorCodeInfo(
            meaning="the object has no `type`, or its `type` is not a string"
        ),
        ErrorCode.UNKNOWN_TYPE: ErrorCodeInfo(
            meaning="`type` names no message of this protocol version in this direction"
        ),
        ErrorCode.INVALID_MESSAGE: ErrorCodeInfo(
            meaning=(
                "a known message with a missing, unknown or wrongly typed field, or a value "
                "outside its constraints; the message names the field"
            )
        ),
        ErrorCode.BINARY_NOT_SUPPORTED: ErrorCodeInfo(
            meaning="a binary frame arrived; the protocol uses text frames only"
        ),
        ErrorCode.FRAME_TOO_LARGE: ErrorCodeInfo(
            meaning="a frame exceeded `max_frame_bytes` (the close reason of 1009)",
            close_code=CloseCode.MESSAGE_TOO_BIG,
        ),
        ErrorCode.PROTOCOL_ERROR: ErrorCodeInfo(
            meaning="a broken WebSocket frame (the close reason of 1002)",
            close_code=CloseCode.PROTOCOL_ERROR,
        ),
        ErrorCode.INVALID_UTF8: ErrorCodeInfo(
            meaning="a text frame that is not valid UTF-8 (the close reason of 1007)",
            close_code=CloseCode.INVALID_PAYLOAD,
        ),
        ErrorCode.HELLO_REQUIRED: ErrorCodeInfo(
            meaning="the first frame was a valid message, but not `hello`",
            close_code=CloseCode.BAD_HELLO,
        ),
        ErrorCode.DUPLICATE_HELLO: ErrorCodeInfo(
            meaning="`hello` was sent again after `welcome`",
            close_code=CloseCode.BAD_HELLO,
        ),
        ErrorCode.UNSUPPORTED_VERSION: ErrorCodeInfo(
            meaning="`hello.v` is not a supported protocol version",
            close_code=CloseCode.UNSUPPORTED_VERSION,
        ),
        ErrorCode.INVALID_TOKEN: ErrorCodeInfo(
            meaning="the token is forged, malformed, not meant for this server or not valid"
            " yet (`nbf`)",
            close_code=CloseCode.INVALID_TOKEN,
        ),
        ErrorCode.TOKEN_EXPIRED: ErrorCodeInfo(
            meaning="the token has expired", close_code=CloseCode.TOKEN_EXPIRED
        ),
        ErrorCode.TOKEN_MISMATCH: ErrorCodeInfo(
            meaning="the `resume_token` belongs to another player than the access token",
            close_code=CloseCode.INVALID_TOKEN,
        ),
        ErrorCode.HELLO_TIMEOUT: ErrorCodeInfo(
            meaning="no `hello` within the hello timeout", close_code=CloseCode.HELLO_TIMEOUT
        ),
        ErrorCode.SLOW_CLIENT: ErrorCodeInfo(
            meaning="the outbound queue stayed full too long (close reason only)",
            close_code=CloseCode.SLOW_CLIENT,
        ),
        ErrorCode.SERVER_FULL: ErrorCodeInfo(
            meaning=(
                "the server is at its connection limit; this `error` frame comes right "
                "after the upgrade, before any `hello`"
            ),
            close_code=CloseCode.TRY_AGAIN_LATER,
            retry_after=True,
        ),
        ErrorCode.SHUTTING_DOWN: ErrorCodeInfo(
            meaning="the server is shutting down (close reason only)",
            close_code=CloseCode.GOING_AWAY,
        ),
        ErrorCode.OVERLOADED: ErrorCodeInfo(
            meaning="the actor serving the request is too busy; the request was not applied",
            retry_after=True,
            handshake_close_code=CloseCode.TRY_AGAIN_LATER,
        ),
        ErrorCode.UNAVAILABLE: ErrorCodeInfo(
            meaning=(
                "something the request needs is down: the database (a `join` that would "
                "open an arena, a `place` the arena can no longer keep) or the thing the "
                "request was for; repeat it with the same `rid` after `retry_after`"
            ),
            retry_after=True,
            handshake_close_code=CloseCode.TRY_AGAIN_LATER,
        ),
        ErrorCode.INTERNAL: ErrorCodeInfo(
            meaning="a server bug; the connection is closed",
            close_code=CloseCode.INTERNAL_ERROR,
        ),
        ErrorCode.RATE_LIMITED: ErrorCodeInfo(
            meaning=(
                "the player sent requests (or frames of any kind: the frame budget) faster "
                "than allowed; the request was not applied: repeat it, with the same `rid`, "
                "after `retry_after`. Also the close reason of 1008"
            ),
            retry_after=True,
            handshake_close_code=CloseCode.TRY_AGAIN_LATER,
        ),
        ErrorCode.NOT_IN_ARENA: ErrorCodeInfo(
            meaning="a `place` or `leave` came while the session holds no arena seat"
        ),
        ErrorCode.ALREADY_IN_ARENA: ErrorCodeInfo(
            meaning="a `join` came while the session already holds a seat; `leave` first"
        ),
        ErrorCode.UNKNOWN_REGION: ErrorCodeInfo(
            meaning="`join.region` names no region this server serves for that mode"
        ),
        ErrorCode.INVALID_ACK: ErrorCodeInfo(
            meaning="`ack.seq` is beyond the last `seq` sent to this session"
        ),
        ErrorCode.ARENA_UNAVAILABLE: ErrorCodeInfo(
            meaning=(
                "the arena ended or restarted while the request was in flight; repeat it with "
                "the same `rid` after `retry_after` (a `rid` is never applied twice)"
            ),
            retry_after=True,
        ),
        ErrorCode.ELSEWHERE: ErrorCodeInfo(
            meaning=(
                "only in a cluster: the arena for this `join` runs on another node; ask "
                "`GET /v1/discovery?mode=&region=` (HTTP API) where, and send the `join` "
                "there (the `message` names the node for people); nothing was applied"
            )
        ),
        ErrorCode.REPLACED: ErrorCodeInfo(
            meaning=(
                "another connection of the same player took over this session (close reason only)"
            ),
            close_code=CloseCode.REPLACED,
        ),
        # social: guilds
        ErrorCode.FORBIDDEN: ErrorCodeInfo(
            meaning="the player's role does not allow this request (docs/social.md)"
        ),
        ErrorCode.NOT_FOUND: ErrorCodeInfo(
            meaning="the guild (or other thing) asked for is not there"
        ),
        ErrorCode.BLOCKED: ErrorCodeInfo(
            meaning="the other player blocks the requester: no invite, no direct message"
        ),
        ErrorCode.INVALID_NAME: ErrorCodeInfo(
            meaning="the guild name breaks the name rules (docs/social.md)"
        ),
        ErrorCode.NAME_TAKEN: ErrorCodeInfo(
            meaning="another guild has this name (names are unique, ignoring case)"
        ),
        ErrorCode.GUILD_FULL: ErrorCodeInfo(meaning="the guild has as many members as it may"),
        ErrorCode.ALREADY_IN_GUILD: ErrorCodeInfo(
            meaning="the player (the requester, or the one invited) is in a guild already"
        ),
        ErrorCode.NOT_IN_GUILD: ErrorCodeInfo(meaning="the requester is in no guild"),
        ErrorCode.NOT_A_MEMBER: ErrorCodeInfo(
            meaning="the player named is not a member of the requester's guild or party"
        ),
        ErrorCode.INVALID_TARGET: ErrorCodeInfo(
            meaning="the player named cannot be the target: the requester, or already in that role"
        ),
        ErrorCode.NO_INVITE: ErrorCodeInfo(
            meaning="the player has no pending invite from that guild or party"
        ),
        # social: parties
        ErrorCode.ALREADY_IN_PARTY: ErrorCodeInfo(
            meaning="the player (the requester, or the one invited) is in a party already"
        ),
        ErrorCode.NOT_IN_PARTY: ErrorCodeInfo(
            meaning="the requester is in no party (or not in the one the request is for)"
        ),
        ErrorCode.PARTY_FULL: ErrorCodeInfo(
            meaning="the party has as many members as it may, pending invites counted"
        ),
        ErrorCode.ALREADY_INVITED: ErrorCodeInfo(
            meaning="the player has a pending invite from this party already"
        ),
        ErrorCode.PLAYER_OFFLINE: ErrorCodeInfo(
            meaning="the player named has no session on this server"
        ),
        # social: chat, direct messages and blocks
        ErrorCode.EMPTY_MESSAGE: ErrorCodeInfo(
            meaning="a chat or direct message has no text once trimmed; it was not sent"
        ),
        ErrorCode.MESSAGE_TOO_LONG: ErrorCodeInfo(
            meaning=(
                "a chat or direct message is longer than `social.message_max_chars` "
                "(500 by default); it was not sent"
            )
        ),
        ErrorCode.INVALID_TEXT: ErrorCodeInfo(
            meaning=(
                "a chat or direct message holds a control character (other than line breaks "
                "and tabs, which become spaces) or a bidirectional override; it was not sent"
            )
        ),
        ErrorCode.UNKNOWN_CHANNEL: ErrorCodeInfo(
            meaning="the channel id names no channel (or a region this server does not serve)"
        ),
        ErrorCode.NOT_SUBSCRIBED: ErrorCodeInfo(
            meaning="`chat_send` to a channel the session has not joined (`chat_join` first)"
        ),
        ErrorCode.UNKNOWN_PLAYER: ErrorCodeInfo(
            meaning="the player named has never played on this server"
        ),
        # moderation
        ErrorCode.BANNED: ErrorCodeInfo(
            meaning=(
                "the player is banned; `until` says when the ban ends (absent: permanent), "
                "`message` gives the moderator's reason"
            ),
            close_code=CloseCode.BANNED,
        ),
        ErrorCode.KICKED: ErrorCodeInfo(
            meaning="a moderator kicked the player; `message` gives the moderator's reason",
            close_code=CloseCode.KICKED,
        ),
        ErrorCode.MUTED: ErrorCodeInfo(
            meaning=(
                "the player is muted: `chat_send` and `dm_send` are refused until `until` "
                "(`retry_after` says the same in seconds from now)"
            ),
            retry_after=True,
        ),
    }
)


def close_code_for(code: str, *, before_welcome: bool) -> CloseCode | None:
    """The close code that must follow an ``error`` frame with this ``code``.

    Args:
        code: an error code; codes missing from :class:`ErrorCode` are treated as errors
            that leave the connection open (after ``welcome``).
        before_welcome: whether the handshake is still running (no ``welcome`` sent yet).

    Returns:
        The close code to send after the error frame, or None to keep the connection open.
    """
    try:
        info = ERROR_CODES[ErrorCode(code)]
    except ValueError:
        info = ErrorCodeInfo(meaning="unknown")
    if not before_welcome:
        return info.close_code
    return info.handshake_close_code or info.close_code or CloseCode.BAD_HELLO
