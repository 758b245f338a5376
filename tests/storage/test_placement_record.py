"""PlacementRecord.of, built through the slots, equals the checked constructor's record."""

from __future__ import annotations

import attrs
import pytest

from tilemud.game import Placement
from tilemud.storage._records import PlacementRecord


@pytest.mark.parametrize("rid", [None, "r1"])
def test_of_equals_the_constructor(rid: str | None) -> None:
    placement = Placement(player_id="ann", x=3, y=4, kind="stone", rid=rid)
    record = PlacementRecord.of("a_1", 7, 2, placement)
    expected = PlacementRecord(
        arena_id="a_1", tick=7, ordinal=2, player_id="ann", x=3, y=4, kind="stone", rid=rid
    )
    assert record == expected
    assert attrs.asdict(record) == attrs.asdict(expected)  # every field set
    assert repr(record) == repr(expected)
    assert record.to_placement() == Placement(player_id="ann", x=3, y=4, kind="stone")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.tick = 8  # type: ignore[misc]
