"""Game data on the wire: conversions from ``tilemud.game``, and a client's view rebuilt
from ``snapshot`` + ``tick`` frames exactly as docs/protocol.md tells clients to do it."""

from __future__ import annotations

from typing import get_args, get_type_hints

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.game.strategies import small_rules
from tilemud.game import (
    ARENA_RULES,
    BATTLE_RULES,
    REJECT_REASONS,
    ArenaState,
    BattleResult,
    Board,
    EndReason,
    Mode,
    Outcome,
    PlacedTile,
    Placement,
    PlacementResult,
    RuleConfig,
    Tile,
    board_to_dict,
    resolve_tick,
)
from tilemud.protocol import (
    UNSTAMPED,
    ArenaSnapshot,
    ArenaTick,
    BattleEnded,
    BoardSnapshot,
    EncodedBoard,
    Join,
    Joined,
    PlaceResult,
    RulesSummary,
    ServerMessage,
    StreamMessage,
    decode_server,
    encode_server,
    encode_snapshot_body,
    encode_stream_body,
    stamp,
)
from tilemud.protocol._schema import describe_class

RULES = small_rules(width=5, height=4)
PLAYERS = ("ann", "bob", "cy")


def _wire(message: StreamMessage, seq: int) -> ServerMessage:
    """What a client decodes: the frame as broadcast sends it."""
    return decode_server(stamp(encode_stream_body(message), seq))


# -- the literals the protocol shares with the game --------------------------------------


def test_protocol_literals_are_the_games() -> None:
    hints = {
        "join.mode": get_type_hints(Join)["mode"],
        "joined.mode": get_type_hints(Joined)["mode"],
        "place_result.outcome": get_type_hints(PlaceResult)["outcome"],
        "battle_ended.reason": get_type_hints(BattleEnded)["reason"],
    }
    assert get_args(hints["join.mode"]) == get_args(Mode) == ("battle", "arena")
    assert get_args(hints["joined.mode"]) == get_args(Mode)
    assert get_args(hints["place_result.outcome"]) == get_args(Outcome)
    assert get_args(hints["battle_ended.reason"]) == get_args(EndReason)


def test_place_result_documents_every_reject_reason() -> None:
    reason_doc = describe_class(PlaceResult)[1]["reason"]
    for reason in REJECT_REASONS:
        assert f"`{reason}`" in reason_doc


# -- rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("rules", [BATTLE_RULES, ARENA_RULES, RULES], ids=["battle", "arena", "t"])
def test_rules_summary_from_rules(rules: RuleConfig) -> None:
    summary = RulesSummary.from_rules(rules)
    assert summary.version == rules.content_hash
    expected = {
        key: value
        for key, value in rules.to_dict().items()
        if key not in {"format_version", "mode", "scoring", "npc_cap", "end_on_full_board"}
    }
    expected.setdefault("captures", False)
    expected.setdefault("capture_margin", 0)
    expected.setdefault("round_ticks", None)
    wire = orjson.loads(encode_server(_joined(summary)))["rules"]
    for absent in ("battle_ticks", "round_ticks"):
        if expected[absent] is None:
            assert absent not in wire, "absent, never null"
            wire[absent] = None
    assert wire == {**expected, "version": rules.content_hash}


def _joined(summary: RulesSummary) -> Joined:
    return Joined(rid="r", arena_id="a", mode="arena", region="eu", tick=0, rules=summary)


def test_rules_summary_round_trips() -> None:
    joined = _joined(RulesSummary.from_rules(ARENA_RULES))
    assert decode_server(encode_server(joined)) == joined


# -- boards -------------------------------------------------------------------------------


def _board(tiles: dict[tuple[int, int], tuple[str, str]]) -> Board:
    return Board(RULES.width, RULES.height).with_tiles(
        PlacedTile(x=x, y=y, tile=Tile(owner=owner, kind=kind))
        for (x, y), (owner, kind) in tiles.items()
    )


CELLS = st.dictionaries(
    st.tuples(st.integers(0, RULES.width - 1), st.integers(0, RULES.height - 1)),
    st.tuples(st.sampled_from(PLAYERS), st.sampled_from(RULES.kind_names)),
    max_size=RULES.width * RULES.height,
)


