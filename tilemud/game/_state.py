"""What the rules remember between ticks: the board, cooldowns, scores, the battle's end."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from tilemud.game._board import Board
from tilemud.game._errors import SnapshotError
from tilemud.game._rules import RuleConfig
from tilemud.game._scoring import BattleResult, frozen_scores, score_board
from tilemud.game._snapshot import board_from_dict, board_to_dict

#: The layout version of arena state snapshots.
STATE_FORMAT: Final = 1
_NOTHING: Final[Mapping[str, int]] = MappingProxyType({})


@attrs.frozen(kw_only=True)
class ArenaState:
    """The rules' state of one arena after some tick; a value, never changed in place.

    Attributes:
        board: the board.
        tick: the last resolved tick; 0 before the first (ticks are numbered from 1).
        last_placed: for each player whose cooldown may still block a later tick, the tick
            of their last accepted placement. Expired entries are dropped, so equal
            histories give equal states.
        scores: every tile holder's score (see :mod:`tilemud.game._scoring`).
        ended: how the battle ended, once it has; an arena without an end keeps ``None``.
    """

    board: Board
    tick: int = 0
    last_placed: Mapping[str, int] = _NOTHING
    scores: Mapping[str, int] = _NOTHING
    ended: BattleResult | None = None

    @classmethod
    def start(cls, rules: RuleConfig) -> ArenaState:
        """The state before tick 1: an empty board of the rules' size."""
        return cls(board=Board(rules.width, rules.height))

    def ready_at(self, player_id: str, rules: RuleConfig) -> int:
        """The first tick in which a placement by ``player_id`` can pass the cooldown."""
        last = self.last_placed.get(player_id)
        soonest = self.tick + 1
        return soonest if last is None else max(soonest, last + rules.cooldown_ticks)

    def to_dict(self, rules: RuleConfig) -> dict[str, Any]:
        """Encode this state as plain JSON types, tagged with ``rules.content_hash``.

        Scores are not stored: :meth:`from_dict` recounts them from the board.
        """
        return {
            "format": STATE_FORMAT,
            "rules": rules.content_hash,
            "tick": self.tick,
            "board": board_to_dict(self.board),
            "last_placed": dict(sorted(self.last_placed.items())),
            "ended": None if self.ended is None else self.ended.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], rules: RuleConfig) -> ArenaState:
        """Decode :meth:`to_dict`'s output for the same ``rules``.

        Raises:
            SnapshotError: the snapshot is malformed, of another format, or was taken
                under different rules.
        """
        if not isinstance(data, Mapping) or data.get("format") != STATE_FORMAT:
            raise SnapshotError("not an arena state snapshot of a known format")
        if data.get("rules") != rules.content_hash:
            raise SnapshotError(
                f"snapshot was taken under rules {data.get('rules')!r}, not {rules.content_hash}"
            )
        try:
            board = board_from_dict(data["board"])
            tick = data["tick"]
            last_placed = data["last_placed"]
            ended_raw = data["ended"]
            ended = None if ended_raw is None else BattleResult.from_dict(ended_raw)
            scores = score_board(board, rules)
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"corrupt arena state snapshot: {exc!r}") from exc
        if (board.width, board.height) != (rules.width, rules.height):
            raise SnapshotError("the snapshot's board does not have the rules' size")
        if type(tick) is not int or tick < 0:
            raise SnapshotError(f"bad tick {tick!r}")
        if not isinstance(last_placed, Mapping) or not all(
            type(k) is str and type(v) is int for k, v in last_placed.items()
        ):
            raise SnapshotError("last_placed must map player ids to ticks")
        return cls(
            board=board,
            tick=tick,
            last_placed=MappingProxyType(dict(last_placed)),
            scores=frozen_scores(scores),
            ended=ended,
        )
