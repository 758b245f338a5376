"""Rule configs: validation, dict round-trip, content hash stability."""

from __future__ import annotations

import hashlib
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.game.strategies import rule_configs
from tilemud.errors import ConfigError
from tilemud.game import (
    ARENA_RULES,
    BATTLE_RULES,
    RuleConfig,
    RuleConfigError,
    TileKind,
    default_rules,
)

# Pinned: if one of these changes, every stored config's identity changes with it.
BATTLE_HASH = "sha256:601eab54d860fea53c652a7de508501b086f7423f215d68e8f98374f4b1f53c2"
ARENA_HASH = "sha256:00510e0f34ef23c49d5d40899f05e92d1adeab773ead0bb336791dafa4ae3165"


def test_defaults_match_the_documented_modes() -> None:
    assert (BATTLE_RULES.mode, BATTLE_RULES.width, BATTLE_RULES.height) == ("battle", 32, 32)
    assert BATTLE_RULES.player_cap == 8
    assert BATTLE_RULES.battle_ticks == 1800
    assert BATTLE_RULES.end_on_full_board
    assert (ARENA_RULES.mode, ARENA_RULES.width, ARENA_RULES.height) == ("arena", 256, 256)
    assert (ARENA_RULES.player_cap, ARENA_RULES.npc_cap) == (300, 100)
    assert ARENA_RULES.battle_ticks is None
    assert not ARENA_RULES.end_on_full_board
    assert BATTLE_RULES.tick_rate_hz == ARENA_RULES.tick_rate_hz == 10
    assert default_rules("battle") is BATTLE_RULES
    assert default_rules("arena") is ARENA_RULES
    with pytest.raises(RuleConfigError):
        default_rules("duel")  # type: ignore[arg-type]


def test_content_hash_is_pinned() -> None:
    assert BATTLE_RULES.content_hash == BATTLE_HASH
    assert ARENA_RULES.content_hash == ARENA_HASH


def test_content_hash_is_sha256_of_canonical_json() -> None:
    canonical = orjson.dumps(BATTLE_RULES.to_dict(), option=orjson.OPT_SORT_KEYS)
    assert BATTLE_RULES.canonical_json() == canonical
    assert b" " not in canonical
    assert BATTLE_RULES.content_hash == "sha256:" + hashlib.sha256(canonical).hexdigest()


@given(rule_configs())
def test_dict_round_trip(rules: RuleConfig) -> None:
    data = rules.to_dict()
    assert RuleConfig.from_dict(data) == rules
    # Through JSON too, as storage and the admin API carry it.
    again = RuleConfig.from_dict(orjson.loads(orjson.dumps(data)))
    assert again == rules
    assert again.content_hash == rules.content_hash


@given(rule_configs())
def test_equal_values_give_equal_hashes(rules: RuleConfig) -> None:
    twin = RuleConfig.from_dict(rules.to_dict())
    assert twin is not rules
    assert twin.content_hash == rules.content_hash


_CHANGES: dict[str, Any] = {
    "width": 33,
    "height": 31,
    "tick_rate_hz": 20,
    "require_adjacency": False,
    "cooldown_ticks": 4,
    "tile_kinds": (TileKind(name="stone"),),
    "scoring": "kind_points",
    "player_cap": 9,
    "npc_cap": 0,
    "battle_ticks": 1801,
    "end_on_full_board": False,
}


@pytest.mark.parametrize(("field", "value"), sorted(_CHANGES.items()))
def test_any_change_changes_the_hash(field: str, value: Any) -> None:
    changed = attrs.evolve(BATTLE_RULES, **{field: value})
    assert changed != BATTLE_RULES
    assert changed.content_hash != BATTLE_RULES.content_hash


def test_mode_and_kind_order_and_points_are_in_the_hash() -> None:
    as_arena = attrs.evolve(BATTLE_RULES, mode="arena")
    reordered = attrs.evolve(BATTLE_RULES, tile_kinds=BATTLE_RULES.tile_kinds[::-1])
    repriced = attrs.evolve(
        BATTLE_RULES, tile_kinds=(TileKind(name="stone", points=5), *BATTLE_RULES.tile_kinds[1:])
    )
    hashes = {r.content_hash for r in (BATTLE_RULES, as_arena, reordered, repriced)}
    assert len(hashes) == 4


