"""Re-simulating replay logs: ``resimulate`` and ``check_replay``."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.game.strategies import SEED, place, placements_for, play, rule_configs, small_rules
from tilemud.game import (
    ArenaState,
    ReplayTick,
    RuleConfig,
    TickOutcome,
    check_replay,
    resimulate,
)


def log_of(outcomes: list[TickOutcome], *, every_checksum: bool = False) -> list[ReplayTick]:
    """What the arena logs: ticks that accepted something, with their checksum."""
    return [
        ReplayTick(tick=o.tick, placements=o.accepted, checksum=o.checksum)
        for o in outcomes
        if o.accepted or every_checksum
    ]


def a_game() -> tuple[RuleConfig, ArenaState, list[ReplayTick]]:
    rules = small_rules()
    ticks = [
        [place("ann", 0, 0), place("bob", 0, 0), place("bob", 1, 1, "wood")],
        [],
        [place("cy", 2, 2), place("ann", 3, 3)],
        [place("ann", 3, 3)],  # rejected: occupied; the tick accepts nothing
        [place("bob", 5, 5, "crystal")],
    ]
    live, outcomes = play(rules, ticks)
    return rules, live, log_of(outcomes)


def test_resimulate_yields_each_logged_tick_in_order() -> None:
    rules, live, log = a_game()
    steps = list(resimulate(log, rules=rules, seed=SEED))
    assert [s.tick for s in steps] == [1, 3, 5]
    assert [s.checksum for s in steps] == [t.checksum for t in log]
    assert all(s.reproduced and not s.not_accepted for s in steps)
    assert steps[-1].state == live


def test_check_replay_reports_a_sound_log() -> None:
    rules, live, log = a_game()
    check = check_replay(log, rules=rules, seed=SEED)
    assert check.ok
    assert (check.ticks, check.checksums, check.divergence) == (3, 3, None)
    assert check.final == live


def test_ticks_without_a_stored_checksum_are_resolved_but_not_compared() -> None:
    rules, live, log = a_game()
    log = [attrs.evolve(t, checksum=None) if t.tick == 3 else t for t in log]
    check = check_replay(log, rules=rules, seed=SEED)
    assert check.ok
    assert (check.ticks, check.checksums) == (3, 2)
    assert check.final == live


def test_an_altered_checksum_is_the_divergence() -> None:
    rules, _, log = a_game()
    log[1] = attrs.evolve(log[1], checksum="b2add:" + "0" * 32)
    check = check_replay(log, rules=rules, seed=SEED)
    assert not check.ok
    assert check.divergence is not None
    assert check.divergence.tick == 3
    assert check.divergence.expected == "b2add:" + "0" * 32
    assert check.divergence.actual != check.divergence.expected
    assert check.divergence.not_accepted == ()
    assert (check.ticks, check.checksums) == (2, 1)  # it stopped there


def test_a_moved_placement_is_the_divergence() -> None:
    rules, _, log = a_game()
    moved = attrs.evolve(log[0].placements[0], x=4)
    log[0] = attrs.evolve(log[0], placements=(moved, *log[0].placements[1:]))
    check = check_replay(log, rules=rules, seed=SEED)
    assert check.divergence is not None
    assert check.divergence.tick == 1
    assert check.divergence.not_accepted == ()  # accepted, elsewhere: the checksum tells


def test_a_placement_the_rules_refuse_is_the_divergence_even_without_a_checksum() -> None:
    rules, _, log = a_game()
    onto_taken_cell = place("dee", 0, 0)
    log[1] = attrs.evolve(log[1], placements=(*log[1].placements, onto_taken_cell), checksum=None)
    check = check_replay(log, rules=rules, seed=SEED)
    assert check.divergence is not None
    assert check.divergence.tick == 3
    assert check.divergence.expected is None
    (refused,) = check.divergence.not_accepted
    assert refused.placement == onto_taken_cell
    assert refused.reason == "occupied"


def test_a_log_that_does_not_move_forward_is_refused() -> None:
    rules, _, log = a_game()
    with pytest.raises(ValueError, match="does not follow"):
        check_replay([log[0], log[0]], rules=rules, seed=SEED)


def test_resimulating_from_a_snapshot_state() -> None:
    rules, live, log = a_game()
    first = next(iter(resimulate(log[:1], rules=rules, seed=SEED)))
    check = check_replay(log[1:], rules=rules, seed=SEED, start=first.state)
    assert check.ok
    assert check.final == live


@settings(max_examples=100)
@given(rule_configs(), st.integers(0, 2**64 - 1), st.booleans(), st.data())
def test_every_random_game_replays_to_its_checksums(
    rules: RuleConfig, seed: int, every_checksum: bool, data: st.DataObject
) -> None:
    ticks = [data.draw(placements_for(rules)) for _ in range(data.draw(st.integers(1, 12)))]
    live, outcomes = play(rules, ticks, seed=seed)
    log = log_of(outcomes, every_checksum=every_checksum)
    check = check_replay(log, rules=rules, seed=seed)
    assert check.ok, check.divergence
    assert check.checksums == len(log)
    assert check.final.board == live.board
    assert check.final.scores == live.scores
