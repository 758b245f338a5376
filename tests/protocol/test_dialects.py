"""Protocol version 1 said from version 2: every frame a v1 client can get fits the frozen
v1 schemas, frames whose shape did not change pass untouched, ``round_ended`` has no v1
form."""

from __future__ import annotations

import json
from typing import Any

import attrs
import orjson
import pytest

from tests.protocol.protocol_support import SERVER_EXAMPLES, schema_errors
from tilemud.protocol import (
    PROTOCOL_VERSION,
    SCHEMA_DIR,
    STREAM_MESSAGES,
    SUPPORTED_VERSIONS,
    ArenaTick,
    PlaceResult,
    dialect_for,
    encode_server,
    encode_stream_body,
    stamp,
)

V1 = SCHEMA_DIR / "v1" / "server"
STREAM_TYPES = set(STREAM_MESSAGES)


def v1_schema(frame_type: str) -> dict[str, Any] | None:
    path = V1 / f"{frame_type}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def test_version_1_is_still_supported_and_2_needs_no_dialect() -> None:
    assert {1, 2} <= SUPPORTED_VERSIONS
    assert dialect_for(PROTOCOL_VERSION) is None
    assert dialect_for(1) is not None
    with pytest.raises(ValueError, match="not supported"):
        dialect_for(99)


@pytest.mark.parametrize("frame_type", sorted(SERVER_EXAMPLES))
def test_every_frame_a_v1_client_gets_fits_the_frozen_v1_schema(frame_type: str) -> None:
    dialect = dialect_for(1)
    assert dialect is not None
    message = SERVER_EXAMPLES[frame_type]
    newest = (
        encode_stream_body(message)  # type: ignore[arg-type]
        if frame_type in STREAM_TYPES
        else encode_server(message)
    )
    said = dialect.say(newest)
    if frame_type == "round_ended":
        assert said is None  # the session answers it with a snapshot
        return
    assert said is not None
    text = stamp(said, 5) if frame_type in STREAM_TYPES else said
    schema = v1_schema(frame_type)
    if schema is None:  # added to version 2 in a compatible way (e.g. `report_result`)
        assert said is newest
        return
    assert schema_errors(schema, orjson.loads(text)) == []


def test_unchanged_frames_pass_as_the_same_object() -> None:
    dialect = dialect_for(1)
    assert dialect is not None
    snapshot = encode_stream_body(SERVER_EXAMPLES["snapshot"])  # type: ignore[arg-type]
    assert dialect.say(snapshot) is snapshot
    pong = encode_server(SERVER_EXAMPLES["pong"])
    assert dialect.say(pong) is pong


def test_a_capture_reaches_v1_as_a_plain_placement_and_each_body_is_rewritten_once() -> None:
    dialect = dialect_for(1)
    assert dialect is not None
    tick = SERVER_EXAMPLES["tick"]
    assert isinstance(tick, ArenaTick)
    body = encode_stream_body(tick)
    said = dialect.say(body)
    assert said is not None
    frame = orjson.loads(stamp(said, 1))
    assert "captured" not in frame
    assert frame["placed"] == [list(p) for p in tick.placed]
    # The fan-out hands the same body to every player: rewritten once, shared.
    assert dialect.say(body) is said
    # A captured place_result loses only `captured`; `held_firmly` stays a reason (v1 says
    # to treat an unknown reason as a rejection).
    result = SERVER_EXAMPLES["place_result"]
    assert isinstance(result, PlaceResult)
    captured = attrs.evolve(result, outcome="accepted", winner=None, captured="p-2")
    v1 = orjson.loads(dialect.say(encode_server(captured)) or "null")
    assert v1 == {k: v for k, v in orjson.loads(encode_server(captured)).items() if k != "captured"}


def test_joined_rules_lose_the_v2_fields() -> None:
    dialect = dialect_for(1)
    assert dialect is not None
    said = dialect.say(encode_server(SERVER_EXAMPLES["joined"]))
    assert said is not None
    rules = orjson.loads(said)["rules"]
    assert not {"captures", "capture_margin", "round_ticks"} & set(rules)
