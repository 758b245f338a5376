"""What chat and moderation read from the cluster bus: any JSON object is either what a
node sent or refused (None), never an exception that would reach the bus's task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tilemud.actors.chat._relay import (
    _chat_from_wire,
    _chat_to_wire,
    _direct_from_wire,
    _direct_to_wire,
)
from tilemud.actors.moderation._news import _parse
from tilemud.storage import ChatMessageRecord, DirectMessageRecord

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
KEYS = ["id", "ch", "ct", "s", "sn", "r", "t", "at", "a", "p", "u", "x"]
messages = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), json_values)


@given(messages)
def test_no_message_on_the_bus_makes_a_reader_raise(message: dict[str, Any]) -> None:
    for read in (_chat_from_wire, _direct_from_wire, _parse):
        read(message)  # a record, an act, or None


@given(st.text(), st.text(), st.sampled_from(["global", "region", "guild", "party"]))
def test_what_a_node_sends_is_what_the_others_read(text: str, name: str, kind: str) -> None:
    at = dt.datetime(2026, 12, 5, 1, 2, 3, 250000, tzinfo=dt.UTC)
    chat = ChatMessageRecord(
        message_id="m_1",
        channel="global" if kind == "global" else f"{kind}:x",
        channel_type=kind,
        sender_id="p_1",
        sender_name=name,
        text=text,
        sent_at=at,
    )
    assert _chat_from_wire(_chat_to_wire(chat)) == chat
    direct = DirectMessageRecord(
        message_id="dm_1",
        sender_id="p_1",
        sender_name=name,
        recipient_id="p_2",
        text=text,
        sent_at=at,
    )
    assert _direct_from_wire(_direct_to_wire(direct)) == direct


def test_arena_channels_and_wrong_types_are_refused() -> None:
    at = 1796432000.0
    base = {"id": "m", "ch": "arena:a", "ct": "arena", "s": "p", "sn": "n", "t": "x", "at": at}
    assert _chat_from_wire(base) is None  # arena channels stay on their node
    assert _chat_from_wire({**base, "ct": "global", "at": True}) is None
    assert _chat_from_wire({**base, "ct": "global", "s": 1}) is None
    assert _parse({"a": "ban", "p": "p_1", "r": "x", "u": True}) is None
    assert _parse({"a": "explode", "p": "p_1", "r": "x", "u": None}) is None
    heard = _parse({"a": "mute", "p": "p_1", "r": "spam", "u": 5})
    assert heard is not None
    assert heard.until == 5.0
