"""The bots' protocol client: :class:`~tilemud.player_client.PlayerClient`, cheaper on ``tick``.

In ``epic-300`` every bot receives every tick of its arena: 300 bots x 10 ticks/s is 3,000
``tick`` frames a second, each listing about 60 placements. The strict decoder
(``decode_server``: cattrs with every constraint checked) takes about 300 µs for such a
frame, so the bots alone would need a whole core for decoding and the client, not the
server, would be what the run measures. ``tick`` frames are therefore read with orjson
and checked for their shape only (their fields, and the kinds of values in them); every
other frame (``welcome``, ``joined``, ``place_result``, ``snapshot``, errors ...) goes
through the strict decoder as before. ``strict=True`` decodes ``tick`` strictly too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs
import orjson
from trio_websocket import WebSocketConnection

from tilemud.errors import ProtocolError
from tilemud.player_client import PlayerClient
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


class LoadClient(PlayerClient):
    """A :class:`PlayerClient` whose ``tick`` frames are decoded cheaply (unless strict)."""

    def __init__(
        self,
        websocket: WebSocketConnection,
        *,
        on_frame: Callable[[ServerMessage], None] | None = None,
        strict: bool = False,
    ) -> None:
        super().__init__(websocket, auto_ack=False, on_frame=on_frame)
        self._strict = strict
        self._hook = on_frame

    async def _receive_one(self) -> ServerMessage:
        text = await self.websocket.get_message()
        if not self._strict and isinstance(text, str) and text.startswith(_TICK_PREFIX):
            frame: ServerMessage = decode_tick(text)
        else:
            frame = decode_server(text)
        if self._hook is not None:
            self._hook(frame)
        return frame
