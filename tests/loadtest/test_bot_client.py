"""The bots' cheap stream decoding gives what the strict decoder gives, and refuses junk."""

from __future__ import annotations

import re

import orjson
import pytest

from tests.protocol.protocol_support import SERVER_EXAMPLES
from tilemud.errors import ProtocolError
from tilemud.loadtest._bot_client import StreamMemo, decode_tick
from tilemud.protocol import decode_server, encode_server

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
    memo = StreamMemo()
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
    memo = StreamMemo()
    memo.decode(stamped(3))  # the well-formed body is known
    try:
        expected = decode_tick(text)
    except ProtocolError as refused:
        with pytest.raises(ProtocolError, match=re.escape(str(refused))):
            memo.decode(text)
    else:
        assert memo.decode(text) == expected


def test_a_body_known_to_the_memo_is_not_trusted_for_a_different_one() -> None:
    memo = StreamMemo()
    memo.decode(stamped(1))
    changed = stamped(2).replace('"p_8",1', '"p_8",2')
    assert changed != stamped(2)
    assert memo.decode(changed) == decode_server(changed)
    assert memo.decoded == 2


@pytest.mark.parametrize("kind", ["snapshot", "player_joined"])
def test_the_memo_decodes_joins_and_snapshots_once_and_as_the_strict_decoder(kind: str) -> None:
    memo = StreamMemo()
    text = encode_server(SERVER_EXAMPLES[kind])
    seq = f'"seq":{SERVER_EXAMPLES[kind].seq},'  # type: ignore[union-attr]
    assert seq in text
    frames = [text.replace(seq, f'"seq":{n},') for n in (1, 2, 31, 2**53 - 1)]
    changed = frames[0].replace('"battle-7"', '"battle-8"')
    for frame in [*frames, changed, frames[1]]:
        assert memo.decode(frame) == decode_server(frame)
    assert (memo.decoded, memo.reused) == (2, 4)


@pytest.mark.parametrize("kind", ["snapshot", "player_joined"])
@pytest.mark.parametrize("seq", ["0", "03", "-1", "1.0", '"1"', "1e3", str(2**53)])
def test_the_memo_refuses_a_strict_frames_bad_seq_as_the_strict_decoder(
    kind: str, seq: str
) -> None:
    memo = StreamMemo()
    text = encode_server(SERVER_EXAMPLES[kind])
    own = f'"seq":{SERVER_EXAMPLES[kind].seq},'  # type: ignore[union-attr]
    memo.decode(text)  # the body is known
    odd = text.replace(own, f'"seq":{seq},')
    with pytest.raises(ProtocolError):
        decode_server(odd)
    with pytest.raises(ProtocolError):
        memo.decode(odd)


@pytest.mark.parametrize("kind", ["welcome", "place_result", "player_left", "error"])
def test_other_frames_are_decoded_strictly_every_time(kind: str) -> None:
    if kind not in SERVER_EXAMPLES:
        pytest.skip(f"no {kind} example")
    memo = StreamMemo()
    text = encode_server(SERVER_EXAMPLES[kind])
    assert memo.decode(text) == decode_server(text)
    assert memo.decode(text) == decode_server(text)
    assert (memo.decoded, memo.reused) == (2, 0)
