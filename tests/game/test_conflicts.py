"""The conflict rule and the admission rule, checked against their documented formulas."""

from __future__ import annotations

import hashlib
from collections import Counter

from tests.game.strategies import SEED, place, small_rules, step
from tilemud.game import ArenaState, Placement, admission_rank, conflict_rank


def documented_conflict_rank(seed: int, tick: int, x: int, y: int, player: str) -> bytes:
    data = seed.to_bytes(8, "big") + tick.to_bytes(8, "big")
    data += x.to_bytes(4, "big") + y.to_bytes(4, "big") + player.encode()
    return hashlib.blake2b(data, digest_size=16, person=b"tilemud.conflict").digest()


def documented_admission_rank(seed: int, tick: int, p: Placement) -> bytes:
    data = seed.to_bytes(8, "big") + tick.to_bytes(8, "big")
    data += p.x.to_bytes(4, "big") + p.y.to_bytes(4, "big")
    for text in (p.player_id, p.kind):
        raw = text.encode()
        data += len(raw).to_bytes(4, "big") + raw
    data += b"\x00" if p.rid is None else b"\x01" + p.rid.encode()
    return hashlib.blake2b(data, digest_size=16, person=b"tilemud.admit").digest()


def test_ranks_follow_their_documented_formulas() -> None:
    for tick in (1, 2, 99):
        for player in ("ann", "bob", "éva"):
            assert conflict_rank(
                seed=SEED, tick=tick, x=3, y=4, player_id=player
            ) == documented_conflict_rank(SEED, tick, 3, 4, player)
            for p in (place(player, 1, 2), place(player, 1, 2, "wood", rid="r9")):
                assert admission_rank(seed=SEED, tick=tick, placement=p) == (
                    documented_admission_rank(SEED, tick, p)
                )


def test_the_lowest_conflict_rank_takes_the_cell() -> None:
    rules = small_rules()
    players = ["ann", "bob", "cy", "dee"]
    for tick in range(1, 30):
        _, outcome = step(
            ArenaState.start(rules),
            rules,
            *(place(p, 2, 2) for p in reversed(players)),
            tick=tick,
        )
        expected = min(players, key=lambda p: documented_conflict_rank(SEED, tick, 2, 2, p))
        by_player = {r.placement.player_id: r for r in outcome.results}
        assert by_player[expected].outcome == "accepted"
        for player in players:
            if player != expected:
                assert by_player[player].outcome == "lost_conflict"
                assert by_player[player].winner == expected
                assert by_player[player].reason is None


def test_everyone_wins_some_contests() -> None:
    rules = small_rules()
    wins: Counter[str] = Counter()
    for tick in range(1, 201):
        state, _ = step(
            ArenaState.start(rules), rules, place("ann", 0, 0), place("bob", 0, 0), tick=tick
        )
        tile = state.board.get(0, 0)
        assert tile is not None
        wins[tile.owner] += 1
    assert 60 < wins["ann"] < 140


def test_kind_and_rid_do_not_change_who_wins_a_cell() -> None:
    rules = small_rules()
    winners = set()
    for kind in ("stone", "wood", "crystal"):
        for rid in (None, "a", "zzz"):
            state, _ = step(
                ArenaState.start(rules),
                rules,
                place("ann", 4, 1, kind, rid),
                place("bob", 4, 1),
                tick=7,
            )
            tile = state.board.get(4, 1)
            assert tile is not None
            winners.add(tile.owner)
    assert len(winners) == 1


def test_seed_changes_the_draw() -> None:
    rules = small_rules()
    owners = set()
    for seed in range(40):
        state, _ = step(
            ArenaState.start(rules), rules, place("ann", 0, 0), place("bob", 0, 0), seed=seed
        )
        tile = state.board.get(0, 0)
        assert tile is not None
        owners.add(tile.owner)
    assert owners == {"ann", "bob"}


def test_with_cooldown_one_placement_per_player_is_admitted() -> None:
    rules = small_rules(cooldown_ticks=2)
    mine = [place("ann", x, 0, rid=f"r{x}") for x in range(5)]
    for tick in range(1, 20):
        _, outcome = step(ArenaState.start(rules), rules, *mine, tick=tick)
        expected = min(mine, key=lambda p: documented_admission_rank(SEED, tick, p))
        accepted = [r.placement for r in outcome.results if r.outcome == "accepted"]
        assert accepted == [expected]
        reasons = {r.reason for r in outcome.results if r.outcome != "accepted"}
        assert reasons == {"cooldown"}


