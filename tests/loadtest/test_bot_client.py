"""The bots' cheap ``tick`` decoding gives what the strict decoder gives, and refuses junk."""

from __future__ import annotations

import orjson
import pytest

from tilemud.errors import ProtocolError
from tilemud.loadtest._bot_client import decode_tick
from tilemud.protocol import decode_server

TICK = {
    "type": "tick",
    "seq": 3,
    "sent_at": 1767225600.825,
    "arena_id": "a_17",
    "tick": 48,
    "placed": [[2, 0, "p_7", "stone"], [3, 1, "p_8", "wood"]],
    "scores": [["p_7", 2], ["p_8", 1]],
    "captured": [[3, 4, "p_8"]],
}


def test_a_tick_decodes_as_the_strict_decoder_does() -> None:
    text = orjson.dumps(TICK).decode()
    assert decode_tick(text) == decode_server(text)


def test_an_integer_sent_at_is_a_number() -> None:
    text = orjson.dumps({**TICK, "sent_at": 1767225600}).decode()
    assert decode_tick(text) == decode_server(text)


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        orjson.dumps({**TICK, "extra": 1}).decode(),
        orjson.dumps({k: v for k, v in TICK.items() if k != "scores"}).decode(),
        orjson.dumps({**TICK, "seq": "3"}).decode(),
        orjson.dumps({**TICK, "seq": 3.0}).decode(),
        orjson.dumps({**TICK, "placed": [[1, 2, "p"]]}).decode(),
        orjson.dumps({**TICK, "scores": {"p_7": 2}}).decode(),
    ],
)
def test_a_frame_not_shaped_like_a_tick_is_refused(text: str) -> None:
    with pytest.raises(ProtocolError):
        decode_tick(text)
