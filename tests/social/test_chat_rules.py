"""The pure chat rules: text, channel names and access, retention, direct message ids."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilemud.config import SocialSettings
from tilemud.social.chat_channels import (
    Channel,
    ChannelRefused,
    PlayerPlaces,
    check_access,
    direct_pair,
    parse_channel,
)
from tilemud.social.chat_retention import RetentionPolicy, direct_message_id
from tilemud.social.chat_text import MessageRefused, clean_message

REGIONS = ("eu", "us")


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("hello", "hello"),
        ("  padded  ", "padded"),
        ("two\nlines\r\nand\ta tab", "two lines  and a tab"),
        ("emoji \U0001f469\u200d\U0001f4bb ok", "emoji \U0001f469\u200d\U0001f4bb ok"),
        ("x" * 500, "x" * 500),
    ],
)
def test_clean_message_keeps_one_trimmed_line(text: str, cleaned: str) -> None:
    assert clean_message(text, max_chars=500) == cleaned


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_message"),
        (" \n\t ", "empty_message"),
        ("x" * 501, "message_too_long"),
        (" " + "x" * 500 + " ", None),
        ("bell\x07", "invalid_text"),
        ("del\x7f", "invalid_text"),
        ("c1\x9b", "invalid_text"),
        ("evil\u202etxt.exe", "invalid_text"),
        ("isolate\u2066x", "invalid_text"),
    ],
)
def test_clean_message_refuses_with_a_code(text: str, code: str | None) -> None:
    if code is None:
        assert clean_message(text, max_chars=500) == "x" * 500
        return
    with pytest.raises(MessageRefused) as refused:
        clean_message(text, max_chars=500)
    assert refused.value.code == code


@given(st.text(max_size=60))
def test_a_cleaned_message_has_no_control_characters_and_fits(text: str) -> None:
    try:
        cleaned = clean_message(text, max_chars=40)
    except MessageRefused:
        return
    assert cleaned == cleaned.strip()
    assert 0 < len(cleaned) <= 40
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in cleaned)


def test_channel_ids_parse_or_are_unknown() -> None:
    assert parse_channel("global", regions=REGIONS) == Channel(kind="global")
    assert parse_channel("region:eu", regions=REGIONS).name == "region:eu"
    assert parse_channel("guild:g_1", regions=REGIONS) == Channel(kind="guild", key="g_1")
    for bad in ("", "Global", "region:mars", "direct:a:b", "guild:", "guild:a b", "lobby:1"):
        with pytest.raises(ChannelRefused) as refused:
            parse_channel(bad, regions=REGIONS)
        assert refused.value.code == "unknown_channel"


@pytest.mark.parametrize(
    ("name", "places", "allowed"),
    [
        ("global", PlayerPlaces(), True),
        ("region:us", PlayerPlaces(), True),
        ("arena:a1", PlayerPlaces(arena_id="a1"), True),
        ("arena:a1", PlayerPlaces(arena_id="a2"), False),
        ("guild:g1", PlayerPlaces(guild_id="g1"), True),
        ("guild:g1", PlayerPlaces(party_id="g1"), False),
        ("party:p1", PlayerPlaces(party_id="p1"), True),
        ("party:p1", PlayerPlaces(), False),
    ],
)
def test_access_per_channel_type(name: str, places: PlayerPlaces, allowed: bool) -> None:
    channel = parse_channel(name, regions=REGIONS)
    if allowed:
        check_access(channel, places)
        return
    with pytest.raises(ChannelRefused) as refused:
        check_access(channel, places)
    assert refused.value.code == "forbidden"


def test_the_direct_pair_is_the_same_either_way_round() -> None:
    assert direct_pair("bob", "ann") == direct_pair("ann", "bob") == "direct:ann:bob"


def test_retention_cutoffs_come_from_the_settings() -> None:
    policy = RetentionPolicy.from_settings(SocialSettings(retention_party=60.0))
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert policy.cutoff("party", now) == now - dt.timedelta(seconds=60)
    assert policy.cutoff("guild", now) == now - dt.timedelta(days=30)
    assert set(policy.channel_cutoffs(now)) == {"global", "region", "arena", "guild", "party"}


def test_a_direct_message_id_depends_on_the_request_and_its_content() -> None:
    base = {"sender_id": "a", "rid": "1", "recipient_id": "b", "text": "hi"}
    first = direct_message_id(**base)
    assert first == direct_message_id(**base)
    for key in base:
        assert direct_message_id(**{**base, key: base[key] + "x"}) != first
