"""The seed's targets table: pass, fail, and n/a when a figure could not be measured."""

from __future__ import annotations

from typing import Any

from tilemud.loadtest import TargetRow, evaluate_targets
from tilemud.loadtest._targets import render_targets


def rows(**overrides: Any) -> dict[str, TargetRow]:
    figures: dict[str, Any] = {
        "broadcast_p95_ms": 25.0,
        "tick_ms": {"metric": "tilemud_tick_duration_seconds", "p95": 5.0, "p99": 10.0},
        "tick_note": "",
        "join_p95_ms": 300.0,
        "largest_arena": 300,
        "drop_rate": 0.0,
    }
    figures.update(overrides)
    return {row.name: row for row in evaluate_targets(**figures)}


def verdicts(table: dict[str, TargetRow]) -> dict[str, str]:
    return {name: row.verdict for name, row in table.items()}


def test_every_target_met() -> None:
    assert verdicts(rows()) == {
        "broadcast latency p95": "pass",
        "conflict tick p99": "pass",
        "join handshake p95": "pass",
        "epic arena": "pass",
    }


def test_each_target_missed() -> None:
    table = rows(
        broadcast_p95_ms=200.0,  # the goal is strictly below 200 ms
        tick_ms={"metric": "m", "p99": 100.5},
        join_p95_ms=1000.0,
        drop_rate=0.05,
    )
    assert set(verdicts(table).values()) == {"fail"}


def test_the_tick_goal_includes_100_ms() -> None:
    assert rows(tick_ms={"metric": "m", "p99": 100.0})["conflict tick p99"].verdict == "pass"


def test_the_tick_falls_back_to_p95_and_shows_the_max() -> None:
    row = rows(tick_ms={"metric": "m", "p95": 40.0, "max": 150.0})["conflict tick p99"]
    assert row.verdict == "pass"
    assert "40.0 ms" in row.measured
    assert "max 150.0 ms" in row.measured


def test_what_was_not_measured_is_not_a_pass() -> None:
    table = rows(
        broadcast_p95_ms=None,
        tick_ms=None,
        tick_note="not available: GET /metrics: HTTP 404",
        join_p95_ms=None,
        drop_rate=None,
    )
    assert set(verdicts(table).values()) == {"n/a"}
    assert "404" in table["conflict tick p99"].note


def test_the_epic_arena_needs_300_players_in_one_arena() -> None:
    row = rows(largest_arena=299, drop_rate=0.0)["epic arena"]
    assert row.verdict == "n/a"
    assert "299 players" in row.measured
    assert rows(largest_arena=300, drop_rate=0.049)["epic arena"].verdict == "pass"


def test_the_table_renders_one_line_per_target() -> None:
    text = render_targets(list(rows().values()))
    lines = text.splitlines()
    assert lines[0].split() == ["target", "goal", "measured", "verdict", "note"]
    assert len(lines) == 5
    assert all("PASS" in line for line in lines[1:])


def test_a_tick_beyond_the_largest_bucket_is_a_lower_bound() -> None:
    row = rows(tick_ms={"metric": "m", "p99": None, "p99_above": 200.0, "max_above": 200.0})
    tick = row["conflict tick p99"]
    assert tick.verdict == "fail"
    assert tick.measured == "> 200.0 ms (max > 200.0 ms)"
    unknown = rows(tick_ms={"metric": "m", "p99": None, "p99_above": 50.0})
    assert unknown["conflict tick p99"].verdict == "n/a"
