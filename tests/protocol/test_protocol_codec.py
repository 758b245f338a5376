"""The codec: round trips, the encoded form, every decode outcome, the handshake helpers."""

from __future__ import annotations

import attrs
import orjson
import pytest

from tests.protocol.protocol_support import CLIENT_EXAMPLES, SERVER_EXAMPLES
from tilemud.errors import ActorGone, AuthError, MailboxFull, ProtocolError, TilemudError
from tilemud.protocol import (
    CLOSE_CODES,
    ERROR_CODES,
    MAX_COORD,
    MAX_RID_LENGTH,
    SUPPORTED_VERSIONS,
    Ack,
    ClientMessage,
    CloseCode,
    ErrorCode,
    ErrorFrame,
    Hello,
    Join,
    Leave,
    Ping,
    Place,
    Pong,
    ServerMessage,
    Welcome,
    binary_frame_error,
    close_code_for,
    decode_client,
    decode_hello,
    decode_server,
    encode_client,
    encode_server,
    error_reply,
)


@pytest.mark.parametrize("message", CLIENT_EXAMPLES.values(), ids=CLIENT_EXAMPLES.keys())
def test_client_messages_round_trip(message: ClientMessage) -> None:
    frame = encode_client(message)
    assert decode_client(frame) == message
    assert decode_client(frame.encode()) == message
    assert orjson.loads(frame)["type"] == message.TYPE


@pytest.mark.parametrize("message", SERVER_EXAMPLES.values(), ids=SERVER_EXAMPLES.keys())
def test_server_messages_round_trip(message: ServerMessage) -> None:
    frame = encode_server(message)
    assert decode_server(frame) == message
    assert orjson.loads(frame)["type"] == message.TYPE


def test_type_tag_comes_first() -> None:
    assert encode_client(Ping(rid="a")) == '{"type":"ping","rid":"a"}'
    assert encode_server(Pong(rid="a", server_time=1.5)).startswith('{"type":"pong",')


def test_none_optional_fields_are_omitted_and_absence_decodes() -> None:
    frame = encode_server(ErrorFrame(code="internal", message="boom"))
    assert orjson.loads(frame) == {"type": "error", "code": "internal", "message": "boom"}
    assert decode_server(frame) == ErrorFrame(code="internal", message="boom")
    assert encode_client(Hello(v=2, token="t")) == '{"type":"hello","v":2,"token":"t"}'


def test_explicit_null_reads_as_absent() -> None:
    frame = '{"type":"hello","v":2,"token":"t","resume_token":null}'
    assert decode_client(frame) == Hello(v=2, token="t")


def test_float_fields_accept_integers_and_are_written_as_floats() -> None:
    pong = decode_server('{"type":"pong","rid":"a","server_time":12}')
    assert pong == Pong(rid="a", server_time=12.0)
    assert isinstance(pong, Pong)
    assert type(pong.server_time) is float
    assert '"server_time":12.0' in encode_server(Pong(rid="a", server_time=12))


