"""ArenaFrames: the frames it makes by hand are the protocol's own, byte for byte."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tilemud.actors.arena._frames import ArenaFrames
from tilemud.game import REJECT_REASONS, Outcome, Placement, PlacementResult
from tilemud.protocol import PlaceResult, encode_server

ids = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")),
    min_size=1,
    max_size=12,
)

OUTCOMES: tuple[Outcome, ...] = ("accepted", "rejected", "lost_conflict")


@st.composite
def results(draw: st.DrawFn) -> PlacementResult:
    placement = Placement(
        player_id=draw(ids),
        x=draw(st.integers(0, 2**16)),
        y=draw(st.integers(0, 2**16)),
        kind=draw(st.sampled_from(["wall", "stone", "wood", 'é"\\\n'])),
        rid=draw(ids),
    )
    outcome = draw(st.sampled_from(OUTCOMES))
    return PlacementResult(
        placement=placement,
        outcome=outcome,
        reason=draw(st.sampled_from(REJECT_REASONS)) if outcome == "rejected" else None,
        winner=draw(ids) if outcome == "lost_conflict" else None,
        captured=draw(st.none() | ids) if outcome == "accepted" else None,
    )


@given(result=results(), arena_id=ids, rid=ids, tick=st.integers(0, 2**53))
@settings(max_examples=300)
def test_a_place_result_is_the_protocols_encoding(
    result: PlacementResult, arena_id: str, rid: str, tick: int
) -> None:
    """Every outcome, with and without a capture, any ids (escapes, non-ASCII): the very
    text of the protocol's encoding of the message."""
    expected = encode_server(PlaceResult.from_result(result, rid=rid, arena_id=arena_id, tick=tick))
    assert ArenaFrames(arena_id).place_result(result, rid=rid, tick=tick) == expected
