"""Older protocol versions said from the newest: every frame a v1 or v2 client can get fits
that version's frozen schemas, frames whose shape did not change pass untouched,
``round_ended`` has no v1 form."""

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

STREAM_TYPES = set(STREAM_MESSAGES)


def frozen_schema(version: int, frame_type: str) -> dict[str, Any] | None:
    path = SCHEMA_DIR / f"v{version}" / "server" / f"{frame_type}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def test_older_versions_are_still_supported_and_the_newest_needs_no_dialect() -> None:
    assert {1, 2, 3} <= SUPPORTED_VERSIONS
    assert dialect_for(PROTOCOL_VERSION) is None
    assert dialect_for(1) is not None
    assert dialect_for(2) is not None
    with pytest.raises(ValueError, match="not supported"):
        dialect_for(99)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("frame_type", sorted(SERVER_EXAMPLES))
def test_every_frame_an_older_client_gets_fits_its_frozen_schema(
    frame_type: str, version: int
) -> None:
    dialect = dialect_for(version)
    assert dialect is not None
    message = SERVER_EXAMPLES[frame_type]
    newest = (
        encode_stream_body(message)  # type: ignore[arg-type]
        if frame_type in STREAM_TYPES
        else encode_server(message)
    )
    said = dialect.say(newest)
    if frame_type == "round_ended" and version == 1:
        assert said is None  # the session answers it with a snapshot
        return
    assert said is not None
    text = stamp(said, 5) if frame_type in STREAM_TYPES else said
    schema = frozen_schema(version, frame_type)
    if schema is None:  # added to version 2 in a compatible way (e.g. `report_result`)
        assert said is newest
        return
    assert schema_errors(schema, orjson.loads(text)) == []


def test_unchanged_frames_pass_as_the_same_object() -> None:
    v1, v2 = dialect_for(1), dialect_for(2)
    assert v1 is not None
    assert v2 is not None
    tick = encode_stream_body(SERVER_EXAMPLES["tick"])  # type: ignore[arg-type]
    assert v2.say(tick) is tick  # version 3 left `tick` as version 2 had it
    pong = encode_server(SERVER_EXAMPLES["pong"])
    assert v1.say(pong) is pong
    assert v2.say(pong) is pong


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


def test_npc_marks_are_dropped_for_v2() -> None:
    dialect = dialect_for(2)
    assert dialect is not None
    for frame_type, mark in (("snapshot", "npcs"), ("player_joined", "npcs")):
        body = encode_stream_body(SERVER_EXAMPLES[frame_type])  # type: ignore[arg-type]
        assert mark in orjson.loads(stamp(body, 1))
        said = dialect.say(body)
        assert said is not None
        assert mark not in orjson.loads(stamp(said, 1))


def test_joined_rules_lose_the_v2_fields() -> None:
    dialect = dialect_for(1)
    assert dialect is not None
    said = dialect.say(encode_server(SERVER_EXAMPLES["joined"]))
    assert said is not None
    rules = orjson.loads(said)["rules"]
    assert not {"captures", "capture_margin", "round_ticks"} & set(rules)
