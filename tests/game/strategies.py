"""Hypothesis strategies and small helpers shared by the game tests."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from hypothesis import strategies as st

from tilemud.game import (
    ArenaState,
    Board,
    Mode,
    PlacedTile,
    Placement,
    RuleConfig,
    TickOutcome,
    Tile,
    TileKind,
    resolve_tick,
)

PLAYERS = ("ann", "bob", "cy", "dee", "éva")
KINDS = ("stone", "wood", "crystal")
SEED = 0x5EED


def small_rules(**changes: object) -> RuleConfig:
    """A 6x6 battle without adjacency or cooldown unless ``changes`` say otherwise."""
    base = RuleConfig(
        mode="battle",
        width=6,
        height=6,
        player_cap=8,
        npc_cap=0,
        battle_ticks=1000,
        end_on_full_board=True,
        require_adjacency=False,
        cooldown_ticks=0,
    )
    return attrs.evolve(base, **changes)  # type: ignore[arg-type]


def place(player: str, x: int, y: int, kind: str = "stone", rid: str | None = None) -> Placement:
    """Shorthand for a placement."""
    return Placement(player_id=player, x=x, y=y, kind=kind, rid=rid)


def step(
    state: ArenaState,
    rules: RuleConfig,
    *placements: Placement,
    tick: int | None = None,
    seed: int = SEED,
) -> tuple[ArenaState, TickOutcome]:
    """Resolve the next tick (or ``tick``) with ``placements``."""
    return resolve_tick(
        state,
        placements,
        tick=state.tick + 1 if tick is None else tick,
        seed=seed,
        rules=rules,
    )


@st.composite
def rule_configs(draw: st.DrawFn, *, max_side: int = 8) -> RuleConfig:
    """Small, varied, valid rule configs."""
    mode: Mode = draw(st.sampled_from(["battle", "arena"]))
    battle_ticks = draw(st.integers(1, 40)) if mode == "battle" else None
    names = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))
    kinds = tuple(TileKind(name=n, points=draw(st.integers(0, 5))) for n in names)
    return RuleConfig(
        mode=mode,
        width=draw(st.integers(1, max_side)),
        height=draw(st.integers(1, max_side)),
        tick_rate_hz=draw(st.integers(1, 60)),
        require_adjacency=draw(st.booleans()),
        cooldown_ticks=draw(st.integers(0, 3)),
        tile_kinds=kinds,
        scoring=draw(st.sampled_from(["tiles_held", "kind_points"])),
        player_cap=draw(st.integers(1, 300)),
        npc_cap=draw(st.integers(0, 100)),
        battle_ticks=battle_ticks,
        end_on_full_board=draw(st.booleans()),
        captures=draw(st.booleans()),
        capture_margin=draw(st.integers(0, 2)),
        round_ticks=draw(st.none() | st.integers(1, 6)) if mode == "arena" else None,
    )


def placements_for(rules: RuleConfig, *, max_size: int = 24) -> st.SearchStrategy[list[Placement]]:
    """Placements for ``rules``' board, including some off the board and of unknown kinds."""
    one = st.builds(
        Placement,
        player_id=st.sampled_from(PLAYERS),
        x=st.integers(-1, rules.width),
        y=st.integers(-1, rules.height),
        kind=st.sampled_from((*KINDS, "bogus")),
        rid=st.none() | st.sampled_from(("r1", "r2")),
    )
    return st.lists(one, max_size=max_size)


@st.composite
def boards(draw: st.DrawFn, *, max_side: int = 8) -> Board:
    """Boards of random size holding random tiles."""
    width = draw(st.integers(1, max_side))
    height = draw(st.integers(1, max_side))
    cells = draw(
        st.dictionaries(
            st.tuples(st.integers(0, width - 1), st.integers(0, height - 1)),
            st.builds(Tile, owner=st.sampled_from(PLAYERS), kind=st.sampled_from(KINDS)),
        )
    )
    return Board.from_tiles(
        width, height, [PlacedTile(x=x, y=y, tile=tile) for (x, y), tile in cells.items()]
    )


def play(
    rules: RuleConfig, ticks: Sequence[Sequence[Placement]], *, seed: int = SEED
) -> tuple[ArenaState, list[TickOutcome]]:
    """Run ``ticks`` (ticks 1, 2, ...) from an empty arena."""
    state = ArenaState.start(rules)
    outcomes = []
    for tick, placements in enumerate(ticks, start=1):
        state, outcome = resolve_tick(state, placements, tick=tick, seed=seed, rules=rules)
        outcomes.append(outcome)
    return state, outcomes
