"""Snapshots that re-encode only changed rows equal the full encoding, board after board."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.game.strategies import KINDS, PLAYERS, boards
from tilemud.game import (
    Board,
    PlacedTile,
    SnapshotRows,
    Tile,
    board_from_dict,
    board_to_dict,
    decode_board,
    encode_board,
)


@st.composite
def histories(draw: st.DrawFn) -> list[Board]:
    """A board, then boards derived from it one step at a time, as an arena's are: tiles
    placed (fresh ``Tile`` objects, so equal pairs are never the same object), tiles
    replaced (an owner's last tile may go: the palette shrinks), now and then a cleared
    board (a new round) or one of another size."""
    board = draw(boards(max_side=12))
    history = [board]
    for _ in range(draw(st.integers(1, 12))):
        step = draw(st.sampled_from(["place", "place", "place", "replace", "clear", "resize"]))
        if step == "clear":
            board = Board(board.width, board.height)
        elif step == "resize":
            board = draw(boards(max_side=12))
        else:
            cells = draw(
                st.lists(
                    st.tuples(
                        st.integers(0, board.width - 1),
                        st.integers(0, board.height - 1),
                        st.sampled_from(PLAYERS),
                        st.sampled_from(KINDS),
                    ),
                    max_size=10,
                    unique_by=lambda cell: cell[:2],
                )
            )
            placed = [
                PlacedTile(x=x, y=y, tile=Tile(owner=owner, kind=kind))
                for x, y, owner, kind in cells
                if step == "replace" or board.get(x, y) is None
            ]
            board = board.with_tiles(placed, replace=step == "replace")
        history.append(board)
    return history


@settings(max_examples=300)
@given(histories(), st.data())
def test_each_snapshot_equals_the_full_encoding(history: list[Board], data: st.DataObject) -> None:
    rows = SnapshotRows()
    for board in history:
        if not data.draw(st.booleans(), label="snapshot this board"):
            continue  # a board no one joined at: its changes pile up for the next one
        encoded = rows.to_dict(board)
        assert encoded == board_to_dict(board)
        assert board_from_dict(encoded) == board
        stored = rows.encode(board)
        assert stored == encode_board(board)
        assert decode_board(stored) == board


def test_runs_cross_row_ends_and_unchanged_rows_are_reused() -> None:
    board = Board(3, 3).with_tiles(
        [
            PlacedTile(x=2, y=0, tile=Tile(owner="p1", kind="stone")),
            PlacedTile(x=0, y=1, tile=Tile(owner="p1", kind="stone")),
        ]
    )
    rows = SnapshotRows()
    assert rows.to_dict(board)["runs"] == [2, 0, 2, 1, 5, 0]
    # Row 2 changes only: rows 0 and 1 keep their runs, and the palette its codes.
    later = board.with_tiles([PlacedTile(x=0, y=2, tile=Tile(owner="a0", kind="stone"))])
    encoded = rows.to_dict(later)
    assert encoded == board_to_dict(later)
    assert encoded["palette"] == [["a0", "stone"], ["p1", "stone"]]
    assert encoded["runs"] == [2, 0, 2, 2, 2, 0, 1, 1, 2, 0]
