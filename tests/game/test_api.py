"""Pins the public surface of tilemud.game: changing it is a decision, not an accident."""

from __future__ import annotations

import tilemud.game

PUBLIC = {
    "ARENA_RULES",
    "ArenaState",
    "BATTLE_RULES",
    "BattleResult",
    "Board",
    "DEFAULT_TILE_KINDS",
    "EndReason",
    "MAX_BOARD_SIDE",
    "Mode",
    "Outcome",
    "PlacedTile",
    "Placement",
    "PlacementKey",
    "PlacementResult",
    "REJECT_REASONS",
    "RULES_FORMAT_VERSION",
    "RejectReason",
    "ReplayCheck",
    "ReplayDivergence",
    "ReplayTick",
    "ResimulatedTick",
    "Row",
    "RuleConfig",
    "RuleConfigError",
    "SNAPSHOT_FORMAT",
    "STATE_FORMAT",
    "ScoringRule",
    "SnapshotError",
    "TickOutcome",
    "Capture",
    "RoundResult",
    "end_round",
    "round_first_tick",
    "round_of",
    "round_over",
    "Tile",
    "TileKind",
    "admission_rank",
    "board_checksum",
    "board_from_dict",
    "board_to_dict",
    "check_replay",
    "cell_digest",
    "conflict_rank",
    "decode_board",
    "default_rules",
    "encode_board",
    "placement_order_key",
    "resimulate",
    "resolve_tick",
    "score_board",
}


def test_public_surface() -> None:
    assert {name for name in dir(tilemud.game) if not name.startswith("_")} == PUBLIC
