"""Docs that must change with the code."""

from __future__ import annotations

from pathlib import Path

import attrs

from tilemud.config import Settings, env_name

DOCS = Path(__file__).parent.parent / "docs"


def test_every_setting_is_documented_in_operations() -> None:
    text = (DOCS / "operations.md").read_text(encoding="utf-8")
    defaults = Settings()
    for section in attrs.fields(Settings):
        for field in attrs.fields(type(getattr(defaults, section.name))):
            assert f"| `{field.name}` | `{env_name(section.name, field.name)}` |" in text, (
                f"{section.name}.{field.name} is missing from docs/operations.md"
            )
