"""docs/game.md must change with the rules."""

from __future__ import annotations

from pathlib import Path

from tilemud.game import ARENA_RULES, BATTLE_RULES, REJECT_REASONS

GAME_DOC = Path(__file__).parent.parent.parent / "docs" / "game.md"


def test_every_rule_config_field_is_documented() -> None:
    text = GAME_DOC.read_text(encoding="utf-8")
    for field in BATTLE_RULES.to_dict():
        assert f"| `{field}` |" in text, f"{field} is missing from docs/game.md"


def test_every_reject_reason_is_documented() -> None:
    text = GAME_DOC.read_text(encoding="utf-8")
    for reason in REJECT_REASONS:
        assert f"| `{reason}` |" in text, f"{reason} is missing from docs/game.md"


def test_the_default_hashes_in_the_doc_are_current() -> None:
    text = GAME_DOC.read_text(encoding="utf-8")
    assert BATTLE_RULES.content_hash in text
    assert ARENA_RULES.content_hash in text
