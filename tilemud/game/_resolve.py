"""Resolving one tick: every placement that arrived during it, judged together.

Results depend only on the *set* of placements (a multiset, to be exact), the state at the
start of the tick, the tick number, the arena's seed and the rules; never on arrival order.
``docs/game.md`` states the rule in full; in short:

1. **Checks** against the start-of-tick state, first failure wins: ``battle_over``,
   ``unknown_kind``, ``out_of_bounds``, ``cooldown``, ``occupied``, ``not_adjacent``,
   ``held_firmly``. With ``rules.captures``, a placement on an opponent's tile is a
   *capture*: it must touch one of the placer's tiles orthogonally (else
   ``not_adjacent``, adjacency rule or not), and its *attack* (the placer's tiles among
   the eight cells around, 0..8) must reach the *defence* (the holder's tiles among the
   four orthogonal neighbours, 0..4) plus ``rules.capture_margin`` (else ``held_firmly``).
   A tile of one's own is ``occupied``. Every capture is judged on the start-of-tick
   board, so captures crossing each other in one tick are all decided alike.
2. **Admission**: with a cooldown, each player's surviving placements are narrowed to the
   one with the lowest :func:`admission_rank`; the others are rejected ``cooldown``.
3. **Conflicts**: of the placements left on one cell, the player with the lowest
   :func:`conflict_rank` for that cell and tick takes it, with their placement of lowest
   admission rank (without a cooldown they may have several there); every other
   placement on the cell gets ``lost_conflict`` naming that player. Captures and
   placements on empty cells contend alike.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

import attrs

from tilemud.game._board import PlacedTile
from tilemud.game._placement import (
    Placement,
    PlacementKey,
    PlacementResult,
    RejectReason,
    placement_order_key,
    unchecked_placed,
    unchecked_result,
)
from tilemud.game._rules import RuleConfig
from tilemud.game._scoring import BattleResult, EndReason
from tilemud.game._state import ArenaState

_SEED_LIMIT: Final = 1 << 64
_RANK_HEADER = struct.Struct(">QQII")


def _text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def conflict_rank(*, seed: int, tick: int, x: int, y: int, player_id: str) -> bytes:
    """A player's rank for cell ``(x, y)`` in ``tick``; the lowest takes a contested cell.

    It is ``blake2b(digest_size=16, person=b"tilemud.conflict")`` of ``seed`` and ``tick``
    (big-endian u64), ``x`` and ``y`` (big-endian u32) and the player id in UTF-8. It does
    not depend on the tile kind or request id, so nobody can improve their odds by choosing
    them; ties (a hash collision) go to the lower player id.
    """
    data = _RANK_HEADER.pack(seed, tick, x, y) + _text(player_id)
    return hashlib.blake2b(data, digest_size=16, person=b"tilemud.conflict").digest()


def admission_rank(*, seed: int, tick: int, placement: Placement) -> bytes:
    """The rank that picks which of one player's placements in a tick go forward.

    It is ``blake2b(digest_size=16, person=b"tilemud.admit")`` of ``seed``, ``tick``
    (u64), ``x``, ``y`` (u32), then the player id, the kind and, when present, the rid in
    UTF-8, each but the last preceded by its byte length (u32); the byte ``0`` or ``1``
    before the rid says whether there is one. Lowest wins; ties (equal placements, or a
    hash collision) go to the lower :func:`placement_order_key`.
    """
    player, kind = _text(placement.player_id), _text(placement.kind)
    rid = b"\x00" if placement.rid is None else b"\x01" + _text(placement.rid)
    data = b"".join(
        (
            _RANK_HEADER.pack(seed, tick, placement.x, placement.y),
            len(player).to_bytes(4, "big"),
            player,
            len(kind).to_bytes(4, "big"),
            kind,
            rid,
        )
    )
    return hashlib.blake2b(data, digest_size=16, person=b"tilemud.admit").digest()


@attrs.frozen(kw_only=True)
class Capture:
    """A cell taken from another player in one tick.

    Attributes:
        x: column.
        y: row.
        previous: who held it before.
    """

    x: int
    y: int
    previous: str


@attrs.frozen(kw_only=True)
class TickOutcome:
    """Everything one tick produced.

    Attributes:
        tick: the tick resolved.
        results: one result per placement given, in :func:`placement_order_key` order.
        placed: the accepted tiles, in row-major order (by ``y``, then ``x``), captures
            included.
        captures: the cells of ``placed`` that were captured, with their previous holder,
            in the same order.
        scores: every tile holder's score after the tick (read-only).
        checksum: :func:`~tilemud.game.board_checksum` of the board after the tick.
        ended: how the battle ended, from the tick it ends on; ``None`` while it runs.
    """

    tick: int
    results: tuple[PlacementResult, ...]
    placed: tuple[PlacedTile, ...]
    scores: Mapping[str, int]
    checksum: str
    ended: BattleResult | None
    captures: tuple[Capture, ...] = ()

    @property
    def accepted(self) -> tuple[Placement, ...]:
        """The accepted placements in canonical order: what a replay log keeps."""
        return tuple(r.placement for r in self.results if r.outcome == "accepted")


def resolve_tick(
    state: ArenaState,
    placements: Iterable[Placement],
    *,
    tick: int,
    seed: int,
    rules: RuleConfig,
) -> tuple[ArenaState, TickOutcome]:
    """Resolve every placement that arrived during ``tick`` and return the next state.

    Args:
        state: the state at the start of the tick (left unchanged).
        placements: the tick's placements, in any order; equal ones each get a result.
        tick: this tick's number, greater than ``state.tick`` (ticks may be skipped).
        seed: the arena's seed, ``0 <= seed < 2**64``.
        rules: the rules ``state`` was built under.

    Returns:
        The state after the tick and the tick's outcome.

    Raises:
        ValueError: ``tick``, ``seed`` or the board size do not fit ``state`` and ``rules``
            (a bug in the caller, not bad player input).
    """
    if type(tick) is not int or tick <= state.tick:
        raise ValueError(f"tick {tick!r} does not follow tick {state.tick}")
    if type(seed) is not int or not 0 <= seed < _SEED_LIMIT:
        raise ValueError(f"the seed must be an integer in [0, 2**64), not {seed!r}")
    board = state.board
    if (board.width, board.height) != (rules.width, rules.height):
        raise ValueError("the state's board does not have the rules' size")

    ordered = sorted(placements, key=placement_order_key)
    results: list[PlacementResult | None] = [None] * len(ordered)
    over = state.ended is not None or (rules.battle_ticks is not None and tick > rules.battle_ticks)

    # 1. Checks against the start-of-tick state.
    if over:
        for i, placement in enumerate(ordered):
            results[i] = unchecked_result(placement, "rejected", "battle_over")
        survivors: dict[str, list[int]] = {}
    else:
        survivors = _check_all(state, ordered, results, tick, rules)

    # 2. Admission: with a cooldown, one placement per player and tick goes forward.
    contested: dict[tuple[int, int], list[int]] = {}
    for indices in survivors.values():
        forward = indices
        if rules.cooldown_ticks and len(indices) > 1:
            forward = [_admit(ordered, indices, seed, tick)]
            for i in indices:
                if i != forward[0]:
                    results[i] = unchecked_result(ordered[i], "rejected", "cooldown")
        for i in forward:
            contested.setdefault((ordered[i].x, ordered[i].y), []).append(i)

    # 3. Conflicts: one placement per cell is accepted; all others there lose to its player.
    accepted: list[int] = []
    grid = board.grid
    for (x, y), contenders in contested.items():
        best = contenders[0]
        if len(contenders) > 1:
            best = _take_cell(ordered, contenders, x, y, seed, tick)
            for i in contenders:
                if i != best:
                    results[i] = unchecked_result(
                        ordered[i], "lost_conflict", winner=ordered[best].player_id
                    )
        accepted.append(best)
        held = grid[y][x]
        results[best] = unchecked_result(
            ordered[best], "accepted", captured=None if held is None else held.owner
        )

    return _advance(state, ordered, accepted, results, tick, rules)


def _check(state: ArenaState, p: Placement, tick: int, rules: RuleConfig) -> RejectReason | None:
    """The first check ``p`` alone fails (step 1's, as :func:`_check_all` runs them), or None."""
    results: list[PlacementResult | None] = [None]
    _check_all(state, [p], results, tick, rules)
    result = results[0]
    return None if result is None else result.reason


def _check_all(
    state: ArenaState,
    ordered: list[Placement],
    results: list[PlacementResult | None],
    tick: int,
    rules: RuleConfig,
) -> dict[str, list[int]]:
    """Check each placement, first failure wins; fill in the rejections' results.

    Returns:
        The indices of each player's placements that passed, in order.
    """
    # One loop with the rules and the board in locals: it runs for every placement
    # (~60 a tick on epic-300), where a call and its lookups per check showed (issue 13).
    board = state.board
    grid = board.grid
    width, height = board.width, board.height
    holdings = board.holdings
    has_kind = rules.has_kind
    last_placed = state.last_placed
    cooldown = rules.cooldown_ticks
    captures, adjacency, margin = rules.captures, rules.require_adjacency, rules.capture_margin
    survivors: dict[str, list[int]] = {}
    for i, p in enumerate(ordered):
        player, x, y = p.player_id, p.x, p.y
        reason: RejectReason | None = None
        if not has_kind(p.kind):
            reason = "unknown_kind"
        elif not (0 <= x < width and 0 <= y < height):
            reason = "out_of_bounds"
        elif (last := last_placed.get(player)) is not None and tick < last + cooldown:
            reason = "cooldown"
        elif (held := grid[y][x]) is not None:
            if not captures or held.owner == player:
                reason = "occupied"
            else:
                touching, attack, defence = board.contest(x, y, player, held.owner)
                if not touching:
                    reason = "not_adjacent"
                elif attack < defence + margin:
                    reason = "held_firmly"
        elif adjacency and player in holdings and not board.touches(player, x, y):
            reason = "not_adjacent"
        if reason is not None:
            results[i] = unchecked_result(p, "rejected", reason)
        elif (own := survivors.get(player)) is None:
            survivors[player] = [i]
        else:
            own.append(i)
    return survivors


def _admit(ordered: list[Placement], group: list[int], seed: int, tick: int) -> int:
    """The index in ``group`` (one player's placements) with the lowest admission rank."""

    def rank(i: int) -> tuple[bytes, PlacementKey]:
        placement = ordered[i]
        admission = admission_rank(seed=seed, tick=tick, placement=placement)
        return admission, placement_order_key(placement)

    return min(group, key=rank)


def _take_cell(
    ordered: list[Placement], contenders: list[int], x: int, y: int, seed: int, tick: int
) -> int:
    """The index of the contender that takes cell ``(x, y)``."""
    by_player: dict[str, list[int]] = {}
    for i in contenders:
        by_player.setdefault(ordered[i].player_id, []).append(i)
    player = min(
        by_player,
        key=lambda p: (conflict_rank(seed=seed, tick=tick, x=x, y=y, player_id=p), p),
    )
    own = by_player[player]
    return own[0] if len(own) == 1 else _admit(ordered, own, seed, tick)


def _advance(
    state: ArenaState,
    ordered: list[Placement],
    accepted: list[int],
    results: list[PlacementResult | None],
    tick: int,
    rules: RuleConfig,
) -> tuple[ArenaState, TickOutcome]:
    before = state.board
    tile_of = before.tile_of
    width = before.width
    # By cell index (y * width + x): row-major order, sorted as plain ints.
    by_cell: dict[int, PlacedTile] = {}
    for i in accepted:
        p = ordered[i]
        by_cell[p.y * width + p.x] = unchecked_placed(p.x, p.y, tile_of(p.player_id, p.kind))
    placed = [by_cell[cell] for cell in sorted(by_cell)]
    board = before.with_tiles(placed, replace=rules.captures)
    scores = state.scores
    last_placed = state.last_placed
    cooldown = rules.cooldown_ticks
    captures: list[Capture] = []
    if placed:
        # copy(): dict() of a mapping proxy takes its slow path, ~15x slower.
        new_scores = scores.copy() if isinstance(scores, MappingProxyType) else dict(scores)
        losers: set[str] = set()
        score_of = {kind: rules.tile_score(kind) for kind in rules.kind_names}
        grid = before.grid if rules.captures else None
        for item in placed:
            tile = item.tile
            owner = tile.owner
            new_scores[owner] = new_scores.get(owner, 0) + score_of[tile.kind]
            previous = None if grid is None else grid[item.y][item.x]
            if previous is not None:
                loser = previous.owner
                captures.append(Capture(x=item.x, y=item.y, previous=loser))
                new_scores[loser] -= score_of[previous.kind]
                losers.add(loser)
        # Score maps list tile holders only. Judged once every capture of the tick is
        # counted: a player can lose several tiles in one tick (removing them at the first
        # capture that leaves the final board without their tiles broke the next one).
        for loser in losers:
            if not board.tiles_held(loser):
                del new_scores[loser]
        scores = MappingProxyType(new_scores)
    # An entry matters while it can still block a later tick: last + cooldown > tick + 1.
    if placed or last_placed:
        limit = tick + 1 - cooldown
        kept = {p: t for p, t in last_placed.items() if t > limit}
        if cooldown > 1:
            for item in placed:
                kept[item.tile.owner] = tick
        if kept != last_placed:
            last_placed = MappingProxyType(kept)
    ended = state.ended
    if ended is None:
        reason: EndReason | None = None
        if rules.end_on_full_board and board.is_full:
            reason = "board_full"
        elif rules.battle_ticks is not None and tick >= rules.battle_ticks:
            reason = "time"
        if reason is not None:
            ended = BattleResult.from_scores(tick=tick, reason=reason, scores=scores)
    # Results are never false (no __bool__ or __len__): filter(None, ...) drops the Nones.
    final = tuple(filter(None, results))
    assert len(final) == len(ordered), "every placement gets exactly one result"
    outcome = TickOutcome(
        tick=tick,
        results=final,
        placed=tuple(placed),
        captures=tuple(captures),
        scores=scores,
        checksum=board.checksum,
        ended=ended,
    )
    new_state = ArenaState(
        board=board, tick=tick, last_placed=last_placed, scores=scores, ended=ended
    )
    return new_state, outcome
