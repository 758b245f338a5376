"""Results and placed tiles built without attrs' checks equal the checked ones."""

from __future__ import annotations

import attrs
import pytest

from tilemud.game import PlacedTile, Placement, PlacementResult, Tile
from tilemud.game._placement import unchecked_placed, unchecked_result

PLACEMENT = Placement(player_id="ann", x=1, y=2, kind="stone", rid="r1")


@pytest.mark.parametrize(
    "fields",
    [
        {"outcome": "accepted"},
        {"outcome": "accepted", "captured": "bob"},
        {"outcome": "rejected", "reason": "occupied"},
        {"outcome": "lost_conflict", "winner": "bob"},
    ],
)
def test_unchecked_result_equals_the_checked_one(fields: dict[str, str]) -> None:
    checked = PlacementResult(placement=PLACEMENT, **fields)  # type: ignore[arg-type]
    unchecked = unchecked_result(
        PLACEMENT,
        fields["outcome"],  # type: ignore[arg-type]
        fields.get("reason"),  # type: ignore[arg-type]
        winner=fields.get("winner"),
        captured=fields.get("captured"),
    )
    assert unchecked == checked
    assert attrs.asdict(unchecked) == attrs.asdict(checked)  # every field set
    assert hash(unchecked) == hash(checked)
    assert repr(unchecked) == repr(checked)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        unchecked.outcome = "rejected"  # type: ignore[misc]


def test_unchecked_placed_equals_the_checked_one() -> None:
    tile = Tile(owner="ann", kind="stone")
    unchecked = unchecked_placed(3, 4, tile)
    checked = PlacedTile(x=3, y=4, tile=tile)
    assert unchecked == checked
    assert attrs.asdict(unchecked) == attrs.asdict(checked)
    assert repr(unchecked) == repr(checked)
