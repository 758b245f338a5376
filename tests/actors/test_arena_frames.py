"""ArenaFrames: the frames it makes by hand are the protocol's own, byte for byte."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.game.strategies import SEED, placements_for, rule_configs
from tilemud.actors.arena._frames import ArenaFrames
from tilemud.game import (
    REJECT_REASONS,
    ArenaState,
    Outcome,
    Placement,
    PlacementResult,
    RuleConfig,
    resolve_tick,
)
from tilemud.protocol import ArenaTick, PlaceResult, encode_server, encode_stream_body

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


@given(rules=rule_configs(), data=st.data(), arena_id=ids, sent_at=st.floats(0, 2**40))
@settings(max_examples=200)
def test_a_tick_body_is_the_protocols_encoding(
    rules: RuleConfig, data: st.DataObject, arena_id: str, sent_at: float
) -> None:
    """Captures, players losing their last tile, kind points of 0: the very text of the
    protocol's encoding of the message, tick after tick."""
    ticks = data.draw(st.lists(placements_for(rules), min_size=1, max_size=6))
    state = ArenaState.start(rules)
    frames = ArenaFrames(arena_id)
    for tick, placements in enumerate(ticks, start=1):
        before = state
        state, outcome = resolve_tick(state, placements, tick=tick, seed=SEED, rules=rules)
        frame = ArenaTick.from_outcome(
            outcome, arena_id=arena_id, sent_at=sent_at, scores_before=before.scores
        )
        expected = encode_stream_body(frame)
        assert frames.tick_body(outcome, scores_before=before.scores, sent_at=sent_at) == expected