def test_encoding_the_wrong_direction_is_refused() -> None:
    with pytest.raises(TypeError, match="not a message of this direction"):
        encode_server(Ping(rid="a"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a message of this direction"):
        encode_client(Pong(rid="a", server_time=1.0))  # type: ignore[arg-type]


def test_a_client_frame_is_not_a_server_message() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_server(encode_client(Ping(rid="r")))
    assert info.value.code == ErrorCode.UNKNOWN_TYPE
    assert info.value.rid == "r"


def _decode_error(frame: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode_client(frame)
    assert info.value.close_code is None, "decode errors never close the connection"
    return info.value


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("", ErrorCode.MALFORMED_JSON),
        ("{", ErrorCode.MALFORMED_JSON),
        ('{"type": "ping", "rid": "a",}', ErrorCode.MALFORMED_JSON),
        ("NaN", ErrorCode.MALFORMED_JSON),
        ('{"type":"ping","rid":"\\ud800"}', ErrorCode.MALFORMED_JSON),
        (b"\xff\xfe{}", ErrorCode.MALFORMED_JSON),
        (b'{"type":"ping","rid":"\xc3"}', ErrorCode.MALFORMED_JSON),
        ("[]", ErrorCode.NOT_AN_OBJECT),
        ('[{"type":"ping","rid":"a"}]', ErrorCode.NOT_AN_OBJECT),
        ("7", ErrorCode.NOT_AN_OBJECT),
        ('"ping"', ErrorCode.NOT_AN_OBJECT),
        ("null", ErrorCode.NOT_AN_OBJECT),
        ("{}", ErrorCode.MISSING_TYPE),
        ('{"type": null}', ErrorCode.MISSING_TYPE),
        ('{"type": 1}', ErrorCode.MISSING_TYPE),
        ('{"type": ["ping"]}', ErrorCode.MISSING_TYPE),
        ('{"type": "pong", "rid": "a", "server_time": 1}', ErrorCode.UNKNOWN_TYPE),
        ('{"type": "PING", "rid": "a"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type": "", "rid": "a"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type": "ping"}', ErrorCode.INVALID_MESSAGE),
        ('{"type": "ping", "rid": "a", "extra": 1}', ErrorCode.INVALID_MESSAGE),
    ],
)
def test_decode_outcomes(frame: str | bytes, code: ErrorCode) -> None:
    assert _decode_error(frame).code == code


def test_utf8_bytes_decode_like_text() -> None:
    assert decode_client('{"type":"ping","rid":"é✓"}'.encode()) == Ping(rid="é✓")


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        ('{"type":"ping"}', "rid: missing required field"),
        ('{"type":"ping","rid":7}', "rid: expected a string, got integer 7"),
        ('{"type":"ping","rid":""}', "rid: must not be empty"),
        ('{"type":"ping","rid":"a","zz":1,"yy":2}', "unknown fields 'yy', 'zz'"),
        ('{"type":"hello","v":"1","token":"t"}', 'v: expected an integer, got string "1"'),
        ('{"type":"hello","v":1.0,"token":"t"}', "v: expected an integer, got number 1.0"),
        ('{"type":"hello","v":true,"token":"t"}', "v: expected an integer, got boolean true"),
        ('{"type":"hello","v":0,"token":"t"}', "v: must be >= 1, got 0"),
        ('{"type":"hello","v":2,"token":""}', "token: must not be empty"),
        ('{"type":"hello","v":2,"token":null}', "token: expected a string, got null"),
    ],
)
def test_invalid_message_names_the_field(frame: str, words: str) -> None:
    error = _decode_error(frame)
    assert error.code == ErrorCode.INVALID_MESSAGE
    assert words in error.message


def test_error_message_stays_short_whatever_was_sent() -> None:
    extras = {f"{'k' * 500}{i}": i for i in range(200)}
    error = _decode_error(orjson.dumps({"type": "ping", "rid": "a", **extras}))
    assert error.code == ErrorCode.INVALID_MESSAGE
    assert "and 195 more" in error.message
    assert len(error.message) < 400


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"nope","rid":"r-9"}',
        '{"rid":"r-9"}',
        '{"type":7,"rid":"r-9"}',
        '{"type":"ping","rid":"r-9","extra":true}',
        '{"type":"hello","rid":"r-9","v":2,"token":"t"}',
        '{"type":"hello","rid":"r-9","v":"1","token":"t"}',
    ],
)
def test_errors_echo_a_valid_rid(frame: str) -> None:
    assert _decode_error(frame).rid == "r-9"
    assert error_reply(_decode_error(frame)).rid == "r-9"


@pytest.mark.parametrize(
    "frame",
    [
        '{"type":"nope","rid":""}',
        '{"type":"nope","rid":7}',
        '{"type":"nope","rid":null}',
        '{"type":"nope","rid":["r"]}',
        '{"type":"ping","rid":"' + "r" * (MAX_RID_LENGTH + 1) + '"}',
        '[{"rid":"r-9"}]',
        "{rid: 1}",
    ],
)
def test_errors_carry_no_invalid_rid(frame: str) -> None:
    assert _decode_error(frame).rid is None


