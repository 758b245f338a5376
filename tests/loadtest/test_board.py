"""One board per arena and process: ticks and snapshots applied once, in tick order."""

from __future__ import annotations

from tilemud.game import Board, PlacedTile, Tile
from tilemud.loadtest._board import BoardView, SharedBoards
from tilemud.protocol import UNSTAMPED, ArenaSnapshot, ArenaTick, BoardSnapshot, RoundEnded


def tick(number: int, *cells: tuple[int, int], arena: str = "a_1") -> ArenaTick:
    placed = tuple((x, y, "p_1", "stone") for x, y in cells)
    return ArenaTick(
        seq=UNSTAMPED,
        sent_at=1.0,
        arena_id=arena,
        tick=number,
        placed=placed,
        scores=(),
        captured=(),
    )


def snapshot(number: int, *cells: tuple[int, int], arena: str = "a_1") -> ArenaSnapshot:
    tile = Tile(owner="p_2", kind="wood")
    board = Board.from_tiles(8, 4, (PlacedTile(x=x, y=y, tile=tile) for x, y in cells))
    return ArenaSnapshot(
        seq=UNSTAMPED,
        sent_at=1.0,
        arena_id=arena,
        tick=number,
        board=BoardSnapshot.from_board(board),
        scores=(),
        players=(),
    )


def test_ticks_and_snapshots_fill_the_arenas_cells() -> None:
    boards = SharedBoards()
    boards.take(snapshot(10, (0, 0), (7, 3), (3, 1)))
    boards.take(tick(11, (1, 0)))
    boards.take(tick(12, (2, 0), (5, 2)))
    assert set(boards.cells("a_1")) == {(0, 0), (7, 3), (3, 1), (1, 0), (2, 0), (5, 2)}
    assert boards.cells("a_2") == {}
    assert boards.cells(None) == {}


def test_what_was_applied_is_not_applied_again() -> None:
    boards = SharedBoards()
    boards.take(tick(5, (1, 1)))
    boards.take(tick(5, (6, 6)))  # the same tick seen by another bot: already in
    boards.take(tick(4, (6, 6)))  # a lagging bot's older tick: already in
    boards.take(snapshot(5, (1, 1), (2, 2)))  # not later than what was applied
    assert set(boards.cells("a_1")) == {(1, 1)}
    boards.take(snapshot(9, (2, 2)))  # a later snapshot replaces the cells
    assert boards.cells("a_1") == {(2, 2): "p_2"}


def test_arenas_are_kept_apart() -> None:
    boards = SharedBoards()
    boards.take(tick(1, (0, 0), arena="b_1"))
    boards.take(tick(1, (1, 1), arena="b_2"))
    assert set(boards.cells("b_1")) == {(0, 0)}
    assert set(boards.cells("b_2")) == {(1, 1)}


def test_a_bots_view_follows_its_own_arena() -> None:
    boards = SharedBoards()
    view = BoardView(boards=boards)
    view.apply(snapshot(3, (4, 2), arena="b_1"))
    view.apply(tick(4, (5, 2), arena="b_1"))
    view.apply(tick(9, (0, 3), arena="b_9"))  # another arena's frame: not this bot's
    assert view.arena_id == "b_1"
    assert set(view.occupied) == {(4, 2), (5, 2)}
    assert view.tiles == {}  # no per-bot copy of the board


def test_a_round_s_end_empties_the_board_once() -> None:
    boards = SharedBoards()
    boards.take(tick(29, (1, 1), (2, 1)))
    ended = RoundEnded(
        seq=UNSTAMPED,
        sent_at=1.0,
        arena_id="a_1",
        round=1,
        replay_id="a_1.1",
        first_tick=1,
        tick=30,
        next_round_tick=31,
        scores=(("p_1", 2),),
        winners=("p_1",),
    )
    boards.take(ended)
    assert boards.cells("a_1") == {}
    assert boards.rounds == {"a_1": 1}
    boards.take(tick(31, (5, 1)))
    boards.take(ended)  # another bot's copy of the same frame: applied already
    boards.take(tick(30, (3, 3)))  # a tick of the ended round, late: ignored
    assert boards.cells("a_1") == {(5, 1): "p_1"}
