"""Stream frames: the unstamped body, stamping, and the wire rules of ``seq``."""

from __future__ import annotations

from typing import Any, get_args

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol.protocol_support import SERVER_EXAMPLES, from_schema
from tilemud.errors import ProtocolError
from tilemud.protocol import (
    SERVER_MESSAGES,
    STREAM_MESSAGES,
    UNSTAMPED,
    ArenaSnapshot,
    ArenaTick,
    BattleEnded,
    ErrorCode,
    PlayerJoined,
    PlayerLeft,
    Pong,
    ServerMessage,
    StreamMessage,
    decode_server,
    encode_server,
    encode_stream_body,
    generate_schemas,
    stamp,
)

SCHEMAS = generate_schemas()
ARENA_CLASSES = (ArenaSnapshot, ArenaTick, PlayerJoined, PlayerLeft, BattleEnded)
#: The arena's frames first, then the social ones (guilds, parties, chat: docs/social.md).
STREAM_CLASSES = tuple(STREAM_MESSAGES.values())
STREAM_EXAMPLES: dict[str, StreamMessage] = {
    tag: message for tag, message in SERVER_EXAMPLES.items() if isinstance(message, STREAM_CLASSES)
}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_SAFE = 2**53 - 1


def _unstamped(message: StreamMessage) -> StreamMessage:
    return attrs.evolve(message, seq=UNSTAMPED)


def test_stream_messages_are_the_stream_union_and_server_messages() -> None:
    assert get_args(StreamMessage) == STREAM_CLASSES
    assert STREAM_CLASSES[: len(ARENA_CLASSES)] == ARENA_CLASSES
    assert set(STREAM_MESSAGES) >= {
        "snapshot",
        "tick",
        "player_joined",
        "player_left",
        "battle_ended",
        "party_event",
    }
    for tag, cls in STREAM_MESSAGES.items():
        assert SERVER_MESSAGES[tag] is cls
    assert set(STREAM_EXAMPLES) == set(STREAM_MESSAGES)


@pytest.mark.parametrize("cls", STREAM_MESSAGES.values(), ids=STREAM_MESSAGES.keys())
def test_every_stream_frame_starts_with_seq_sent_at_arena_id(cls: type[Any]) -> None:
    names = [field.name for field in attrs.fields(cls)]
    # seq first: that makes the stamped body byte-identical to `encode_server`'s frame.
    assert names[:2] == ["seq", "sent_at"]
    if cls in ARENA_CLASSES:  # social frames name their party, guild or channel instead
        assert names[2] == "arena_id"
    schema = SCHEMAS[f"server/{cls.TYPE}.json"]
    assert schema["properties"]["seq"]["minimum"] == 1
    assert "seq" in schema["required"]


@pytest.mark.parametrize("message", STREAM_EXAMPLES.values(), ids=STREAM_EXAMPLES.keys())
def test_body_has_no_seq_and_stamping_restores_it(message: StreamMessage) -> None:
    body = encode_stream_body(_unstamped(message))
    assert body == encode_stream_body(message), "the message's own seq is ignored"
    assert body.startswith(f'{{"type":"{message.TYPE}",')
    assert "seq" not in orjson.loads(body)
    frame = stamp(body, message.seq)
    assert frame == encode_server(message), "byte for byte the frame encode_server writes"
    assert frame.startswith(f'{{"type":"{message.TYPE}","seq":{message.seq},')
    assert decode_server(frame) == message


def test_the_brief_example() -> None:
    tick = SERVER_EXAMPLES["tick"]
    assert isinstance(tick, ArenaTick)
    body = encode_stream_body(_unstamped(tick))
    assert decode_server(stamp(body, 5)) == attrs.evolve(tick, seq=5)
    assert stamp(body, 1) != stamp(body, 2)
    assert stamp(body, MAX_SAFE).count('"seq":') == 1


@pytest.mark.parametrize("seq", [0, -1, MAX_SAFE + 1, True, 1.0, "1", None])
def test_stamp_refuses_a_bad_seq(seq: Any) -> None:
    body = encode_stream_body(_unstamped(SERVER_EXAMPLES["tick"]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stream seq"):
        stamp(body, seq)


@pytest.mark.parametrize("message", STREAM_EXAMPLES.values(), ids=STREAM_EXAMPLES.keys())
def test_encode_server_refuses_an_unstamped_frame(message: StreamMessage) -> None:
    with pytest.raises(ValueError, match="unstamped"):
        encode_server(_unstamped(message))


def test_encode_stream_body_takes_stream_frames_only() -> None:
    with pytest.raises(TypeError, match="not a message of this direction"):
        encode_stream_body(Pong(rid="r", server_time=1.0))  # type: ignore[arg-type]


def test_unstamped_is_only_an_in_memory_value() -> None:
    tick = SERVER_EXAMPLES["tick"]
    assert isinstance(tick, ArenaTick)
    assert _unstamped(tick).seq == UNSTAMPED == 0
    bad_values: list[Any] = [-1, True, 1.5, None]
    for bad in bad_values:
        with pytest.raises(ValueError, match="seq"):
            attrs.evolve(tick, seq=bad)
    payload = orjson.loads(encode_server(tick))
    for frame, words in [
        ({**payload, "seq": 0}, "seq: must be >= 1, got 0"),
        ({k: v for k, v in payload.items() if k != "seq"}, "seq: missing required field"),
        ({**payload, "seq": True}, "seq: expected an integer, got boolean true"),
        ({**payload, "seq": 1.0}, "seq: expected an integer, got number 1.0"),
    ]:
        with pytest.raises(ProtocolError) as info:
            decode_server(orjson.dumps(frame))
        assert info.value.code == ErrorCode.INVALID_MESSAGE
        assert words in info.value.message


def test_a_frame_missing_seq_and_more_reports_both() -> None:
    payload = orjson.loads(encode_server(SERVER_EXAMPLES["player_joined"]))
    del payload["seq"], payload["players"]
    with pytest.raises(ProtocolError) as info:
        decode_server(orjson.dumps(payload))
    assert "seq: missing required field" in info.value.message
    assert "players: missing required field" in info.value.message


def _stream_payloads() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(sorted(STREAM_MESSAGES)).flatmap(
        lambda tag: from_schema(SCHEMAS[f"server/{tag}.json"])
    )


@FUZZ
@given(_stream_payloads(), st.integers(1, MAX_SAFE))
def test_stamping_any_valid_frame_round_trips(payload: dict[str, Any], seq: int) -> None:
    message: ServerMessage = decode_server(orjson.dumps(payload))
    assert isinstance(message, STREAM_CLASSES)
    body = encode_stream_body(_unstamped(message))
    frame = stamp(body, seq)
    assert decode_server(frame) == attrs.evolve(message, seq=seq)
    assert frame == encode_server(attrs.evolve(message, seq=seq))
    assert orjson.loads(frame) == {**orjson.loads(body), "seq": seq}
