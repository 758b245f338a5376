"""Rounds: an epic arena's play cut into stretches of ``rules.round_ticks`` ticks.

Round ``r`` (from 1) covers ticks ``(r - 1) * round_ticks + 1 .. r * round_ticks``. When
its last tick has been resolved (or, when the arena overran and skipped that tick, before
the first tick resolved past it), the round ends: its :class:`RoundResult` (scores and
winners, counted like a battle's) is taken and the board is *cleared*: the next round
starts from an empty board with no cooldowns, in the same arena, with the same seats.

Clearing (rather than decaying) makes every round a replay of its own: a round's log
re-simulates from :meth:`ArenaState.start <tilemud.game.ArenaState.start>` with the arena's
seed, exactly like a battle's, because the conflict and admission ranks depend on the tick
number and seed only, never on earlier rounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from tilemud.game._board import Board
from tilemud.game._rules import RuleConfig
from tilemud.game._scoring import frozen_scores
from tilemud.game._state import ArenaState


def round_of(tick: int, rules: RuleConfig) -> int:
    """The round tick ``tick`` (from 1) belongs to; always 1 without rounds."""
    if rules.round_ticks is None or tick < 1:
        return 1
    return (tick - 1) // rules.round_ticks + 1


def round_first_tick(round_number: int, rules: RuleConfig) -> int:
    """The first tick of round ``round_number``."""
    if rules.round_ticks is None:
        return 1
    return (round_number - 1) * rules.round_ticks + 1


def round_over(tick: int, round_number: int, rules: RuleConfig) -> bool:
    """Whether round ``round_number`` is over once ``tick`` has been resolved in it."""
    return rules.round_ticks is not None and round_of(tick + 1, rules) > round_number


@attrs.frozen(kw_only=True)
class RoundResult:
    """How one round of an arena ended.

    Attributes:
        round: the round's number, from 1.
        first_tick: its first tick.
        last_tick: the last tick resolved in it.
        scores: every tile holder's score at its end.
        winners: the players with the highest positive score, sorted; empty when nobody
            held a tile.
    """

    round: int
    first_tick: int
    last_tick: int
    scores: Mapping[str, int]
    winners: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; :meth:`from_dict` inverts it."""
        return {
            "round": self.round,
            "first_tick": self.first_tick,
            "last_tick": self.last_tick,
            "scores": dict(self.scores),
            "winners": list(self.winners),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundResult:
        """Rebuild a result from :meth:`to_dict`'s shape.

        Raises:
            KeyError: a field is missing.
            ValueError: a field has the wrong shape.
        """
        numbers = (data["round"], data["first_tick"], data["last_tick"])
        if not all(type(n) is int for n in numbers):
            raise ValueError("round, first_tick and last_tick must be integers")
        scores, winners = data["scores"], data["winners"]
        if not isinstance(scores, Mapping) or not all(
            type(k) is str and type(v) is int for k, v in scores.items()
        ):
            raise ValueError("round scores must map player ids to integers")
        if not isinstance(winners, list | tuple) or not all(type(w) is str for w in winners):
            raise ValueError("winners must be player ids")
        return cls(
            round=numbers[0],
            first_tick=numbers[1],
            last_tick=numbers[2],
            scores=frozen_scores(scores),
            winners=tuple(winners),
        )


def end_round(
    state: ArenaState, *, round_number: int, rules: RuleConfig
) -> tuple[ArenaState, RoundResult]:
    """End round ``round_number`` after ``state.tick``: its result, and the cleared state.

    The next state keeps only the tick number: an empty board, no cooldowns, no scores.
    """
    scores = state.scores
    best = max(scores.values(), default=0)
    winners = tuple(sorted(p for p, s in scores.items() if s == best)) if best > 0 else ()
    result = RoundResult(
        round=round_number,
        first_tick=round_first_tick(round_number, rules),
        last_tick=state.tick,
        scores=frozen_scores(scores),
        winners=winners,
    )
    return ArenaState(board=Board(rules.width, rules.height), tick=state.tick), result