def test_rid_length_bounds() -> None:
    longest = "x" * MAX_RID_LENGTH
    assert decode_client(encode_client(Ping(rid=longest))) == Ping(rid=longest)
    assert decode_client('{"type":"ping","rid":"' + "✓" * MAX_RID_LENGTH + '"}')
    with pytest.raises(ValueError, match="at most 64 characters"):
        Ping(rid=longest + "x")
    with pytest.raises(ValueError, match="must not be empty"):
        Ping(rid="")


def test_decode_errors_leave_the_decoder_usable() -> None:
    for frame in ["{", "[]", "{}", '{"type":"x"}', '{"type":"ping"}']:
        _decode_error(frame)
    assert decode_client('{"type":"ping","rid":"ok"}') == Ping(rid="ok")


# -- the handshake -----------------------------------------------------------------------


def test_decode_hello_accepts_a_hello() -> None:
    hello = Hello(v=2, token="t", resume_token="rt")
    assert decode_hello(encode_client(hello)) == hello


def _hello_error(frame: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        decode_hello(frame)
    return info.value


def test_unsupported_version_is_checked_before_the_rest() -> None:
    future = '{"type":"hello","v":4,"token":"t","capabilities":["x"],"rid":"r"}'
    error = _hello_error(future)
    assert error.code == ErrorCode.UNSUPPORTED_VERSION
    assert error.close_code == CloseCode.UNSUPPORTED_VERSION
    assert error.rid == "r"
    assert ", ".join(map(str, sorted(SUPPORTED_VERSIONS))) in error.message


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("nope", ErrorCode.MALFORMED_JSON),
        ("[]", ErrorCode.NOT_AN_OBJECT),
        ('{"v":1}', ErrorCode.MISSING_TYPE),
        ('{"type":"helo","v":2,"token":"t"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type":"hello","v":2}', ErrorCode.INVALID_MESSAGE),
        ('{"type":"hello","v":0,"token":"t"}', ErrorCode.INVALID_MESSAGE),
        ('{"type":"hello","v":"2","token":"t"}', ErrorCode.INVALID_MESSAGE),
        ('{"type":"hello","v":true,"token":"t"}', ErrorCode.INVALID_MESSAGE),
        ('{"type":"ping","rid":"a"}', ErrorCode.HELLO_REQUIRED),
    ],
)
def test_a_bad_first_frame_closes_with_4000(frame: str, code: ErrorCode) -> None:
    error = _hello_error(frame)
    assert error.code == code
    assert error.close_code == CloseCode.BAD_HELLO == close_code_for(code, before_welcome=True)


# -- errors and close codes --------------------------------------------------------------


def test_binary_frame_error() -> None:
    error = binary_frame_error()
    assert error.code == ErrorCode.BINARY_NOT_SUPPORTED
    assert close_code_for(error.code, before_welcome=False) is None
    assert close_code_for(error.code, before_welcome=True) == CloseCode.BAD_HELLO


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (AuthError("bad signature"), "invalid_token"),
        (AuthError("expired", code="token_expired"), "token_expired"),
        (MailboxFull("arena busy"), "overloaded"),
        (ActorGone("arena stopped"), "unavailable"),
        (TilemudError("bug"), "internal"),
        (ProtocolError("bad"), "bad_request"),
    ],
)
def test_error_reply_from_any_tilemud_error(exc: TilemudError, code: str) -> None:
    reply = error_reply(exc, rid="r", retry_after=1.5)
    assert reply == ErrorFrame(code=code, message=exc.message, rid="r", retry_after=1.5)
    assert code in set(ErrorCode), "every code the server sends is an ErrorCode"
    assert decode_server(encode_server(reply)) == reply


def test_error_reply_takes_the_rid_of_a_protocol_error() -> None:
    assert error_reply(ProtocolError("x", rid="mine")).rid == "mine"
    assert error_reply(ProtocolError("x", rid="mine"), rid="other").rid == "other"
    assert error_reply(AuthError("x")).rid is None


