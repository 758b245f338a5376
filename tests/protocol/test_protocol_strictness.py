"""The strict converter on every registered message, checked against its own schema.

Each registered message is taken from a valid example and broken one way at a time: an
extra key, a missing field, each field (present or optional and absent) replaced by values
of every JSON kind, and the same for every value nested inside: each key of a nested
object, each item of an array (``board.palette[0][1]``, ``rules.tile_kinds[0].name``). The
decoder must reject exactly what the message's JSON Schema rejects, so the two can never
disagree about a field: the strict converter is tested on every message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.protocol.protocol_support import CLIENT_EXAMPLES, SERVER_EXAMPLES, schema_errors
from tilemud.errors import ProtocolError
from tilemud.protocol import (
    ErrorCode,
    decode_client,
    decode_server,
    encode_client,
    encode_server,
    generate_schemas,
)

SCHEMAS = generate_schemas()

# (direction, tag, the example's encoded payload as a dict)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("client", tag, orjson.loads(encode_client(message)))
    for tag, message in CLIENT_EXAMPLES.items()
] + [
    ("server", tag, orjson.loads(encode_server(message)))
    for tag, message in SERVER_EXAMPLES.items()
]
IDS = [f"{direction}/{tag}" for direction, tag, _ in CASES]

#: Where a value sits inside a payload: object keys and array indexes, outermost first.
Where = tuple[str | int, ...]

#: A value of every JSON kind, including the classic coercion traps.
PALETTE: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    7,
    -1,
    2**70,
    7.0,
    7.9,
    -0.5,
    "",
    "7",
    "1",
    "true",
    "x" * 65,
    "x" * 9000,
    [],
    ["a"],
    {},
    {"a": 1},
]


def _decode(direction: str, payload: dict[str, Any]) -> object:
    # The stdlib would write 2**70 too; orjson refuses ints beyond 64 bits.
    frame = orjson.dumps(payload) if _fits(payload) else _stdlib_dumps(payload)
    return decode_client(frame) if direction == "client" else decode_server(frame)


def _fits(value: object) -> bool:
    if isinstance(value, dict):
        return all(_fits(item) for item in value.values())
    if isinstance(value, list):
        return all(_fits(item) for item in value)
    return not isinstance(value, int) or -(2**63) <= value < 2**64


def _stdlib_dumps(payload: dict[str, Any]) -> str:
    import json

    return json.dumps(payload)


def _agrees_with_schema(direction: str, tag: str, payload: dict[str, Any]) -> None:
    errors = schema_errors(SCHEMAS[f"{direction}/{tag}.json"], payload)
    rejection: ProtocolError | None = None
    try:
        message = _decode(direction, payload)
    except ProtocolError as exc:
        rejection = exc
    if rejection is None:
        assert not errors, f"the decoder accepts {message!r}; the schema says {errors}"
    else:
        assert rejection.code == ErrorCode.INVALID_MESSAGE, rejection.message
        assert errors, f"the decoder rejects what the schema accepts: {rejection.message}"


@pytest.mark.parametrize(("direction", "tag", "payload"), CASES, ids=IDS)
def test_example_is_valid(direction: str, tag: str, payload: dict[str, Any]) -> None:
    assert schema_errors(SCHEMAS[f"{direction}/{tag}.json"], payload) == []
    _decode(direction, payload)


@pytest.mark.parametrize(("direction", "tag", "payload"), CASES, ids=IDS)
def test_extra_key_is_rejected(direction: str, tag: str, payload: dict[str, Any]) -> None:
    for extra in ["extra", "Type", "rid_", ""]:
        if extra in payload:
            continue
        with pytest.raises(ProtocolError) as info:
            _decode(direction, {**payload, extra: 1})
        assert info.value.code == ErrorCode.INVALID_MESSAGE
        assert "unknown field" in info.value.message


@pytest.mark.parametrize(("direction", "tag", "payload"), CASES, ids=IDS)
def test_each_missing_field(direction: str, tag: str, payload: dict[str, Any]) -> None:
    required = SCHEMAS[f"{direction}/{tag}.json"]["required"]
    for name in payload:
        if name == "type":
            continue
        smaller = {key: value for key, value in payload.items() if key != name}
        if name in required:
            with pytest.raises(ProtocolError) as info:
                _decode(direction, smaller)
            assert f"{name}: missing required field" in info.value.message
        else:
            _decode(direction, smaller)


def _nested(value: object, where: Where) -> Iterator[Where]:
    """Every place strictly inside ``value`` (found at ``where``), depth first."""
    if isinstance(value, dict):
        items: list[tuple[str | int, Any]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return
    for key, item in items:
        yield (*where, key)
        yield from _nested(item, (*where, key))


def _replaced(value: Any, where: Where, new: object) -> Any:
    """A copy of ``value`` with the value at ``where`` replaced by ``new``."""
    if not where:
        return new
    head, rest = where[0], where[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    assert isinstance(head, int)
    return [_replaced(item, rest, new) if i == head else item for i, item in enumerate(value)]


def _without(value: Any, where: Where) -> Any:
    """A copy of ``value`` without the object key at ``where``."""
    if len(where) == 1:
        return {key: item for key, item in value.items() if key != where[0]}
    return _replaced(value, where[:1], _without(value[where[0]], where[1:]))


def _dotted(where: Where) -> str:
    """``where`` as the decoder's error messages name it: ``rules.tile_kinds[0].name``."""
    text = ""
    for key in where:
        text += f"[{key}]" if isinstance(key, int) else f".{key}" if text else key
    return text


