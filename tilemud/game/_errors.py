"""Typed errors of the game rules, rooted in :mod:`tilemud.errors`."""

from __future__ import annotations

from tilemud.errors import ConfigError, TilemudError


class RuleConfigError(ConfigError):
    """A rule config field is missing, of the wrong type, or out of range.

    Attributes:
        field: the offending field's name, or ``None`` when the whole value is wrong.
    """

    code = "bad_rule_config"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SnapshotError(TilemudError):
    """A stored board or arena snapshot cannot be decoded (corrupt, foreign or too new)."""

    code = "bad_snapshot"