def test_protocol_error_keeps_its_old_behaviour() -> None:
    error = ProtocolError("bad frame")
    assert (error.code, error.message, str(error)) == ("bad_request", "bad frame", "bad frame")
    assert (error.rid, error.close_code) == (None, None)


@pytest.mark.parametrize(
    ("code", "after", "before"),
    [
        (ErrorCode.INVALID_MESSAGE, None, CloseCode.BAD_HELLO),
        (ErrorCode.UNKNOWN_TYPE, None, CloseCode.BAD_HELLO),
        (ErrorCode.FRAME_TOO_LARGE, CloseCode.MESSAGE_TOO_BIG, CloseCode.MESSAGE_TOO_BIG),
        (ErrorCode.DUPLICATE_HELLO, CloseCode.BAD_HELLO, CloseCode.BAD_HELLO),
        (ErrorCode.INVALID_TOKEN, CloseCode.INVALID_TOKEN, CloseCode.INVALID_TOKEN),
        (ErrorCode.TOKEN_EXPIRED, CloseCode.TOKEN_EXPIRED, CloseCode.TOKEN_EXPIRED),
        (ErrorCode.HELLO_TIMEOUT, CloseCode.HELLO_TIMEOUT, CloseCode.HELLO_TIMEOUT),
        (ErrorCode.SLOW_CLIENT, CloseCode.SLOW_CLIENT, CloseCode.SLOW_CLIENT),
        (ErrorCode.SERVER_FULL, CloseCode.TRY_AGAIN_LATER, CloseCode.TRY_AGAIN_LATER),
        (ErrorCode.SHUTTING_DOWN, CloseCode.GOING_AWAY, CloseCode.GOING_AWAY),
        (ErrorCode.OVERLOADED, None, CloseCode.TRY_AGAIN_LATER),
        (ErrorCode.INTERNAL, CloseCode.INTERNAL_ERROR, CloseCode.INTERNAL_ERROR),
        (ErrorCode.RATE_LIMITED, None, CloseCode.TRY_AGAIN_LATER),
        (ErrorCode.NOT_IN_ARENA, None, CloseCode.BAD_HELLO),
        (ErrorCode.ALREADY_IN_ARENA, None, CloseCode.BAD_HELLO),
        (ErrorCode.UNKNOWN_REGION, None, CloseCode.BAD_HELLO),
        (ErrorCode.INVALID_ACK, None, CloseCode.BAD_HELLO),
        (ErrorCode.ARENA_UNAVAILABLE, None, CloseCode.BAD_HELLO),
        (ErrorCode.REPLACED, CloseCode.REPLACED, CloseCode.REPLACED),
        ("some_future_code", None, CloseCode.BAD_HELLO),
    ],
)
def test_close_code_for(code: str, after: CloseCode | None, before: CloseCode) -> None:
    assert close_code_for(code, before_welcome=False) == after
    assert close_code_for(code, before_welcome=True) == before


def test_welcome_rejects_impossible_values() -> None:
    good = SERVER_EXAMPLES["welcome"]
    assert isinstance(good, Welcome)
    with pytest.raises(ValueError, match="finite"):
        attrs.evolve(good, server_time=float("nan"))
    with pytest.raises(ValueError, match="must not be empty"):
        attrs.evolve(good, player_id="")
    with pytest.raises(ValueError, match="server_time: expected a number, got null"):
        attrs.evolve(good, server_time=None)  # type: ignore[arg-type]


def test_arena_error_codes() -> None:
    assert int(CloseCode.REPLACED) == 4009
    assert CLOSE_CODES[CloseCode.REPLACED].error_frame is False
    assert "do not reconnect" in CLOSE_CODES[CloseCode.REPLACED].client_action
    with_retry = {code for code, info in ERROR_CODES.items() if info.retry_after}
    assert {ErrorCode.RATE_LIMITED, ErrorCode.ARENA_UNAVAILABLE} <= with_retry
    for code in [ErrorCode.NOT_IN_ARENA, ErrorCode.ALREADY_IN_ARENA, ErrorCode.INVALID_ACK]:
        assert not ERROR_CODES[code].retry_after
    assert set(ERROR_CODES) == set(ErrorCode)


