"""Board and arena state snapshots decode to what was encoded."""

from __future__ import annotations

import zlib
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.game.strategies import SEED, boards, placements_for, rule_configs, small_rules
from tilemud.game import (
    ArenaState,
    Board,
    PlacedTile,
    RuleConfig,
    SnapshotError,
    Tile,
    board_checksum,
    board_from_dict,
    board_to_dict,
    decode_board,
    encode_board,
    resolve_tick,
)


@given(boards())
def test_dict_round_trip(board: Board) -> None:
    data = board_to_dict(board)
    decoded = board_from_dict(orjson.loads(orjson.dumps(data)))
    assert decoded == board
    assert board_checksum(decoded) == board_checksum(board)
    assert dict(decoded.holdings) == dict(board.holdings)


@given(boards())
def test_bytes_round_trip(board: Board) -> None:
    data = encode_board(board)
    assert decode_board(data) == board


@given(boards())
def test_equal_boards_encode_equally(board: Board) -> None:
    rebuilt = Board.from_tiles(board.width, board.height, reversed(list(board.tiles())))
    assert encode_board(rebuilt) == encode_board(board)


def _runs_cell_by_cell(board: Board) -> tuple[list[list[str]], list[int]]:
    """The palette and runs of ``board`` the plain way: one cell at a time."""
    palette = sorted({(t.tile.owner, t.tile.kind) for t in board.tiles()})
    codes = {pair: i + 1 for i, pair in enumerate(palette)}
    runs: list[int] = []
    for row in board.rows():
        for tile in row:
            code = 0 if tile is None else codes[(tile.owner, tile.kind)]
            if runs and runs[-1] == code:
                runs[-2] += 1
            else:
                runs += (1, code)
    return [list(pair) for pair in palette], runs


@given(boards(max_side=24))
def test_runs_are_those_of_the_cells_one_by_one(board: Board) -> None:
    # Equal tiles are separate objects on a real board (each placement makes its own):
    # rebuild the board with a fresh Tile per cell, so that codes follow values.
    fresh = Board.from_tiles(
        board.width,
        board.height,
        [attrs.evolve(t, tile=Tile(owner=t.tile.owner, kind=t.tile.kind)) for t in board.tiles()],
    )
    palette, runs = _runs_cell_by_cell(board)
    for each in (board, fresh):
        data = board_to_dict(each)
        assert (data["palette"], data["runs"]) == (palette, runs)


def test_the_documented_layout() -> None:
    ann = Tile(owner="ann", kind="stone")
    board = Board.from_tiles(
        3, 2, [PlacedTile(x=1, y=0, tile=ann), PlacedTile(x=2, y=0, tile=ann)]
    ).with_tiles([PlacedTile(x=0, y=1, tile=Tile(owner="ann", kind="wood"))])
    assert board_to_dict(board) == {
        "format": 1,
        "width": 3,
        "height": 2,
        "palette": [["ann", "stone"], ["ann", "wood"]],
        "runs": [1, 0, 2, 1, 1, 2, 2, 0],
    }


def test_a_full_arena_board_is_compact() -> None:
    tiles = [
        PlacedTile(x=x, y=y, tile=Tile(owner=f"p{(x // 16) + 16 * (y // 16)}", kind="stone"))
        for y in range(256)
        for x in range(256)
    ]
    board = Board.from_tiles(256, 256, tiles)
    data = encode_board(board)
    assert len(data) < 20_000
    assert decode_board(data) == board


def _good() -> dict[str, Any]:
    board = Board.from_tiles(2, 2, [PlacedTile(x=1, y=1, tile=Tile(owner="a", kind="stone"))])
    return board_to_dict(board)


@pytest.mark.parametrize(
    "change",
    [
        {"format": 2},
        {"format": True},
        {"width": 0},
        {"width": "2"},
        {"height": 5000},
        {"palette": "a"},
        {"palette": [["a"]]},
        {"palette": [["a", 1]]},
        {"palette": [["a", "stone"], ["a", "stone"]]},
        {"runs": [3, 0]},
        {"runs": [3, 0, 1]},
        {"runs": [3, 0, 2, 1]},
        {"runs": [3, 0, 1, 2]},
        {"runs": [0, 0, 3, 0, 1, 1]},
        {"runs": [3.0, 0, 1, 1]},
        {"runs": "3,0,1,1"},
        {"extra": 1},
    ],
)
def test_malformed_dicts_raise_snapshot_error(change: dict[str, Any]) -> None:
    data = {**_good(), **change}
    with pytest.raises(SnapshotError):
        board_from_dict(data)


@pytest.mark.parametrize(
    "data",
    [b"", b"TMB2" + zlib.compress(b"{}"), b"TMB1not zlib", b"TMB1" + zlib.compress(b"[1,")],
)
def test_corrupt_bytes_raise_snapshot_error(data: bytes) -> None:
    with pytest.raises(SnapshotError):
        decode_board(data)


def test_a_non_mapping_is_not_a_snapshot() -> None:
    with pytest.raises(SnapshotError):
        board_from_dict([1, 2])  # type: ignore[arg-type]
    with pytest.raises(SnapshotError):
        decode_board(b"TMB1" + zlib.compress(b"[1, 2]"))


@given(rule_configs(), st.data())
def test_arena_state_round_trip(rules: RuleConfig, data: st.DataObject) -> None:
    state = ArenaState.start(rules)
    for tick in range(1, data.draw(st.integers(0, 6)) + 1):
        placements = data.draw(placements_for(rules))
        state, _ = resolve_tick(state, placements, tick=tick, seed=SEED, rules=rules)
    stored = orjson.loads(orjson.dumps(state.to_dict(rules)))
    assert ArenaState.from_dict(stored, rules) == state


def test_arena_state_snapshots_belong_to_their_rules() -> None:
    rules = small_rules()
    stored = ArenaState.start(rules).to_dict(rules)
    with pytest.raises(SnapshotError, match="rules"):
        ArenaState.from_dict(stored, attrs.evolve(rules, cooldown_ticks=2))


@pytest.mark.parametrize(
    "change",
    [
        {"format": 9},
        {"tick": -1},
        {"tick": "3"},
        {"last_placed": {"ann": "3"}},
        {"last_placed": []},
        {"board": {"format": 1}},
        {"ended": {"tick": 3}},
        {"ended": {"tick": 3, "reason": "boredom", "scores": {}, "winners": []}},
        {"ended": {"tick": 3, "reason": "time", "scores": {"a": "1"}, "winners": []}},
    ],
)
def test_malformed_arena_state_raises_snapshot_error(change: dict[str, Any]) -> None:
    rules = small_rules()
    data = {**ArenaState.start(rules).to_dict(rules), **change}
    with pytest.raises(SnapshotError):
        ArenaState.from_dict(data, rules)


def test_a_board_of_another_size_is_refused() -> None:
    rules = small_rules()
    data = ArenaState.start(rules).to_dict(rules)
    data["board"] = board_to_dict(Board(2, 2))
    with pytest.raises(SnapshotError, match="size"):
        ArenaState.from_dict(data, rules)
