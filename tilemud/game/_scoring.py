"""Scores and the end of a battle.

A player's score is the sum, over the tiles they hold, of
:meth:`~tilemud.game.RuleConfig.tile_score`: 1 per tile under ``tiles_held``, the tile
kind's ``points`` under ``kind_points``. Score maps list every owner holding at least one
tile, even at 0 points; a player holding none is absent (score 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import attrs

from tilemud.game._board import Board
from tilemud.game._rules import RuleConfig

#: Why a battle ended: its last tick passed, or the board filled up.
EndReason: TypeAlias = Literal["time", "board_full"]


def frozen_scores(scores: Mapping[str, int]) -> Mapping[str, int]:
    """A read-only copy of ``scores``, keyed in sorted order."""
    return MappingProxyType(dict(sorted(scores.items())))


def score_board(board: Board, rules: RuleConfig) -> dict[str, int]:
    """Count every owner's score on ``board`` from scratch (``O(tiles)``).

    Raises:
        KeyError: a tile's kind is not one of ``rules.tile_kinds``.
    """
    if rules.scoring == "tiles_held":
        return dict(board.holdings)
    scores: dict[str, int] = {}
    for placed in board.tiles():
        owner = placed.tile.owner
        scores[owner] = scores.get(owner, 0) + rules.tile_score(placed.tile.kind)
    return scores


@attrs.frozen(kw_only=True)
class BattleResult:
    """How a battle ended.

    Attributes:
        tick: the last tick of the battle (the one at whose end it ended).
        reason: ``time`` or ``board_full`` (``board_full`` when both hold).
        scores: final scores of every player holding a tile.
        winners: the players with the highest score, sorted; empty when nobody scored.
    """

    tick: int
    reason: EndReason
    scores: Mapping[str, int]
    winners: tuple[str, ...]

    @classmethod
    def from_scores(
        cls, *, tick: int, reason: EndReason, scores: Mapping[str, int]
    ) -> BattleResult:
        """Build the result, naming as winners everyone tied on the best positive score."""
        best = max(scores.values(), default=0)
        winners = tuple(sorted(p for p, s in scores.items() if s == best)) if best > 0 else ()
        return cls(tick=tick, reason=reason, scores=frozen_scores(scores), winners=winners)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; :meth:`from_dict` inverts it."""
        return {
            "tick": self.tick,
            "reason": self.reason,
            "scores": dict(self.scores),
            "winners": list(self.winners),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BattleResult:
        """Rebuild a result from :meth:`to_dict`'s shape, strictly.

        Raises:
            KeyError: a field is missing.
            ValueError: a field has the wrong shape.
        """
        reason = data["reason"]
        if reason not in ("time", "board_full"):
            raise ValueError(f"unknown battle end reason {reason!r}")
        scores = data["scores"]
        if not isinstance(scores, Mapping) or not all(
            type(k) is str and type(v) is int for k, v in scores.items()
        ):
            raise ValueError("battle scores must map player ids to integers")
        tick, winners = data["tick"], data["winners"]
        if type(tick) is not int or not isinstance(winners, list | tuple):
            raise ValueError("a battle result needs an integer tick and a list of winners")
        if not all(type(w) is str for w in winners):
            raise ValueError("winners must be player ids")
        return cls(tick=tick, reason=reason, scores=frozen_scores(scores), winners=tuple(winners))
