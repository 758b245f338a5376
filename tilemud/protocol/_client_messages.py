"""Client -> server messages and their closed union.

Adding a message: write one ``@attrs.frozen(kw_only=True)`` class with a ``TYPE`` tag, a
Google docstring whose ``Attributes:`` section describes every field (it becomes the JSON
Schema's descriptions), a constraint from ``_fields`` on every str, int and float field
(and an ``Items`` or ``Fixed`` on every array), then add the class to :data:`ClientMessage`.
Regenerate the schemas and the doc reference (``python -m tilemud.protocol --write``).

Requests whose effect matters (``join``, ``leave``, ``place``) are in the *critical* tier:
the server applies a ``rid`` at most once and answers a repeat with the first answer.
``ack`` belongs to the *high-volume* tier (the stream of ``seq``-numbered frames).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeAlias

import attrs

from tilemud.game import Mode
from tilemud.protocol._chat import ChatRequest
from tilemud.protocol._fields import COORD, KIND, REGION, RID, Number, Text
from tilemud.protocol._guilds import GuildRequest
from tilemud.protocol._moderation import Report
from tilemud.protocol._parties import PartyRequest
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
        resume_token: the ``resume_token`` of an earlier ``welcome``; checked to be this
            player's (another player's closes with 4001). The player's session, if it has
            one, is taken over with or without it; one past its lifetime is ignored.
        last_seq: the highest stream ``seq`` the client received in the session it takes
            over (0 for none); every frame after it is resent, in order, or a ``snapshot``
            when the buffer no longer holds them. Without it the stream continues after
            the last ``ack``. Ignored when a fresh session starts.
    """

    TYPE: ClassVar[str] = "hello"

    v: int = attrs.field(validator=Number(minimum=1))
    token: str = attrs.field(validator=Text(min_length=1, max_length=MAX_TOKEN_LENGTH))
    resume_token: str | None = attrs.field(
        default=None, validator=Text(min_length=1, max_length=MAX_TOKEN_LENGTH)
    )
    last_seq: int | None = attrs.field(default=None, validator=Number(minimum=0))


@attrs.frozen(kw_only=True)
class Ping:
    """Asks for a ``pong``: a liveness check and a round-trip time probe.

    Attributes:
        rid: the request id, echoed by the ``pong``.
    """

    TYPE: ClassVar[str] = "ping"

    rid: str = attrs.field(validator=RID)


@attrs.frozen(kw_only=True)
class Join:
    """Asks for a seat in an arena of ``mode`` in ``region``.

    Answered by ``joined`` (then the stream of that arena starts with a ``snapshot``) or an
    ``error``: ``already_in_arena``, ``unknown_region``, ``arena_unavailable``,
    ``elsewhere`` (only in a cluster: the arena is on another node, ``GET /v1/discovery``
    says which), ``rate_limited``, ``overloaded``. Critical tier: a repeated ``rid`` gets
    the first answer.

    Attributes:
        rid: the request id, echoed by the answer.
        mode: ``battle`` (a short instance that ends) or ``arena`` (the long-lived epic arena).
        region: the region to play in, as discovery lists them (``eu-west``, ``us-1`` ...).
    """

    TYPE: ClassVar[str] = "join"

    rid: str = attrs.field(validator=RID)
    mode: Mode
    region: str = attrs.field(validator=REGION)


@attrs.frozen(kw_only=True)
class Leave:
    """Gives up the session's arena seat.

    Answered by ``left`` or an ``error`` (``not_in_arena``). No frame of that arena follows
    the ``left``. Critical tier: a repeated ``rid`` gets the first answer.

    Attributes:
        rid: the request id, echoed by the answer.
    """

    TYPE: ClassVar[str] = "leave"

    rid: str = attrs.field(validator=RID)


@attrs.frozen(kw_only=True)
class Place:
    """Asks to put a tile of ``kind`` on cell (``x``, ``y``) of the session's arena.

    Answered by ``place_result`` once the tick that takes it is resolved, or an ``error``
    (``not_in_arena``, ``rate_limited``, ``arena_unavailable``, ``overloaded``). Critical
    tier: the server applies a ``rid`` at most once and answers every repeat with the first
    answer, so a client that lost the answer repeats the same ``place`` with the same ``rid``.

    Attributes:
        rid: the request id, echoed by the answer; never reuse one for another placement.
        x: column, 0 at the left; a cell outside the board is rejected (``out_of_bounds``).
        y: row, 0 at the top.
        kind: one of the arena's tile kinds (``joined.rules.tile_kinds``); another name is
            rejected (``unknown_kind``).
    """

    TYPE: ClassVar[str] = "place"

    rid: str = attrs.field(validator=RID)
    x: int = attrs.field(validator=COORD)
    y: int = attrs.field(validator=COORD)
    kind: str = attrs.field(validator=KIND)


@attrs.frozen(kw_only=True)
class Ack:
    """Acknowledges every stream frame up to and including ``seq`` (cumulative).

    Frees the server's resend buffer; send one every few frames or every second, whichever
    comes first. No answer, unless it is invalid: ``invalid_ack`` for a ``seq`` the session
    never sent. An ``ack`` lower than an earlier one changes nothing.

    Attributes:
        seq: the highest ``seq`` received (frames arrive in order, so it covers every
            earlier one); 0 acknowledges nothing.
    """

    TYPE: ClassVar[str] = "ack"

    seq: int = attrs.field(validator=Number(minimum=0))


#: Every message a client may send, closed: the decoder knows exactly these.
ClientMessage: TypeAlias = (
    Hello
    | Ping
    | Join
    | Leave
    | Place
    | Ack
    # social: guilds (tilemud/protocol/_guilds.py)
    | GuildRequest
    # social: parties (tilemud/protocol/_parties.py)
    | PartyRequest
    # social: chat, direct messages and blocks (tilemud/protocol/_chat.py)
    | ChatRequest
    # moderation (tilemud/protocol/_moderation.py)
    | Report
)

#: ``type`` tag -> class, for every member of :data:`ClientMessage`.
CLIENT_MESSAGES: Mapping[str, type[ClientMessage]] = tag_registry(ClientMessage)