def test_an_admitted_placement_that_loses_leaves_the_player_without_a_tile() -> None:
    rules = small_rules(cooldown_ticks=2)
    # Find a tick where ann's admitted placement is on bob's cell and bob wins it.
    for tick in range(1, 200):
        ann = [place("ann", 0, 0), place("ann", 5, 5)]
        admitted = min(ann, key=lambda p: documented_admission_rank(SEED, tick, p))
        bob_wins = documented_conflict_rank(SEED, tick, 0, 0, "bob") < documented_conflict_rank(
            SEED, tick, 0, 0, "ann"
        )
        if (admitted.x, admitted.y) == (0, 0) and bob_wins:
            break
    else:  # pragma: no cover
        raise AssertionError("no such tick")
    state, outcome = step(ArenaState.start(rules), rules, *ann, place("bob", 0, 0), tick=tick)
    by_cell = {(r.placement.player_id, r.placement.x): r for r in outcome.results}
    assert by_cell["ann", 0].outcome == "lost_conflict"
    assert by_cell["ann", 0].winner == "bob"
    assert by_cell["ann", 5].reason == "cooldown"
    assert state.board.tiles_held("ann") == 0
    assert "ann" not in state.last_placed


def test_without_cooldown_a_player_may_place_several_tiles_per_tick() -> None:
    rules = small_rules(cooldown_ticks=0)
    state, outcome = step(
        ArenaState.start(rules), rules, place("ann", 0, 0), place("ann", 1, 0), place("ann", 2, 0)
    )
    assert [r.outcome for r in outcome.results] == ["accepted"] * 3
    assert state.board.tiles_held("ann") == 3


def test_without_cooldown_one_players_placements_on_one_cell_resolve_to_one() -> None:
    rules = small_rules(cooldown_ticks=0)
    mine = [place("ann", 3, 3, "stone", "a"), place("ann", 3, 3, "wood", "b")]
    for tick in range(1, 20):
        state, outcome = step(ArenaState.start(rules), rules, *mine, tick=tick)
        expected = min(mine, key=lambda p: documented_admission_rank(SEED, tick, p))
        assert state.board.get(3, 3) == expected.tile
        results = {r.placement.rid: r for r in outcome.results}
        loser = "b" if expected.rid == "a" else "a"
        assert results[expected.rid].outcome == "accepted"
        assert results[loser].outcome == "lost_conflict"
        assert results[loser].winner == "ann"


def test_identical_placements_each_get_a_result() -> None:
    rules = small_rules(cooldown_ticks=0)
    p = place("ann", 1, 1, rid="same")
    _, outcome = step(ArenaState.start(rules), rules, p, p, p)
    assert sorted(r.outcome for r in outcome.results) == [
        "accepted",
        "lost_conflict",
        "lost_conflict",
    ]
    assert len(outcome.placed) == 1


def test_a_losing_player_is_not_put_on_cooldown() -> None:
    rules = small_rules(cooldown_ticks=3)
    state, outcome = step(ArenaState.start(rules), rules, place("ann", 0, 0), place("bob", 0, 0))
    (winner,) = (r.placement.player_id for r in outcome.results if r.outcome == "accepted")
    loser = "bob" if winner == "ann" else "ann"
    assert dict(state.last_placed) == {winner: 1}
    _, outcome = step(state, rules, place(loser, 4, 4))
    assert outcome.results[0].outcome == "accepted"


def test_results_come_in_canonical_order() -> None:
    rules = small_rules(cooldown_ticks=0)
    placements = [place("bob", 0, 1), place("ann", 1, 0), place("ann", 0, 1), place("ann", 0, 0)]
    _, outcome = step(ArenaState.start(rules), rules, *placements)
    assert [(r.placement.player_id, r.placement.x, r.placement.y) for r in outcome.results] == [
        ("ann", 0, 0),
        ("ann", 1, 0),
        ("ann", 0, 1),
        ("bob", 0, 1),
    ]
    assert [(t.x, t.y) for t in outcome.placed] == sorted(
        ((t.x, t.y) for t in outcome.placed), key=lambda c: (c[1], c[0])
    )


def test_a_players_duplicate_loses_to_whoever_takes_the_cell() -> None:
    # Regression: ann's second placement on the cell must name bob when bob takes it.
    rules = small_rules(cooldown_ticks=0)
    for tick in range(1, 40):
        state, outcome = step(
            ArenaState.start(rules),
            rules,
            place("ann", 0, 0, rid="1"),
            place("ann", 0, 0, rid="2"),
            place("bob", 0, 0),
            tick=tick,
        )
        holder = state.board.get(0, 0)
        assert holder is not None
        expected = min(("ann", "bob"), key=lambda p: documented_conflict_rank(SEED, tick, 0, 0, p))
        assert holder.owner == expected
        losers = [r for r in outcome.results if r.outcome == "lost_conflict"]
        assert len(losers) == 2
        assert {r.winner for r in losers} == {expected}
