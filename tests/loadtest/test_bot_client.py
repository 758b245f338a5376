"""The bots' cheap ``tick`` decoding gives what the strict decoder gives, and refuses junk."""

from __future__ import annotations

import re

import orjson
import pytest

from tilemud.errors import ProtocolError
from tilemud.loadtest._bot_client import TickMemo, decode_tick
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


def stamped(seq: int | str, body: dict[str, object] = TICK) -> str:
    """A tick frame as the server stamps it: ``seq`` spliced in right after ``type``."""
    rest = orjson.dumps({k: v for k, v in body.items() if k not in ("type", "seq")}).decode()
    return f'{{"type":"tick","seq":{seq},{rest[1:]}'


def test_the_memo_decodes_each_body_once_and_every_frame_as_the_strict_decoder() -> None:
    memo = TickMemo()
    other = {**TICK, "tick": 49, "placed": [[5, 5, "p_9", "stone"]]}
    frames = [stamped(1), stamped(2), stamped(907), stamped(3, other), stamped(4)]
    for text in frames:
        assert memo.decode(text) == decode_server(text)
    assert (memo.decoded, memo.reused) == (2, 3)


@pytest.mark.parametrize(
    "text",
    [
        stamped("03"),  # not how JSON writes 3: decoded in full, and refused
        stamped("3.0"),
        stamped('"3"'),
        stamped(-3),  # an int: decode_tick takes it (the strict decoder would not)
        stamped(3, {**TICK, "placed": [[1, 2, "p"]]}),
        stamped(3)[:-1],
        stamped(3).replace('"tick":48', '"tick":48,"seq":4'),  # a second seq: the last wins
    ],
)
def test_the_memo_answers_odd_frames_as_decode_tick_does(text: str) -> None:
    memo = TickMemo()
    memo.decode(stamped(3))  # the well-formed body is known
    try:
        expected = decode_tick(text)
    except ProtocolError as refused:
        with pytest.raises(ProtocolError, match=re.escape(str(refused))):
            memo.decode(text)
    else:
        assert memo.decode(text) == expected


def test_a_body_known_to_the_memo_is_not_trusted_for_a_different_one() -> None:
    memo = TickMemo()
    memo.decode(stamped(1))
    changed = stamped(2).replace('"p_8",1', '"p_8",2')
    assert changed != stamped(2)
    assert memo.decode(changed) == decode_server(changed)
    assert memo.decoded == 2
