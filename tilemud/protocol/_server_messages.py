"""Server -> client messages and their closed union.

Adding a message works as for client messages (see ``_client``): one class, a ``TYPE`` tag,
an ``Attributes:`` section, constraints, and membership in :data:`ServerMessage`.

The replies here answer one request each and echo its ``rid``; the stream frames (the
high-volume tier, numbered by ``seq``) live in ``_stream`` and are members too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, TypeAlias

import attrs

from tilemud.errors import TilemudError
from tilemud.game import Mode, Outcome, PlacementResult
from tilemud.protocol._chat import ChatReply
from tilemud.protocol._fields import COORD, ID, KIND, REGION, RID, TICK, Number, Text
from tilemud.protocol._game_data import RulesSummary
from tilemud.protocol._guilds import GuildResult
from tilemud.protocol._moderation import ReportResult
from tilemud.protocol._parties import PartyDeclined, PartyInfo, PartyLeft
from tilemud.protocol._registry import tag_registry
from tilemud.protocol._stream_frames import StreamMessage
from tilemud.protocol._unchecked import unchecked

#: A snake_case code: error codes, reject reasons.
_CODE = Text(min_length=1, max_length=64, pattern="[a-z][a-z0-9_]*")


@attrs.frozen(kw_only=True)
class Welcome:
    """The answer to a good ``hello``: the session is open.

    Attributes:
        v: the protocol version of this connection (the ``hello``'s ``v``).
        player_id: the authenticated player (the token's subject).
        session_id: this session; stays the same when the session is resumed.
        resume_token: opaque; send it in the ``hello`` of a later connection to resume
            this session within ``resume_grace`` seconds of losing this one.
        resumed: true when this connection took over the player's existing session
            (connected elsewhere, or within its reconnect grace).
        server_time: the server's clock, Unix seconds, to estimate the clock offset.
        max_frame_bytes: the largest frame the server accepts; a larger one closes the
            connection with 1009.
        resume_grace: seconds a session outlives its connection, waiting to be resumed.
    """

    TYPE: ClassVar[str] = "welcome"

    v: int = attrs.field(validator=Number(minimum=1))
    player_id: str = attrs.field(validator=ID)
    session_id: str = attrs.field(validator=ID)
    resume_token: str = attrs.field(validator=Text(min_length=1, max_length=1024))
    resumed: bool
    server_time: float = attrs.field(validator=Number(minimum=0))
    max_frame_bytes: int = attrs.field(validator=Number(minimum=1))
    resume_grace: float = attrs.field(validator=Number(minimum=0))


@attrs.frozen(kw_only=True)
class Pong:
    """The answer to a ``ping``.

    Attributes:
        rid: the ``ping``'s request id.
        server_time: the server's clock when it answered, Unix seconds.
    """

    TYPE: ClassVar[str] = "pong"

    rid: str = attrs.field(validator=RID)
    server_time: float = attrs.field(validator=Number(minimum=0))


@attrs.frozen(kw_only=True)
class ErrorFrame:
    """Something went wrong with a request, a frame or the connection.

    Answers a request (then ``rid`` is its request id) or stands alone (a frame whose
    request id could not be read, a handshake failure). ``docs/protocol.md`` lists the
    codes; a client treats a code it does not know as a failed request.

    Attributes:
        code: what went wrong, a stable snake_case identifier.
        message: what went wrong, for people; never parse it.
        rid: the request id of the frame this answers, when it could be read.
        retry_after: seconds to wait before trying again, only where a retry makes sense.
        until: only on ``banned`` and ``muted``: when the sanction ends, in seconds since
            the Unix epoch; absent from a permanent ban.
    """

    TYPE: ClassVar[str] = "error"

    code: str = attrs.field(validator=_CODE)
    message: str = attrs.field(validator=Text())
    rid: str | None = attrs.field(default=None, validator=RID)
    retry_after: float | None = attrs.field(default=None, validator=Number(minimum=0))
    until: float | None = attrs.field(default=None, validator=Number(minimum=0))


@attrs.frozen(kw_only=True)
class Joined:
    """The answer to a good ``join``: the session holds a seat in ``arena_id``.

    The arena's stream follows, starting with a ``snapshot``.

    Attributes:
        rid: the ``join``'s request id.
        arena_id: the arena the seat is in; every stream frame of it names it.
        mode: the arena's mode, as asked.
        region: the arena's region, as asked.
        tick: the arena's current tick (its last resolved one) when the seat was taken.
        rules: the rules the arena runs under.
    """

    TYPE: ClassVar[str] = "joined"

    rid: str = attrs.field(validator=RID)
    arena_id: str = attrs.field(validator=ID)
    mode: Mode
    region: str = attrs.field(validator=REGION)
    tick: int = attrs.field(validator=TICK)
    rules: RulesSummary


@attrs.frozen(kw_only=True)
class Left:
    """The answer to a good ``leave``: the seat is given up; no frame of the arena follows.

    Attributes:
        rid: the ``leave``'s request id.
        arena_id: the arena left.
    """

    TYPE: ClassVar[str] = "left"

    rid: str = attrs.field(validator=RID)
    arena_id: str = attrs.field(validator=ID)


@attrs.frozen(kw_only=True)
class PlaceResult:
    """The answer to a ``place``: what became of it in the tick that resolved it.

    An accepted tile also appears in that tick's ``tick`` frame, for every player. An
    ``accepted`` answer is sent only once the placement is stored (it survives any crash
    of the server), so it may arrive after that ``tick`` frame; while the database is
    down it waits for the database to come back.

    Attributes:
        rid: the ``place``'s request id.
        arena_id: the arena.
        tick: the tick that resolved the placement.
        x: the ``place``'s column.
        y: the ``place``'s row.
        kind: the ``place``'s tile kind.
        outcome: ``accepted``; ``rejected`` (see ``reason``); or ``lost_conflict``: another
            placement on the same cell in the same tick won it (see ``winner``).
        reason: present exactly when ``outcome`` is ``rejected``: the first rule the
            placement broke, one of ``battle_over``, ``unknown_kind``, ``out_of_bounds``,
            ``cooldown``, ``occupied``, ``not_adjacent``, ``held_firmly`` (a capture too weak,
            since version 2); treat an unknown one as a rejection.
        winner: present exactly when ``outcome`` is ``lost_conflict``: the player who took
            the cell.
        captured: present when an ``accepted`` placement captured the cell: the player
            who held it before (since protocol version 2).
    """

    TYPE: ClassVar[str] = "place_result"

    rid: str = attrs.field(validator=RID)
    arena_id: str = attrs.field(validator=ID)
    tick: int = attrs.field(validator=TICK)
    x: int = attrs.field(validator=COORD)
    y: int = attrs.field(validator=COORD)
    kind: str = attrs.field(validator=KIND)
    outcome: Outcome
    reason: str | None = attrs.field(default=None, validator=_CODE)
    winner: str | None = attrs.field(default=None, validator=ID)
    captured: str | None = attrs.field(default=None, validator=ID)

    @classmethod
    def from_result(
        cls, result: PlacementResult, *, rid: str, arena_id: str, tick: int
    ) -> PlaceResult:
        """The answer to the ``place`` whose request id is ``rid``, from its game result.

        Built unchecked: every value comes from a strictly decoded ``place`` or the game.
        """
        placement = result.placement
        return unchecked(
            cls,
            rid=rid,
            arena_id=arena_id,
            tick=tick,
            x=placement.x,
            y=placement.y,
            kind=placement.kind,
            outcome=result.outcome,
            reason=result.reason,
            winner=result.winner,
            captured=result.captured,
        )


#: Every message a server may send, closed: the replies, then the stream frames.
ServerMessage: TypeAlias = (
    Welcome
    | Pong
    | ErrorFrame
    | Joined
    | Left
    | PlaceResult
    # social: guilds (tilemud/protocol/_guilds.py)
    | GuildResult
    # social: parties (tilemud/protocol/_parties.py)
    | PartyInfo
    | PartyLeft
    | PartyDeclined
    # social: chat, direct messages and blocks (tilemud/protocol/_chat.py)
    | ChatReply
    # moderation (tilemud/protocol/_moderation.py)
    | ReportResult
    | StreamMessage
)

#: ``type`` tag -> class, for every member of :data:`ServerMessage`.
SERVER_MESSAGES: Mapping[str, type[ServerMessage]] = tag_registry(ServerMessage)


def error_reply(
    exc: TilemudError, *, rid: str | None = None, retry_after: float | None = None
) -> ErrorFrame:
    """The ``error`` frame that answers a tilemud error.

    Args:
        exc: the error; its ``code`` and ``message`` go on the wire.
        rid: the request id to echo; defaults to the error's own ``rid`` when it has one
            (a :class:`~tilemud.errors.ProtocolError` from the decoder does).
        retry_after: seconds the client should wait, for codes where a retry makes sense.
    """
    if rid is None:
        rid = getattr(exc, "rid", None)
    return ErrorFrame(code=exc.code, message=exc.message, rid=rid, retry_after=retry_after)
