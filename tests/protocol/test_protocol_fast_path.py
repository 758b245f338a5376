"""The decoder's fast path for ``place`` and ``ack`` agrees with the strict decoder.

Every frame shaped like a ``place`` or an ``ack`` (right or wrong: extra keys, floats,
bools, bounds, strings for numbers) decodes to the same message, or fails with the same
error code and rid, as the strict decoder alone would.
"""

from __future__ import annotations

from typing import Any

import attrs
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from tilemud.errors import ProtocolError
from tilemud.protocol import Ack, Place, decode_client, decode_common_client
from tilemud.protocol._client_messages import CLIENT_MESSAGES
from tilemud.protocol._codec import _parse_object, _rid_of, _structure

EDGE_INTS = st.sampled_from([-1, 0, 1, 4095, 4096, 2**53 - 1, 2**53, -(2**53)])
VALUES = st.one_of(
    st.integers(min_value=-10, max_value=5000),
    EDGE_INTS,
    st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=5000),
    st.booleans(),
    st.none(),
    st.text(max_size=70),
    st.sampled_from(["", "r", "x" * 64, "x" * 65, "stone", "k" * 32, "k" * 33]),
)


def strict(frame: str) -> Any:
    obj = _parse_object(frame)
    return _structure(obj, CLIENT_MESSAGES, _rid_of(obj))


def outcome(decode: Any, frame: str) -> tuple[str, Any]:
    try:
        return "ok", decode(frame)
    except ProtocolError as exc:
        return "error", (exc.code, exc.rid)


@st.composite
def place_like(draw: st.DrawFn) -> str:
    frame: dict[str, Any] = {"type": "place"}
    for key in ("rid", "x", "y", "kind"):
        if draw(st.integers(0, 9)):  # mostly present
            frame[key] = draw(VALUES)
    if draw(st.integers(0, 9)) == 0:
        frame[draw(st.sampled_from(["extra", "seq", "type2"]))] = draw(VALUES)
    return orjson.dumps(frame).decode()


@st.composite
def ack_like(draw: st.DrawFn) -> str:
    frame: dict[str, Any] = {"type": "ack"}
    if draw(st.integers(0, 9)):
        frame["seq"] = draw(VALUES)
    if draw(st.integers(0, 9)) == 0:
        frame["rid"] = draw(VALUES)
    return orjson.dumps(frame).decode()


@settings(max_examples=2000)
@given(st.one_of(place_like(), ack_like()))
def test_the_fast_path_decodes_as_the_strict_decoder(frame: str) -> None:
    assert outcome(decode_client, frame) == outcome(strict, frame)


def test_the_common_frames_decode() -> None:
    place = '{"type":"place","rid":"a-1","x":3,"y":4095,"kind":"stone"}'
    assert decode_client(place) == Place(rid="a-1", x=3, y=4095, kind="stone")
    assert decode_client('{"type":"ack","seq":17}') == Ack(seq=17)


@settings(max_examples=2000)
@given(
    st.one_of(
        place_like(),
        ack_like(),
        st.text(max_size=40),
        st.sampled_from(["[1]", "null", '"place"', "{", '{"type":"place"} x', "\ud800"]),
    )
)
def test_the_read_hubs_decoder_takes_only_what_the_strict_decoder_accepts(frame: str) -> None:
    """decode_common_client (the hub's) gives the strict decoder's very message, or None
    (the connection's task then decodes the frame the strict way, errors and all)."""
    common = decode_common_client(frame)
    if common is not None:
        assert outcome(decode_client, frame) == ("ok", common)
        assert type(common) in (Place, Ack)
        assert attrs.asdict(common) == attrs.asdict(strict(frame))


def test_the_read_hubs_decoder_takes_the_common_frames() -> None:
    place = '{"type":"place","rid":"a-1","x":3,"y":4095,"kind":"stone"}'
    assert decode_common_client(place) == Place(rid="a-1", x=3, y=4095, kind="stone")
    assert decode_common_client(place.encode()) == Place(rid="a-1", x=3, y=4095, kind="stone")
    assert decode_common_client('{"type":"ack","seq":17}') == Ack(seq=17)
    assert decode_common_client('{"type":"ping","rid":"p"}') is None