# -- the arena requests ------------------------------------------------------------------


def test_hello_last_seq() -> None:
    hello = Hello(v=2, token="t", resume_token="rt", last_seq=0)
    assert decode_hello(encode_client(hello)) == hello
    assert '"last_seq":0' in encode_client(hello)
    assert "last_seq" not in encode_client(Hello(v=2, token="t"))


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        ('{"type":"hello","v":2,"token":"t","last_seq":-1}', "last_seq: must be >= 0"),
        ('{"type":"join","rid":"j","mode":"duel","region":"eu"}', 'mode: expected "battle" or'),
        ('{"type":"join","rid":"j","mode":"arena","region":"EU"}', "region: must match"),
        ('{"type":"join","rid":"j","mode":"arena","region":"eu_west"}', "region: must match"),
        ('{"type":"join","rid":"j","mode":"arena","region":""}', "region: must not be empty"),
        ('{"type":"join","rid":"j","mode":"arena"}', "region: missing required field"),
        ('{"type":"leave"}', "rid: missing required field"),
        ('{"type":"place","rid":"p","x":4096,"y":0,"kind":"stone"}', "x: must be <= 4095"),
        ('{"type":"place","rid":"p","x":0,"y":-1,"kind":"stone"}', "y: must be >= 0"),
        ('{"type":"place","rid":"p","x":0,"y":0,"kind":""}', "kind: must not be empty"),
        ('{"type":"place","rid":"p","x":0,"y":0,"kind":"' + "k" * 33 + '"}', "at most 32"),
        ('{"type":"place","rid":"p","x":1.0,"y":0,"kind":"stone"}', "x: expected an integer"),
        ('{"type":"ack","seq":-1}', "seq: must be >= 0"),
        ('{"type":"ack","seq":"1"}', "seq: expected an integer"),
        ('{"type":"ack"}', "seq: missing required field"),
    ],
)
def test_arena_requests_are_strict(frame: str, words: str) -> None:
    error = _decode_error(frame)
    assert error.code == ErrorCode.INVALID_MESSAGE
    assert words in error.message


def test_arena_requests_decode() -> None:
    assert decode_client('{"type":"join","rid":"j","mode":"arena","region":"us-1"}') == Join(
        rid="j", mode="arena", region="us-1"
    )
    assert decode_client('{"type":"leave","rid":"l"}') == Leave(rid="l")
    assert decode_client('{"type":"place","rid":"p","x":4095,"y":0,"kind":"stone"}') == Place(
        rid="p", x=MAX_COORD, y=0, kind="stone"
    )
    assert decode_client('{"type":"ack","seq":0}') == Ack(seq=0)


def test_nested_errors_name_the_exact_place() -> None:
    snapshot = orjson.loads(encode_server(SERVER_EXAMPLES["snapshot"]))
    for where, value, words in [
        (("board", "palette", 1, 1), "", "board.palette[1][1]: must not be empty"),
        (("scores", 0, 1), -1, "scores[0][1]: must be >= 0, got -1"),
        (("board", "runs", 3), 2**60, "board.runs[3]: must be an integer of magnitude"),
        (("players", 1, 0), 7, "players[1][0]: expected a string, got integer 7"),
    ]:
        frame = orjson.loads(orjson.dumps(snapshot))
        parent = frame
        for key in where[:-1]:
            parent = parent[key]
        parent[where[-1]] = value
        with pytest.raises(ProtocolError) as info:
            decode_server(orjson.dumps(frame))
        assert words in info.value.message
    frame = orjson.loads(encode_server(SERVER_EXAMPLES["tick"]))
    frame["placed"][1] = [0, 1, "p"]
    with pytest.raises(ProtocolError, match=r"placed\[1\]: expected an array of 4 items"):
        decode_server(orjson.dumps(frame))
