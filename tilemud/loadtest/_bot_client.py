"""The bots' protocol client: :class:`~tilemud.player_client.PlayerClient`, cheaper on ``tick``.

In ``epic-300`` every bot receives every tick of its arena: 300 bots x 10 ticks/s is 3,000
``tick`` frames a second, each listing about 60 placements. The strict decoder
(``decode_server``: cattrs with every constraint checked) takes about 300 µs for such a
frame, so the bots alone would need a whole core for decoding and the client, not the
server, would be what the run measures. ``tick`` frames are therefore read with orjson
and checked for their shape only (their fields, and the kinds of values in them); every
other frame (``welcome``, ``joined``, ``place_result``, ``snapshot``, errors ...) goes
through the strict decoder as before. ``strict=True`` decodes ``tick`` strictly too.

The bots of one process all receive the same ``tick`` bodies, which differ only in their
``seq`` (the server stamps it into one shared body, right after ``type``). A
:class:`TickMemo` shared by a process's bots decodes each body once and gives every other
bot the same frame with its own seq: decoding was a third of a bot process's CPU (py-spy,
docs/performance.md, "The send path, third pass"), and a bot that reads late measures a
late broadcast.
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


#: How a server's ``tick`` frame begins: the seq's digits follow.
_STAMPED_TICK_PREFIX: Final = '{"type":"tick","seq":'
#: Bodies a memo remembers: a process's bots read the same few ticks at a time.
_MEMO_BODIES: Final = 8


class TickMemo:
    """Decodes ``tick`` frames, each body once for all the bots of a process.

    ``decode(text)`` equals ``decode_tick(text)`` for every ``text``, and raises what it
    raises: a frame that is not ``{"type":"tick","seq":<digits>,`` followed by a body
    without another ``"seq"`` is decoded in full (``decode_tick``); so is the first frame
    of each body. The body after the seq is the memo's key, so a frame whose body differs
    in a single byte is decoded (and checked) on its own.
    """

    __slots__ = ("_bodies", "decoded", "reused")

    def __init__(self) -> None:
        self._bodies: OrderedDict[str, ArenaTick] = OrderedDict()
        #: Frames decoded in full, and frames given a body decoded before (tests, reports).
        self.decoded = 0
        self.reused = 0

    def decode(self, text: str) -> ArenaTick:
        """The ``tick`` frame ``text``, its shape checked (see :func:`decode_tick`).

        Raises:
            ProtocolError: not valid JSON, or not shaped like a ``tick``.
        """
        if not text.startswith(_STAMPED_TICK_PREFIX):
            return self._decode(text, None)
        end = text.find(",", len(_STAMPED_TICK_PREFIX))
        digits = text[len(_STAMPED_TICK_PREFIX) : end]
        body = text[end:]
        if (
            end < 0
            or not (digits.isascii() and digits.isdigit())
            or (len(digits) > 1 and digits[0] == "0")
            or '"seq"' in body
        ):
            return self._decode(text, None)
        known = self._bodies.get(body)
        if known is None:
            return self._decode(text, body)
        self.reused += 1
        with attrs.validators.disabled():
            return attrs.evolve(known, seq=int(digits))

    def _decode(self, text: str, body: str | None) -> ArenaTick:
        frame = decode_tick(text)
        self.decoded += 1
        if body is not None:
            self._bodies[body] = frame
            if len(self._bodies) > _MEMO_BODIES:
                self._bodies.popitem(last=False)
        return frame


class LoadClient(PlayerClient):
    """A :class:`PlayerClient` whose ``tick`` frames are decoded cheaply (unless strict)."""

    def __init__(
        self,
        websocket: MessageSocket,
        *,
        on_frame: Callable[[ServerMessage], None] | None = None,
        strict: bool = False,
        ticks: TickMemo | None = None,
    ) -> None:
        super().__init__(websocket, auto_ack=False, on_frame=on_frame)
        self._strict = strict
        self._hook = on_frame
        self._ticks = TickMemo() if ticks is None else ticks

    async def _receive_one(self) -> ServerMessage:
        text = await self.websocket.get_message()
        if not self._strict and isinstance(text, str) and text.startswith(_TICK_PREFIX):
            frame: ServerMessage = self._ticks.decode(text)
        else:
            frame = decode_server(text)
        if self._hook is not None:
            self._hook(frame)
        return frame