@given(rule_configs(), rule_configs())
def test_different_configs_have_different_hashes(a: RuleConfig, b: RuleConfig) -> None:
    assert (a == b) == (a.content_hash == b.content_hash)


_INVALID: list[tuple[str, Any]] = [
    ("width", 0),
    ("width", 1025),
    ("width", True),
    ("width", "32"),
    ("width", 32.0),
    ("height", -1),
    ("tick_rate_hz", 0),
    ("tick_rate_hz", 61),
    ("require_adjacency", 1),
    ("cooldown_ticks", -1),
    ("mode", "duel"),
    ("scoring", "fastest"),
    ("player_cap", 0),
    ("npc_cap", -1),
    ("battle_ticks", 0),
    ("battle_ticks", None),
    ("end_on_full_board", "yes"),
    ("tile_kinds", ()),
    ("tile_kinds", [TileKind(name="stone")]),
    ("tile_kinds", (TileKind(name="stone"), TileKind(name="stone", points=2))),
    ("tile_kinds", ("stone",)),
    ("format_version", 3),
    ("format_version", 0),
]


@pytest.mark.parametrize(("field", "value"), _INVALID)
def test_invalid_values_raise_a_typed_error(field: str, value: Any) -> None:
    with pytest.raises(RuleConfigError) as caught:
        attrs.evolve(BATTLE_RULES, **{field: value})
    assert caught.value.field == field
    assert isinstance(caught.value, ConfigError)
    assert caught.value.code == "bad_rule_config"
    data = BATTLE_RULES.to_dict()
    if field != "tile_kinds":
        data[field] = value
        with pytest.raises(RuleConfigError):
            RuleConfig.from_dict(data)


@pytest.mark.parametrize(
    "kind",
    [
        {"name": "Stone", "points": 1},
        {"name": "", "points": 1},
        {"name": "stone", "points": -1},
        {"name": "stone", "points": "1"},
        {"name": "stone"},
        {"name": "stone", "points": 1, "colour": "red"},
        "stone",
    ],
)
def test_from_dict_rejects_bad_tile_kinds(kind: Any) -> None:
    data = BATTLE_RULES.to_dict()
    data["tile_kinds"] = [kind]
    with pytest.raises(RuleConfigError) as caught:
        RuleConfig.from_dict(data)
    assert caught.value.field == "tile_kinds"


def test_from_dict_is_strict_about_keys() -> None:
    data = BATTLE_RULES.to_dict()
    del data["cooldown_ticks"]
    with pytest.raises(RuleConfigError, match="missing") as missing:
        RuleConfig.from_dict(data)
    assert missing.value.field == "cooldown_ticks"
    data = {**BATTLE_RULES.to_dict(), "gravity": 9.81}
    with pytest.raises(RuleConfigError, match="unknown") as extra:
        RuleConfig.from_dict(data)
    assert extra.value.field == "gravity"
    with pytest.raises(RuleConfigError):
        RuleConfig.from_dict([1, 2])  # type: ignore[arg-type]
    data = BATTLE_RULES.to_dict()
    data["tile_kinds"] = "stone"
    with pytest.raises(RuleConfigError):
        RuleConfig.from_dict(data)


def test_arena_mode_may_run_forever_but_a_battle_may_not() -> None:
    assert attrs.evolve(ARENA_RULES, battle_ticks=100).battle_ticks == 100
    with pytest.raises(RuleConfigError):
        attrs.evolve(ARENA_RULES, mode="battle")


@given(st.sampled_from(["tiles_held", "kind_points"]))
def test_tile_score_follows_the_scoring_rule(scoring: Any) -> None:
    rules = attrs.evolve(BATTLE_RULES, scoring=scoring)
    crystal = 2 if scoring == "kind_points" else 1
    assert rules.tile_score("crystal") == crystal
    assert rules.tile_score("stone") == 1
    assert rules.kind_names == ("stone", "wood", "crystal")
    assert rules.has_kind("wood")
    assert not rules.has_kind("lava")
    assert rules.cell_count == 32 * 32
