"""The wire codec: JSON text frames <-> message objects, strictly.

Decoding a frame ends in exactly one of two ways: a message object, or a
:class:`~tilemud.errors.ProtocolError` whose ``code`` is one of :class:`ErrorCode`'s and
whose ``rid`` is the frame's request id when it could be read. Any other exception is a bug.

Outcomes, in the order they are checked:

==========================================  ===================
the frame                                   ``code``
==========================================  ===================
not JSON (or bytes that are not UTF-8)      ``malformed_json``
JSON, but not an object                     ``not_an_object``
no ``type``, or a ``type`` that is no str   ``missing_type``
a ``type`` this direction does not have     ``unknown_type``
a field missing, unknown, wrongly typed     ``invalid_message``
or out of its constraints
==========================================  ===================

Encoding writes the ``type`` tag first, then the fields in class order; an optional field
(one that defaults to None) is omitted while it is None. Decoding accepts it absent or
``null``.

Stream frames (the high-volume tier) have a second path, made for broadcast: the arena
builds one frame per event with ``seq=UNSTAMPED``, :func:`encode_stream_body` encodes it
once without ``seq``, and each session's writer calls :func:`stamp` to splice its own
``seq`` in, right after the ``type`` tag: a string splice, no JSON re-encoding. Since
``seq`` is every stream frame's first field, ``stamp(encode_stream_body(m), n)`` is the
very text ``encode_server(attrs.evolve(m, seq=n))`` writes. :func:`encode_server` refuses a
stream frame that is still unstamped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

import attrs
import orjson
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from tilemud.errors import ProtocolError
from tilemud.protocol._client_messages import CLIENT_MESSAGES, Ack, ClientMessage, Hello, Place
from tilemud.protocol._converter import make_wire_converter
from tilemud.protocol._error_codes import ErrorCode, close_code_for
from tilemud.protocol._fields import (
    MAX_COORD,
    MAX_KIND_LENGTH,
    MAX_RID_LENGTH,
    MAX_SAFE_INTEGER,
    RID,
    UNSTAMPED,
    ConstraintError,
    json_kind,
)
from tilemud.protocol._game_data import BoardSnapshot
from tilemud.protocol._server_messages import SERVER_MESSAGES, ServerMessage
from tilemud.protocol._stream_frames import STREAM_MESSAGES, ArenaSnapshot, StreamMessage
from tilemud.protocol._unchecked import unchecked
from tilemud.protocol._versions import SUPPORTED_VERSIONS

# Built completely at import and never reconfigured: a constant, though cattrs caches the
# hooks it generates inside it on first use.
_CONVERTER = make_wire_converter()

# Error messages echo parts of the frame back; keep them short whatever the client sent.
_MAX_PROBLEMS = 5
_MAX_NAME = 40


def decode_client(frame: str | bytes) -> ClientMessage:
    """Decode one client frame.

    Args:
        frame: the payload of a text frame, as ``str`` or as its UTF-8 ``bytes``. A
            *binary* WebSocket frame is not decoded at all: answer it with
            :func:`binary_frame_error` (trio-websocket hands binary frames over as
            ``bytes`` too, so check the frame kind before calling this).

    Returns:
        The message.

    Raises:
        ProtocolError: the frame is not a valid client message; ``code`` says why, ``rid``
            echoes the frame's request id when it had a valid one, ``close_code`` is None.
    """
    obj = _parse_object(frame)
    common = _common_client_message(obj)
    if common is not None:
        return common
    message: ClientMessage = _structure(obj, CLIENT_MESSAGES, _rid_of(obj))
    return message


def decode_common_client(frame: str | bytes) -> ClientMessage | None:
    """The frame as :func:`decode_client` would decode it when it is one of the frames
    players send most (``place``, ``ack``) in its plain form; None for anything else,
    including a broken frame (:func:`decode_client` then says what is wrong)."""
    # _parse_object's steps without its error (built only to be thrown away here).
    try:
        obj = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    return _common_client_message(obj) if type(obj) is dict else None


def _common_client_message(obj: dict[str, Any]) -> ClientMessage | None:
    """The fast path for the frames players send most (``place``, ``ack``), or None.

    Only a frame with exactly the message's fields, each of the exact JSON type and within
    its bounds, is taken here; anything else (an extra key, a float, a bool, a bound
    broken) goes to the strict decoder, which stays the judge of what is wrong with it.
    """
    tag = obj.get("type")
    if tag == "place" and len(obj) == 5:
        rid, x, y, kind = obj.get("rid"), obj.get("x"), obj.get("y"), obj.get("kind")
        if (
            type(rid) is str
            and 1 <= len(rid) <= MAX_RID_LENGTH
            and type(x) is int
            and 0 <= x <= MAX_COORD
            and type(y) is int
            and 0 <= y <= MAX_COORD
            and type(kind) is str
            and 1 <= len(kind) <= MAX_KIND_LENGTH
        ):
            # Every bound of Place's validators was checked just above.
            return unchecked(Place, rid=rid, x=x, y=y, kind=kind)
    elif tag == "ack" and len(obj) == 2:
        seq = obj.get("seq")
        if type(seq) is int and 0 <= seq <= MAX_SAFE_INTEGER:
            return unchecked(Ack, seq=seq)
    return None


def decode_server(frame: str | bytes) -> ServerMessage:
    """Decode one server frame (for tests and the load tester); strict like the server.

    Raises:
        ProtocolError: the frame is not a valid server message of this version.
    """
    message: ServerMessage = _decode(frame, SERVER_MESSAGES)
    return message


def decode_hello(frame: str | bytes) -> Hello:
    """Decode the first frame of a connection, which must be a ``hello``.

    The version is checked before the rest of the frame: a client of another version gets
    ``unsupported_version`` even when its ``hello`` has fields this version does not know.

    Raises:
        ProtocolError: the frame is no acceptable ``hello``; ``close_code`` is the close
            that must follow the error frame (4003 for the version, else 4000).
    """
    try:
        obj = _parse_object(frame)
        rid = _rid_of(obj)
        version = obj.get("v")
        if (
            obj.get("type") == Hello.TYPE
            and type(version) is int
            and version >= 1
            and version not in SUPPORTED_VERSIONS
        ):
            supported = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
            raise ProtocolError(
                f"protocol version {version} is not supported; this server speaks {supported}",
                code=ErrorCode.UNSUPPORTED_VERSION,
                rid=rid,
            )
        message = _structure(obj, CLIENT_MESSAGES, rid)
        if not isinstance(message, Hello):
            raise ProtocolError(
                f"the first frame must be a 'hello', got {message.TYPE!r}",
                code=ErrorCode.HELLO_REQUIRED,
                rid=rid,
            )
    except ProtocolError as exc:
        exc.close_code = close_code_for(exc.code, before_welcome=True)
        raise
    return message


def encode_server(message: ServerMessage) -> str:
    """Encode a server message as the text of one frame.

    Raises:
        TypeError: ``message`` is no server message.
        ValueError: ``message`` is a stream frame whose ``seq`` is still ``UNSTAMPED``
            (broadcast goes through :func:`encode_stream_body` and :func:`stamp`).
    """
    if isinstance(message, _STREAM_CLASSES) and message.seq == UNSTAMPED:
        raise ValueError(
            f"a {message.TYPE!r} frame with seq={UNSTAMPED} is unstamped: encode it with "
            "encode_stream_body() and give each session its seq with stamp()"
        )
    return _encode(message, SERVER_MESSAGES).decode()


def encode_stream_body(message: StreamMessage) -> str:
    """Encode a stream frame without its ``seq``: the text every subscriber's frame shares.

    The message's own ``seq`` is ignored (build it with ``seq=UNSTAMPED``). The result is
    not a valid frame by itself; :func:`stamp` makes one per session.

    Raises:
        TypeError: ``message`` is not a stream frame.
    """
    payload = _payload(message, STREAM_MESSAGES)
    del payload["seq"]
    return orjson.dumps(payload).decode()


class EncodedBoard:
    """A board snapshot and its JSON, encoded once for every ``snapshot`` frame carrying it.

    An arena sends a snapshot to each joiner, each with the same board but its own list of
    players: encoding the board's ~100,000 runs again for each (~1 ms for a half-full
    256x256 board) was most of a join's cost on the arena's tick. The JSON is an
    ``orjson.Fragment``, copied as is into each frame by :func:`encode_snapshot_body`.
    """

    __slots__ = ("json", "snapshot")

    def __init__(self, snapshot: BoardSnapshot) -> None:
        self.snapshot = snapshot
        self.json = orjson.Fragment(
            orjson.dumps(_CONVERTER.unstructure(snapshot, unstructure_as=BoardSnapshot))
        )


#: Stands in for the board while the rest of a snapshot is unstructured.
_NO_BOARD: Final = BoardSnapshot(format=1, width=1, height=1, palette=(), runs=(1, 0))


def encode_snapshot_body(snapshot: ArenaSnapshot, board: EncodedBoard) -> str:
    """``encode_stream_body(snapshot)``, the board's JSON taken from ``board``.

    Raises:
        ValueError: ``board`` is not the encoding of ``snapshot.board`` (the same object).
    """
    if snapshot.board is not board.snapshot:
        raise ValueError("the encoded board is not the snapshot's board")
    fields = {field.name: getattr(snapshot, field.name) for field in attrs.fields(ArenaSnapshot)}
    fields["board"] = _NO_BOARD
    payload = _payload(unchecked(ArenaSnapshot, **fields), STREAM_MESSAGES)
    del payload["seq"]
    payload["board"] = board.json  # in the board's place: the keys keep their order
    return orjson.dumps(payload).decode()


def stamp(body: str, seq: int) -> str:
    """The frame of one session: ``body`` with ``"seq":<seq>`` spliced in after ``type``.

    The hot path of broadcast, once per subscriber per frame: no JSON is parsed or encoded.
    ``decode_server(stamp(encode_stream_body(m), n)) == attrs.evolve(m, seq=n)``.

    Args:
        body: the text :func:`encode_stream_body` returned (anything else gives a bad frame).
        seq: the session's number for this frame, 1 or more.

    Raises:
        ValueError: ``seq`` is not an integer from 1 to 2**53 - 1.
    """
    if type(seq) is not int or not 1 <= seq <= MAX_SAFE_INTEGER:
        raise ValueError(f"a stream seq is an integer from 1 to 2**53 - 1, got {seq!r}")
    # The body starts `{"type":"<tag>",` and a tag is snake_case: the first comma ends it.
    cut = body.index(",") + 1
    return f'{body[:cut]}"seq":{seq},{body[cut:]}'


def encode_client(message: ClientMessage) -> str:
    """Encode a client message as the text of one frame (for tests and the load tester)."""
    return _encode(message, CLIENT_MESSAGES).decode()


def binary_frame_error() -> ProtocolError:
    """The error that answers a binary frame; the connection stays open after ``welcome``."""
    return ProtocolError(
        "binary frames are not supported; send JSON in text frames",
        code=ErrorCode.BINARY_NOT_SUPPORTED,
    )


_STREAM_CLASSES = tuple(STREAM_MESSAGES.values())


def _encode(message: Any, registry: Mapping[str, type[Any]]) -> bytes:
    return orjson.dumps(_payload(message, registry))


def _payload(message: Any, registry: Mapping[str, type[Any]]) -> dict[str, Any]:
    cls = type(message)
    tag = getattr(cls, "TYPE", None)
    if not isinstance(tag, str) or registry.get(tag) is not cls:
        raise TypeError(f"{cls.__name__} is not a message of this direction")
    payload: dict[str, Any] = {"type": tag}
    payload.update(_CONVERTER.unstructure(message, unstructure_as=cls))
    return payload


def _decode(frame: str | bytes, registry: Mapping[str, type[Any]]) -> Any:
    obj = _parse_object(frame)
    return _structure(obj, registry, _rid_of(obj))


def _parse_object(frame: str | bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(frame)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(
            f"frame is not valid JSON (RFC 8259, UTF-8): {exc}", code=ErrorCode.MALFORMED_JSON
        ) from None
    if not isinstance(value, dict):
        raise ProtocolError(
            f"frame must be a JSON object, got {json_kind(value).split(' ')[0]}",
            code=ErrorCode.NOT_AN_OBJECT,
        )
    return value


def _rid_of(obj: Mapping[str, Any]) -> str | None:
    rid = obj.get("rid")
    return rid if RID.accepts(rid) else None


def _structure(obj: dict[str, Any], registry: Mapping[str, type[Any]], rid: str | None) -> Any:
    if "type" not in obj:
        raise ProtocolError("frame has no 'type' field", code=ErrorCode.MISSING_TYPE, rid=rid)
    tag = obj.pop("type")
    if not isinstance(tag, str):
        raise ProtocolError(
            f"'type' must be a string, got {json_kind(tag)}", code=ErrorCode.MISSING_TYPE, rid=rid
        )
    cls = registry.get(tag)
    if cls is None:
        known = ", ".join(sorted(registry))
        raise ProtocolError(
            f"unknown message type {_name(tag)}; expected one of: {known}",
            code=ErrorCode.UNKNOWN_TYPE,
            rid=rid,
        )
    try:
        return _CONVERTER.structure(obj, cls)
    except BaseValidationError as exc:
        problems = list(_problems(exc, ""))
        if len(problems) > _MAX_PROBLEMS:
            problems[_MAX_PROBLEMS:] = [f"and {len(problems) - _MAX_PROBLEMS} more"]
        raise ProtocolError(
            f"invalid {tag!r} message: {'; '.join(problems)}",
            code=ErrorCode.INVALID_MESSAGE,
            rid=rid,
        ) from None


def _problems(exc: BaseException, path: str) -> Iterator[str]:
    """Each problem in a cattrs error tree, as ``field.path: what is wrong``."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from _problems(sub, _join(path, note.name))
        for sub in without:
            yield from _problems(sub, path)
    elif isinstance(exc, IterableValidationError):
        with_notes_i, without = exc.group_exceptions()
        for sub, inote in with_notes_i:
            yield from _problems(sub, f"{path}[{inote.index}]")
        for sub in without:
            yield from _problems(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        names = sorted(exc.extra_fields)
        shown = ", ".join(_name(name) for name in names[:_MAX_PROBLEMS])
        more = f" and {len(names) - _MAX_PROBLEMS} more" if len(names) > _MAX_PROBLEMS else ""
        noun = "field" if len(names) == 1 else "fields"
        yield _at(path, f"unknown {noun} {shown}{more}")
    elif isinstance(exc, KeyError):
        yield _at(path, "missing required field")
    elif isinstance(exc, ConstraintError):
        yield _at(_join(path, exc.field), exc.problem)
    else:
        yield _at(path, str(exc))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _at(path: str, problem: str) -> str:
    return f"{path}: {problem}" if path else problem


def _name(text: str) -> str:
    shown = text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 3] + "..."
    return repr(shown)