@settings(max_examples=100, deadline=None)
@given(CELLS)
def test_board_snapshot_is_board_to_dict_and_round_trips(
    tiles: dict[tuple[int, int], tuple[str, str]],
) -> None:
    board = _board(tiles)
    snapshot = BoardSnapshot.from_board(board)
    assert snapshot.to_board() == board
    # Built unchecked from a board: what the checked constructor accepts and builds.
    data = board_to_dict(board)
    assert snapshot == BoardSnapshot(
        format=1,
        width=data["width"],
        height=data["height"],
        palette=tuple((owner, kind) for owner, kind in data["palette"]),
        runs=tuple(data["runs"]),
    )
    frame = ArenaSnapshot(
        seq=1, sent_at=0.0, arena_id="a", tick=0, board=snapshot, scores=(), players=()
    )
    assert orjson.loads(encode_server(frame))["board"] == board_to_dict(board)
    decoded = decode_server(encode_server(frame))
    assert isinstance(decoded, ArenaSnapshot)
    assert decoded.board.to_board() == board


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None)
@given(
    CELLS,
    st.dictionaries(st.sampled_from(PLAYERS), st.integers(0, 20)),
    st.dictionaries(st.sampled_from([*PLAYERS, "npc:1", "npc:2"]), NAMES),
    st.floats(0, 2e9),
)
def test_a_snapshot_with_its_board_encoded_once_is_the_same_text(
    tiles: dict[tuple[int, int], tuple[str, str]],
    scores: dict[str, int],
    players: dict[str, str],
    sent_at: float,
) -> None:
    # What an arena sends each joiner: its board's JSON made once, the rest per joiner.
    board = BoardSnapshot.from_board(_board(tiles))
    score_list = tuple(sorted(scores.items()))
    player_list = tuple(sorted(players.items()))
    npcs = tuple(sorted(p for p in players if p.startswith("npc:")))
    checked = ArenaSnapshot(
        seq=UNSTAMPED,
        sent_at=sent_at,
        arena_id="a_1",
        tick=7,
        board=board,
        scores=score_list,
        players=player_list,
        npcs=npcs,
    )
    built = ArenaSnapshot.from_arena(
        sent_at=sent_at,
        arena_id="a_1",
        tick=7,
        board=board,
        scores=score_list,
        players=player_list,
        npcs=npcs,
    )
    assert built == checked
    encoded = EncodedBoard(board)
    for _ in range(2):  # the same encoded board serves every joiner
        assert encode_snapshot_body(built, encoded) == encode_stream_body(checked)
    assert _wire(built, 3) == attrs.evolve(checked, seq=3)


def test_a_snapshot_refuses_an_encoded_board_not_its_own() -> None:
    board = BoardSnapshot.from_board(_board({}))
    other = EncodedBoard(BoardSnapshot.from_board(_board({(0, 0): ("ann", "stone")})))
    snapshot = ArenaSnapshot.from_arena(
        sent_at=0.0, arena_id="a", tick=0, board=board, scores=(), players=(), npcs=()
    )
    with pytest.raises(ValueError, match="not the snapshot's board"):
        encode_snapshot_body(snapshot, other)
    equal_but_not_the_same = EncodedBoard(BoardSnapshot.from_board(_board({})))
    with pytest.raises(ValueError, match="not the snapshot's board"):
        encode_snapshot_body(snapshot, equal_but_not_the_same)


# -- results ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        PlacementResult(
            placement=Placement(player_id="ann", x=1, y=2, kind="stone"), outcome="accepted"
        ),
        PlacementResult(
            placement=Placement(player_id="ann", x=1, y=2, kind="gold"),
            outcome="rejected",
            reason="unknown_kind",
        ),
        PlacementResult(
            placement=Placement(player_id="ann", x=1, y=2, kind="wood"),
            outcome="lost_conflict",
            winner="bob",
        ),
    ],
    ids=lambda r: r.outcome,
)
def test_place_result_from_result(result: PlacementResult) -> None:
    answer = PlaceResult.from_result(result, rid="r-9", arena_id="a", tick=4)
    assert (answer.x, answer.y, answer.kind) == (1, 2, result.placement.kind)
    assert (answer.outcome, answer.reason, answer.winner) == (
        result.outcome,
        result.reason,
        result.winner,
    )
    assert decode_server(encode_server(answer)) == answer
    # Built unchecked: what the checked constructor accepts and builds.
    assert answer == PlaceResult(**attrs.asdict(answer, recurse=False))
    wire = orjson.loads(encode_server(answer))
    assert ("reason" in wire, "winner" in wire) == (
        result.reason is not None,
        result.winner is not None,
    )


