"""Tests for the display-name rules of the guest login."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilemud.errors import ProtocolError
from tilemud.net.http import MAX_NAME_LENGTH, check_player_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada", "Ada"),
        ("  Ada Lovelace\t", "Ada Lovelace"),
        ("x", "x"),
        ("a" * MAX_NAME_LENGTH, "a" * MAX_NAME_LENGTH),
        ("tile_mud-42", "tile_mud-42"),
        ("Zoë", "Zoë"),
        ("Zoe\u0308", "Zoë"),  # combining diaeresis composes under NFC
        ("東京", "東京"),
        ("Ελένη", "Ελένη"),
        ("٣٤", "٣٤"),  # Arabic-Indic digits are decimal digits
        (" " + "b" * MAX_NAME_LENGTH + " ", "b" * MAX_NAME_LENGTH),
    ],
)
def test_accepted_names(raw: str, expected: str) -> None:
    assert check_player_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("a" * (MAX_NAME_LENGTH + 1), id="too-long"),
        pytest.param("Ada\x00", id="nul"),
        pytest.param("Ada\x1b[31m", id="ansi-escape"),
        pytest.param("A\nB", id="newline-inside"),
        pytest.param("A\tB", id="tab-inside"),
        pytest.param("A\u00a0B", id="no-break-space"),
        pytest.param("A\u200bB", id="zero-width-space"),
        pytest.param("A\u202eB", id="right-to-left-override"),
        pytest.param("Ada  Lovelace", id="double-space"),
        pytest.param("<b>", id="markup"),
        pytest.param("ada@example", id="at-sign"),
        pytest.param("Ada!", id="punctuation"),
        pytest.param("😀", id="emoji"),
        pytest.param("\u3164", id="hangul-filler"),
        pytest.param("x\u0301\u0301\u0301", id="stacked-combining-marks"),
        pytest.param("²", id="superscript-digit"),
    ],
)
def test_refused_names(raw: str) -> None:
    with pytest.raises(ProtocolError) as exc_info:
        check_player_name(raw)
    assert exc_info.value.code == "bad_name"


@given(st.text(max_size=40))
def test_accepted_names_follow_the_rules(raw: str) -> None:
    try:
        name = check_player_name(raw)
    except ProtocolError as exc:
        refused: ProtocolError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.code == "bad_name"
        return
    assert 1 <= len(name) <= MAX_NAME_LENGTH
    assert name == name.strip()
    assert unicodedata.is_normalized("NFC", name)
    assert "  " not in name
    for char in name:
        category = unicodedata.category(char)
        assert char in " _-" or category.startswith("L") or category == "Nd"
    assert check_player_name(name) == name  # idempotent
