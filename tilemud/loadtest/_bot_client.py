"""The bots' protocol client: :class:`~tilemud.player_client.PlayerClient`, cheaper on ``tick``.

In ``epic-300`` every bot receives every tick of its arena: 300 bots x 10 ticks/s is 3,000
``tick`` frames a second, each listing about 60 placements. The strict decoder
(``decode_server``: cattrs with every constraint checked) takes about 300 µs for such a
frame, so the bots alone would need a whole core for decoding and the client, not the
server, would be what the run measures. ``tick`` frames are therefore read with orjson
and checked for their shape only (their fields, and the kinds of values in them); every
other frame (``welcome``, ``joined``, ``place_result``, ``snapshot``, errors ...) goes
through the strict decoder as before. ``strict=True`` decodes ``tick`` strictly too.

The bots of one process all receive the same stream bodies, which differ only in their
``seq`` (the server stamps it into one shared body, right after ``type``). A
:class:`StreamMemo` shared by a process's bots decodes each ``tick``, ``snapshot`` and
``player_joined`` body once and gives every other bot the same frame with its own seq:
decoding ticks was a third of a bot process's CPU (py-spy, docs/performance.md, "The send
path, third pass"), snapshots and joins a quarter in a join storm, and a bot that reads
late measures a late broadcast (or join).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

import attrs
import orjson

from tilemud.errors import ProtocolError
from tilemud.player_client import MessageSocket, PlayerClient
from tilemud.protocol import ArenaTick, ServerMessage, decode_server

#: Server frames put ``type`` first (docs/protocol.md, envelope).
_TICK_PREFIX: Final = '{"type":"tick"'
_TICK_FIELDS: Final = frozenset(
    {"type", "seq", "sent_at", "arena_id", "tick", "placed", "scores", "captured"}
)


def decode_tick(text: str) -> ArenaTick:
    """A ``tick`` frame, its shape checked but not every constraint.

    Raises:
        ProtocolError: not valid JSON, or not shaped like a ``tick``.
    """
    try:
        data: Any = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"malformed tick frame: {exc}", code="malformed_json") from exc
    if not isinstance(data, dict) or data.keys() != _TICK_FIELDS:
        raise ProtocolError("a tick frame without its exact fields", code="invalid_message")
    placed, scores, captured = data["placed"], data["scores"], data["captured"]
    if not (
        type(data["seq"]) is int
        and type(data["tick"]) is int
        and isinstance(data["sent_at"], int | float)
        and isinstance(data["arena_id"], str)
        and isinstance(placed, list)
        and isinstance(scores, list)
        and all(isinstance(p, list) and len(p) == 4 for p in placed)
        and all(isinstance(s, list) and len(s) == 2 for s in scores)
        and isinstance(captured, list)
        and all(isinstance(c, list) and len(c) == 3 for c in captured)
    ):
        raise ProtocolError("a tick frame of the wrong shape", code="invalid_message")
    # The checks above replace the per-field validators, which cost 15 times the rest.
    with attrs.validators.disabled():
        return ArenaTick(
            seq=data["seq"],
            sent_at=float(data["sent_at"]),
            arena_id=data["arena_id"],
            tick=data["tick"],
            placed=tuple((p[0], p[1], p[2], p[3]) for p in placed),
            scores=tuple((s[0], s[1]) for s in scores),
            captured=tuple((c[0], c[1], c[2]) for c in captured),
        )


#: Stream frames every bot of a process receives with the same body (their ``seq`` aside),
#: and how the first frame of each body is decoded: ``tick`` by its shape, the others
#: strictly. In a join storm every joiner of a batch gets the same ``snapshot`` and every
#: bot the same ``player_joined``: decoding them was a quarter of a bot process's CPU there.
_MEMOISED: Final[dict[str, Callable[[str], ServerMessage]]] = {
    "tick": decode_tick,
    "snapshot": decode_server,
    "player_joined": decode_server,
}
#: The largest ``seq`` the strict decoder takes (JSON's safe integers).
_MAX_SEQ: Final = 2**53 - 1
#: Bodies a memo remembers: a process's bots read the same few frames at a time.
_MEMO_BODIES: Final = 16


def _stamped_kind(text: str) -> tuple[str, int] | None:
    """The memoised kind of ``text`` and where its seq's digits start, if it is stamped so."""
    if not text.startswith('{"type":"'):
        return None
    end = text.find('"', 9)
    kind = text[9:end]
    if kind not in _MEMOISED or not text.startswith(',"seq":', end + 1):
        return None
    return kind, end + 8


class StreamMemo:
    """Decodes stream frames, each body once for all the bots of a process.

    ``decode(text)`` equals what the bots' decoder gives without the memo, and raises what
    it raises: ``decode_tick`` for a ``tick``, ``decode_server`` (strict) for anything
    else. A ``tick``, ``snapshot`` or ``player_joined`` stamped as the server stamps it
    (``{"type":...,"seq":<digits>,`` then a body without another ``"seq"``) whose body was
    decoded before is that frame with its own seq; anything else is decoded in full. The
    body after the seq is the memo's key, so a frame whose body differs in a single byte is
    decoded (and checked) on its own.
    """

    __slots__ = ("_bodies", "decoded", "reused")

    def __init__(self) -> None:
        self._bodies: OrderedDict[str, ServerMessage] = OrderedDict()
        #: Frames decoded in full, and frames given a body decoded before (tests, reports).
        self.decoded = 0
        self.reused = 0

    def decode(self, text: str) -> ServerMessage:
        """The frame ``text``, decoded as the bots' decoder would.

        Raises:
            ProtocolError: not valid JSON, or not a valid frame (a ``tick``: not shaped
                like one).
        """
        stamped = _stamped_kind(text)
        if stamped is None:
            return self._decode(text, None)
        kind, start = stamped
        end = text.find(",", start)
        digits = text[start:end]
        key = text[:start] + text[end:]
        if (
            end < 0
            or not (digits.isascii() and digits.isdigit())
            or (len(digits) > 1 and digits[0] == "0")
            or '"seq"' in text[end:]
        ):
            return self._decode(text, None)
        seq = int(digits)
        known = self._bodies.get(key)
        if known is None or (kind != "tick" and not 1 <= seq <= _MAX_SEQ):
            # Out of the strict decoder's range: it says what is wrong.
            return self._decode(text, key)
        self.reused += 1
        with attrs.validators.disabled():
            return attrs.evolve(known, seq=seq)  # type: ignore[arg-type]

    def _decode(self, text: str, key: str | None) -> ServerMessage:
        frame = decode_tick(text) if text.startswith(_TICK_PREFIX) else decode_server(text)
        self.decoded += 1
        if key is not None:
            self._bodies[key] = frame
            if len(self._bodies) > _MEMO_BODIES:
                self._bodies.popitem(last=False)
        return frame


class LoadClient(PlayerClient):
    """A :class:`PlayerClient` whose stream frames are decoded cheaply (unless strict)."""

    def __init__(
        self,
        websocket: MessageSocket,
        *,
        on_frame: Callable[[ServerMessage], None] | None = None,
        strict: bool = False,
        memo: StreamMemo | None = None,
    ) -> None:
        super().__init__(websocket, auto_ack=False, on_frame=on_frame)
        self._strict = strict
        self._hook = on_frame
        self._memo = StreamMemo() if memo is None else memo

    async def _receive_one(self) -> ServerMessage:
        text = await self.websocket.get_message()
        if not self._strict and isinstance(text, str):
            frame: ServerMessage = self._memo.decode(text)
        else:
            frame = decode_server(text)
        if self._hook is not None:
            self._hook(frame)
        return frame