def test_battle_ended_from_result() -> None:
    result = BattleResult.from_scores(tick=9, reason="board_full", scores={"bob": 3, "ann": 3})
    ended = BattleEnded.from_result(result, arena_id="a", sent_at=5.0)
    assert ended.seq == UNSTAMPED
    assert ended.scores == (("ann", 3), ("bob", 3))
    assert ended.winners == ("ann", "bob")
    assert _wire(ended, 3) == attrs.evolve(ended, seq=3)


# -- a client's view ---------------------------------------------------------------------


@attrs.define
class ClientView:
    """A client's picture of one arena, kept as docs/protocol.md describes."""

    tick: int = -1
    cells: dict[tuple[int, int], tuple[str, str]] = attrs.Factory(dict)
    scores: dict[str, int] = attrs.Factory(dict)
    players: dict[str, str] = attrs.Factory(dict)

    def apply(self, frame: ServerMessage) -> None:
        if isinstance(frame, ArenaSnapshot):  # replaces the whole view
            self.tick = frame.tick
            self.cells = _cells(frame.board)
            self.scores = dict(frame.scores)
            self.players = dict(frame.players)
        elif isinstance(frame, ArenaTick):
            assert frame.tick > self.tick, "tick frames arrive in tick order"
            self.tick = frame.tick
            for x, y, owner, kind in frame.placed:
                self.cells[x, y] = (owner, kind)
            self.scores.update(frame.scores)


def _cells(board: BoardSnapshot) -> dict[tuple[int, int], tuple[str, str]]:
    """Decode the runs: code 0 is empty, code c > 0 is ``palette[c - 1]``, row-major."""
    cells: dict[tuple[int, int], tuple[str, str]] = {}
    index = 0
    for length, code in zip(board.runs[::2], board.runs[1::2], strict=True):
        for cell in range(index, index + length):
            if code:
                cells[cell % board.width, cell // board.width] = board.palette[code - 1]
        index += length
    assert index == board.width * board.height
    return cells


TICKS = st.lists(
    st.lists(
        st.builds(
            Placement,
            player_id=st.sampled_from(PLAYERS),
            x=st.integers(0, RULES.width - 1),
            y=st.integers(0, RULES.height - 1),
            kind=st.sampled_from(RULES.kind_names),
        ),
        max_size=6,
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TICKS, st.integers(0, 8))
def test_snapshot_plus_ticks_rebuild_the_arena(
    ticks: list[list[Placement]], snapshot_after: int
) -> None:
    state = ArenaState.start(RULES)
    players = {player: player.title() for player in PLAYERS}
    view = ClientView()
    seq = 0
    if snapshot_after == 0:
        seq += 1
        view.apply(
            _wire(ArenaSnapshot.from_state(state, arena_id="a", sent_at=1.0, players=players), seq)
        )
    for number, placements in enumerate(ticks, start=1):
        before = state.scores
        state, outcome = resolve_tick(state, placements, tick=number, seed=7, rules=RULES)
        if number == snapshot_after:  # a client that joins (or resyncs) now
            seq += 1
            frame: StreamMessage = ArenaSnapshot.from_state(
                state, arena_id="a", sent_at=1.0, players=players
            )
            view.apply(_wire(frame, seq))
        elif view.tick >= 0 and outcome.placed:
            seq += 1
            frame = ArenaTick.from_outcome(outcome, arena_id="a", sent_at=1.0, scores_before=before)
            # Built unchecked: what the checked constructor accepts and builds.
            assert frame == ArenaTick(**attrs.asdict(frame, recurse=False))
            assert [(x, y) for x, y, _, _ in frame.placed] == sorted(
                ((x, y) for x, y, _, _ in frame.placed), key=lambda cell: (cell[1], cell[0])
            ), "row-major"
            assert all(before.get(player) != score for player, score in frame.scores)
            view.apply(_wire(frame, seq))
        if outcome.ended is not None:
            break
    if view.tick < 0:
        return  # the snapshot would have come after the battle's end
    assert view.cells == {(t.x, t.y): (t.tile.owner, t.tile.kind) for t in state.board.tiles()}
    assert view.scores == dict(state.scores)
    assert view.players == players
