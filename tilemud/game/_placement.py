"""Placements players ask for, and the one result each of them gets."""

from __future__ import annotations

from typing import Any, Final, Literal, TypeAlias, get_args

import attrs

from tilemud.game._board import PlacedTile, Tile

#: What became of a placement.
Outcome: TypeAlias = Literal["accepted", "rejected", "lost_conflict"]

#: Why a placement was rejected, in the order the checks run (the first failing one wins).
RejectReason: TypeAlias = Literal[
    "battle_over",
    "unknown_kind",
    "out_of_bounds",
    "cooldown",
    "occupied",
    "not_adjacent",
    "held_firmly",
]

#: Every :data:`RejectReason`, in check order.
REJECT_REASONS: Final[tuple[RejectReason, ...]] = get_args(RejectReason)

#: The sort key of the canonical placement order (see :func:`placement_order_key`).
PlacementKey: TypeAlias = tuple[str, int, int, str, bool, str]


@attrs.frozen(kw_only=True)
class Placement:
    """One player's request to put a tile of ``kind`` on cell ``(x, y)`` in some tick.

    Attributes:
        player_id: who places (a player or an NPC id).
        x: column, 0 at the left.
        y: row, 0 at the top.
        kind: a tile kind name of the rule config.
        rid: the client's request id, carried through to the result; it never changes
            whether the placement is accepted.
    """

    player_id: str
    x: int
    y: int
    kind: str
    rid: str | None = None

    @property
    def tile(self) -> Tile:
        """The tile this placement would put down."""
        return Tile(owner=self.player_id, kind=self.kind)


def placement_order_key(placement: Placement) -> PlacementKey:
    """The canonical order of placements: by player, then ``y``, ``x``, kind, rid.

    A missing ``rid`` sorts before any string. Two placements with equal keys are equal.
    """
    rid = placement.rid
    return (
        placement.player_id,
        placement.y,
        placement.x,
        placement.kind,
        rid is not None,
        rid or "",
    )


@attrs.frozen(kw_only=True)
class PlacementResult:
    """The one result of one placement in one tick.

    Attributes:
        placement: the placement this answers.
        outcome: ``accepted``, ``rejected`` or ``lost_conflict``.
        reason: why it was rejected; set exactly when ``outcome`` is ``rejected``.
        winner: the player who took the cell; set exactly when ``outcome`` is
            ``lost_conflict`` (it is the placement's own player for a duplicate of theirs
            on a cell they took, possible only without a cooldown).
        captured: for an accepted capture, the player who held the cell before; None
            for every other result.
    """

    placement: Placement
    outcome: Outcome
    reason: RejectReason | None = None
    winner: str | None = None
    captured: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.reason is not None) != (self.outcome == "rejected"):
            raise ValueError(f"a {self.outcome} result cannot have reason {self.reason!r}")
        if (self.winner is not None) != (self.outcome == "lost_conflict"):
            raise ValueError(f"a {self.outcome} result cannot have winner {self.winner!r}")
        if self.captured is not None and self.outcome != "accepted":
            raise ValueError(f"a {self.outcome} result cannot capture")


# Values built without attrs' __init__, for resolve_tick: one result per placement and one
# placed tile per acceptance, ~60 each a tick on epic-300, where the frozen __init__ (each
# field set through object.__setattr__, then the checks) cost twice as much (issue 13).
# Only for values that pass the checks by construction; tests/game/test_placement.py holds
# them equal to the checked ones.
_NEW: Final = object.__new__


def slot_setters(cls: type) -> tuple[Any, ...]:
    """The setters of a slotted attrs class's fields, in field order: a value made with
    ``object.__new__`` then set through them skips the frozen ``__init__`` (its checks
    included), for a caller whose values pass them by construction."""
    return tuple(cls.__dict__[field.name].__set__ for field in attrs.fields(cls))


_SET_PLACEMENT, _SET_OUTCOME, _SET_REASON, _SET_WINNER, _SET_CAPTURED = slot_setters(
    PlacementResult
)
_SET_X, _SET_Y, _SET_TILE = slot_setters(PlacedTile)


def unchecked_result(
    placement: Placement,
    outcome: Outcome,
    reason: RejectReason | None = None,
    winner: str | None = None,
    captured: str | None = None,
) -> PlacementResult:
    """``PlacementResult(...)`` without the checks, for a result that passes them."""
    result: PlacementResult = _NEW(PlacementResult)
    _SET_PLACEMENT(result, placement)
    _SET_OUTCOME(result, outcome)
    _SET_REASON(result, reason)
    _SET_WINNER(result, winner)
    _SET_CAPTURED(result, captured)
    return result


def unchecked_placed(x: int, y: int, tile: Tile) -> PlacedTile:
    """``PlacedTile(x=x, y=y, tile=tile)`` made as :func:`unchecked_result` is."""
    placed: PlacedTile = _NEW(PlacedTile)
    _SET_X(placed, x)
    _SET_Y(placed, y)
    _SET_TILE(placed, tile)
    return placed
