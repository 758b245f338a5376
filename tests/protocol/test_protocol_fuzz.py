"""Properties: the decoders never crash, valid messages round-trip, codec and schema agree.

"Never crash" means: whatever the input, a decoder returns a message or raises
``ProtocolError``; any other exception is a bug (and would crash a session actor).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocol.protocol_support import from_schema, json_values, schema_errors
from tilemud.errors import ProtocolError
from tilemud.protocol import (
    CLIENT_MESSAGES,
    MAX_RID_LENGTH,
    SERVER_MESSAGES,
    ErrorCode,
    decode_client,
    decode_hello,
    decode_server,
    encode_client,
    encode_server,
    generate_schemas,
)

SCHEMAS = generate_schemas()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DECODERS = [decode_client, decode_server, decode_hello]


def _rejection(decode: Any, frame: str | bytes) -> ProtocolError | None:
    """The decoder's ProtocolError, or None; any other exception fails the test."""
    try:
        decode(frame)
    except ProtocolError as exc:
        return exc
    return None


def _decode_or_reject(frame: str | bytes) -> list[ProtocolError]:
    """Run every decoder; return their errors, checking each."""
    errors = [exc for decode in DECODERS if (exc := _rejection(decode, frame)) is not None]
    for exc in errors:
        assert exc.code in set(ErrorCode)
        assert exc.rid is None or 1 <= len(exc.rid) <= MAX_RID_LENGTH
    return errors


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(frame: bytes) -> None:
    _decode_or_reject(frame)


@FUZZ
@given(st.text(max_size=300))
def test_random_text_never_crashes(frame: str) -> None:
    _decode_or_reject(frame)


@FUZZ
@given(json_values())
def test_random_json_never_crashes(value: Any) -> None:
    frame = json.dumps(value)  # the stdlib also writes integers beyond 64 bits
    errors = _decode_or_reject(frame)
    if not isinstance(value, dict):
        assert [exc.code for exc in errors] == [ErrorCode.NOT_AN_OBJECT] * len(DECODERS)


def _message_like() -> st.SearchStrategy[dict[str, Any]]:
    """Objects with a known ``type`` and a random mix of real and made-up fields."""
    tags = sorted({*CLIENT_MESSAGES, *SERVER_MESSAGES})
    names = sorted(
        {name for schema in SCHEMAS.values() for name in schema["properties"]} - {"type"}
    )
    keys = st.sampled_from(names) | st.text(max_size=8)
    return st.builds(
        lambda tag, fields: {"type": tag, **fields},
        st.sampled_from(tags),
        st.dictionaries(keys, json_values(max_leaves=4), max_size=6),
    )


@FUZZ
@given(_message_like())
def test_decoders_agree_with_the_schemas(payload: dict[str, Any]) -> None:
    frame = json.dumps(payload)
    for direction, decode in [("client", decode_client), ("server", decode_server)]:
        schema = SCHEMAS.get(f"{direction}/{payload['type']}.json")
        rejection = _rejection(decode, frame)
        if rejection is None:
            assert schema is not None
            assert schema_errors(schema, payload) == []
            continue
        assert schema is None or schema_errors(schema, payload), rejection.message
        rid = payload.get("rid")
        if isinstance(rid, str) and 1 <= len(rid) <= MAX_RID_LENGTH:
            assert rejection.rid == rid, "a valid rid is always echoed"


def _valid_payloads(direction: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    return st.sampled_from(sorted(n for n in SCHEMAS if n.startswith(direction))).flatmap(
        lambda name: st.tuples(st.just(name), from_schema(SCHEMAS[name]))
    )


@FUZZ
@given(_valid_payloads("client/"))
def test_valid_client_payloads_round_trip(case: tuple[str, dict[str, Any]]) -> None:
    name, payload = case
    message = decode_client(orjson.dumps(payload))
    frame = encode_client(message)
    assert decode_client(frame) == message
    assert schema_errors(SCHEMAS[name], orjson.loads(frame)) == []


@FUZZ
@given(_valid_payloads("server/"))
def test_valid_server_payloads_round_trip(case: tuple[str, dict[str, Any]]) -> None:
    name, payload = case
    message = decode_server(orjson.dumps(payload))
    frame = encode_server(message)
    assert decode_server(frame) == message
    encoded = orjson.loads(frame)
    assert schema_errors(SCHEMAS[name], encoded) == []
    assert None not in encoded.values(), "optional fields are omitted, never null"