def _schema_at(schema: dict[str, Any], where: Where) -> dict[str, Any]:
    for key in where:
        branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
        schema = branches[0]
        if isinstance(key, str):
            schema = schema["properties"][key]
        elif "prefixItems" in schema:
            schema = schema["prefixItems"][key]
        else:
            schema = schema["items"]
    return schema


@pytest.mark.parametrize(("direction", "tag", "payload"), CASES, ids=IDS)
def test_every_field_against_every_json_kind(
    direction: str, tag: str, payload: dict[str, Any]
) -> None:
    for name in SCHEMAS[f"{direction}/{tag}.json"]["properties"]:
        if name == "type":
            continue
        for value in PALETTE:
            _agrees_with_schema(direction, tag, {**payload, name: value})


@pytest.mark.parametrize(("direction", "tag", "payload"), CASES, ids=IDS)
def test_every_nested_value_against_every_json_kind(
    direction: str, tag: str, payload: dict[str, Any]
) -> None:
    schema = SCHEMAS[f"{direction}/{tag}.json"]
    for name, value in payload.items():
        for where in _nested(value, (name,)):
            for new in PALETTE:
                _agrees_with_schema(direction, tag, _replaced(payload, where, new))
            if isinstance(where[-1], str):
                # a nested object's own optional fields, when the example leaves them out
                parent = _schema_at(schema, where[:-1])
                for absent in set(parent["properties"]) - set(_at(payload, where[:-1])):
                    for new in PALETTE:
                        _agrees_with_schema(
                            direction, tag, _replaced(payload, (*where[:-1], absent), new)
                        )


def _at(value: Any, where: Where) -> Any:
    for key in where:
        value = value[key]
    return value


@pytest.mark.parametrize(("direction", "tag", "payload"), CASES, ids=IDS)
def test_each_missing_nested_field(direction: str, tag: str, payload: dict[str, Any]) -> None:
    schema = SCHEMAS[f"{direction}/{tag}.json"]
    for name, value in payload.items():
        for where in _nested(value, (name,)):
            if not isinstance(where[-1], str):
                continue
            smaller = _without(payload, where)
            if where[-1] in _schema_at(schema, where[:-1])["required"]:
                with pytest.raises(ProtocolError) as info:
                    _decode(direction, smaller)
                assert f"{_dotted(where)}: missing required field" in info.value.message
            else:
                _decode(direction, smaller)


def _wrong_kind(schema: dict[str, Any]) -> object:
    # No field of any message is an object of this shape; an object field gets a string.
    return "wrong kind" if schema.get("type") == "object" else {"wrong": "kind"}


@pytest.mark.parametrize(("direction", "tag", "payload"), CASES, ids=IDS)
def test_wrong_kind_names_the_field(direction: str, tag: str, payload: dict[str, Any]) -> None:
    schema = SCHEMAS[f"{direction}/{tag}.json"]
    for name, value in payload.items():
        if name == "type":
            continue
        for where in [(name,), *_nested(value, (name,))]:
            wrong = _wrong_kind(_schema_at(schema, where))
            with pytest.raises(ProtocolError) as info:
                _decode(direction, _replaced(payload, where, wrong))
            expected = f"invalid {tag!r} message: {_dotted(where)}: expected "
            assert info.value.message.startswith(expected), info.value.message


@pytest.mark.parametrize(
    ("field", "value", "good"),
    [
        ("v", "7", False),
        ("v", 7.9, False),
        ("v", 7.0, False),
        ("v", True, False),
        ("v", 7, True),
        ("token", 7, False),
        ("token", ["t"], False),
        ("resume_token", 1, False),
        ("resume_token", None, True),
    ],
)
def test_no_coercion_in_hello(field: str, value: object, good: bool) -> None:
    payload = {"type": "hello", "v": 2, "token": "t", field: value}
    if good:
        decode_client(orjson.dumps(payload))
    else:
        with pytest.raises(ProtocolError, match=field):
            decode_client(orjson.dumps(payload))


@pytest.mark.parametrize(("value", "good"), [(1, True), (1.5, True), (True, False), ("1", False)])
def test_number_fields_take_ints_but_not_bools(value: object, good: bool) -> None:
    payload = {"type": "pong", "rid": "r", "server_time": value}
    if good:
        decode_server(orjson.dumps(payload))
    else:
        with pytest.raises(ProtocolError, match="server_time: expected a number"):
            decode_server(orjson.dumps(payload))


def test_welcome_bool_field_is_strict() -> None:
    payload = orjson.loads(encode_server(SERVER_EXAMPLES["welcome"]))
    for value in [0, 1, "false", None]:
        with pytest.raises(ProtocolError, match="resumed: expected a boolean"):
            decode_server(orjson.dumps({**payload, "resumed": value}))
