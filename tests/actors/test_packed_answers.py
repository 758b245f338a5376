"""PackedAnswers: the request log's answers packed, rebuilt to the very same text."""

from __future__ import annotations

import random
import re
import sys
from unittest.mock import patch

import orjson
import pytest
import trio
import trio.testing
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tilemud.actors.session import _answers
from tilemud.actors.session._answers import BLOCK_ANSWERS, PackedAnswers
from tilemud.actors.session._critical import Answered, Fresh, RequestLog
from tilemud.protocol import ErrorFrame, PlaceResult, encode_server

REASONS = ["not_adjacent", "occupied", "cooldown", "out_of_bounds", None]


def place_result(rng: random.Random, rid: str, tick: int | None = None) -> str:
    """A place_result as the server encodes it, of every outcome."""
    outcome = rng.choice(["accepted", "rejected", "lost_conflict"])
    return encode_server(
        PlaceResult(
            rid=rid,
            arena_id=f"a-{rng.randrange(4)}",
            tick=rng.randrange(10**7) if tick is None else tick,
            x=rng.randrange(256),
            y=rng.randrange(256),
            kind=rng.choice(["stone", "wood"]),
            outcome=outcome,  # type: ignore[arg-type]
            reason=rng.choice(REASONS[:-1]) if outcome == "rejected" else None,
            winner=f"p_{rng.randrange(10**6)}" if outcome == "lost_conflict" else None,
            captured=(
                f"p_{rng.randrange(10**6)}"
                if outcome == "accepted" and rng.random() < 0.2
                else None
            ),
        )
    )


def test_place_results_come_back_as_the_very_same_text() -> None:
    rng = random.Random(13)
    answers = PackedAnswers()
    frames = {f"r{n}-{rng.randrange(99)}": "" for n in range(5 * BLOCK_ANSWERS + 9)}
    for rid in frames:
        frames[rid] = place_result(rng, rid)
        answers.add(rid, frames[rid], 100.0)
    assert len(answers) == len(frames)
    for rid, frame in frames.items():
        assert answers.find(rid) == frame
    assert answers.find("r1-never") is None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    rid=st.text(min_size=1, max_size=20),
    body=st.dictionaries(st.text(max_size=8), json_values, max_size=6),
    rid_first=st.booleans(),
)
def test_any_json_answer_comes_back_exactly(
    rid: str, body: dict[str, object], rid_first: bool
) -> None:
    """Strings with quotes, escapes, digits after colons, big and negative numbers,
    floats, nesting: whatever is cut out is put back exactly."""
    payload = {"rid": rid, **body} if rid_first else {**body, "rid": rid}
    frame = orjson.dumps(payload).decode()
    answers = PackedAnswers()
    for n in range(BLOCK_ANSWERS + 2):  # in a packed block and in the one being filled
        answers.add(f"{rid}{n}" if n else rid, frame if n in (0, BLOCK_ANSWERS) else "x", 1.0)
    assert answers.find(rid) == frame
    assert answers.find(f"{rid}{BLOCK_ANSWERS}") == frame


@settings(max_examples=200, deadline=None)
@given(
    answers_in_order=st.lists(
        st.tuples(
            # Rids ending in numbers, written against the previous one: same or other text
            # before the number, numbers up and down, leading zeros (not a number's
            # canonical text), a lone number, very big numbers.
            st.sampled_from(["r", "r-", "", "p9x", "r0", "é"]),
            st.integers(min_value=0, max_value=10**19),
            st.booleans(),
            # Few shapes, so that many answers follow one of the same shape.
            st.sampled_from(["a", "b"]),
            st.lists(st.integers(min_value=-(2**63), max_value=2**64 - 1), max_size=3),
        ),
        min_size=1,
        max_size=2 * BLOCK_ANSWERS + 5,
    )
)
def test_answers_written_against_the_one_before_come_back_exactly(
    answers_in_order: list[tuple[str, int, bool, str, list[int]]],
) -> None:
    """Issue 13: a rid as the difference from the previous one, integers as differences
    from the previous answer of the same shape; every answer is rebuilt exactly, in a
    compressed block or in the one being filled."""
    frames: dict[str, str] = {}
    for text, number, zero_first, key, numbers in answers_in_order:
        rid = f"{text}{'0' if zero_first else ''}{number}"
        frames.setdefault(rid, orjson.dumps({"rid": rid, key: numbers, "n": number}).decode())
    answers = PackedAnswers()
    for rid, frame in frames.items():
        answers.add(rid, frame, 1.0)
    for rid, frame in frames.items():
        assert answers.find(rid) == frame


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(
        st.sampled_from([0.0, 0.0004, 0.001, 0.5, 65.534, 65.535, 65.536, 70.0, 3600.0])
        | st.floats(min_value=0, max_value=10**6),
        min_size=1,
        max_size=2 * BLOCK_ANSWERS + 5,
    ),
    start=st.floats(min_value=0, max_value=10**7),
)
def test_each_answer_expires_at_its_own_time_whatever_the_gaps(
    gaps: list[float], start: float
) -> None:
    """Expiries are kept as 2-byte gaps from the one before, longer gaps aside: the
    oldest answer's expiry is its own, rounded up to the millisecond, never earlier."""
    answers = PackedAnswers()
    expiries = []
    at = start
    for n, gap in enumerate(gaps):
        at += gap
        expiries.append(at)
        answers.add(f"r{n}", "{}", at)
    for expected in expiries:
        found = answers.oldest_expiry()
        assert found is not None
        assert expected <= found < expected + 0.0011
        answers.forget_oldest()
    assert answers.oldest_expiry() is None
    assert len(answers) == 0


def test_text_that_is_not_json_is_kept_whole() -> None:
    answers = PackedAnswers()
    answers.add("a", "plain \x00 text \x01 with markers", 1.0)
    answers.add("b", "answer 7", 1.0)
    assert answers.find("a") == "plain \x00 text \x01 with markers"
    assert answers.find("b") == "answer 7"


def test_when_the_shapes_run_out_strings_are_cut_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_answers, "_shapes", [])
    monkeypatch.setattr(_answers, "_shape_ids", {})
    monkeypatch.setattr(_answers, "_patterns", {})
    monkeypatch.setattr(_answers, "_last_cut", [_answers._WHOLE])
    monkeypatch.setattr(_answers, "MAX_SHAPES", 1)
    rng = random.Random(5)
    answers = PackedAnswers()
    frames = {f"r{n}": place_result(rng, f"r{n}") for n in range(100)}
    for rid, frame in frames.items():
        answers.add(rid, frame, 1.0)
    assert len(_answers._shapes) == 1  # one shape, then whole ones never added
    for rid, frame in frames.items():
        assert answers.find(rid) == frame


def test_a_colliding_hash_is_told_apart_by_the_rid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_answers, "rid_hash", lambda rid: 7)
    answers = PackedAnswers()
    for n in range(BLOCK_ANSWERS * 2):
        answers.add(f"r{n}", f'{{"rid":"r{n}","n":{n}}}', 1.0)
    assert (
        answers.find(f"r{BLOCK_ANSWERS + 3}")
        == f'{{"rid":"r{BLOCK_ANSWERS + 3}","n":{BLOCK_ANSWERS + 3}}}'
    )
    assert answers.find("r-other") is None


def test_a_hash_found_across_two_hashes_bytes_is_no_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hashes are searched as bytes: the wanted two bytes met across two neighbours
    (the high byte of one, the low byte of the next) are not taken for a hash, and an
    answer gone (forgotten) is never found, whatever its hash."""
    hashes = {"a": 0x0102, "b": 0x0304, "straddle": 0x0401 if sys.byteorder == "little" else 0x0203}
    monkeypatch.setattr(_answers, "rid_hash", lambda rid: hashes.get(rid, 0x0102))
    answers = PackedAnswers()
    answers.add("a", '{"rid":"a"}', 1.0)
    answers.add("b", '{"rid":"b"}', 2.0)
    assert answers.find("straddle") is None
    assert answers.find("b") == '{"rid":"b"}'
    answers.forget_oldest()
    assert answers.find("a") is None
    answers.add("a", '{"rid":"a","n":2}', 3.0)  # the same hash again, after the one gone
    assert answers.find("a") == '{"rid":"a","n":2}'


async def test_an_active_players_window_of_answers_fits_in_a_few_kilobytes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """480 place_result answers (two a second for twice the 120 s grace, a client's
    numbered rids, ticks of 10 Hz, cells anywhere), as the server makes them: the whole
    log, arrays and blocks, stays under 9 KiB, and every one of them is still answered the
    same. (The shapes are the process's, shared by every log: a first log of the same
    answers has made them.)"""
    rng = random.Random(1)
    frames = {f"place-{n}": "" for n in range(480)}
    for n, rid in enumerate(frames):
        frames[rid] = place_result(rng, rid, tick=41_000 + n * 5 + rng.randrange(3))
    log = RequestLog(window=240, max_entries=4096)
    for n, (rid, frame) in enumerate(frames.items()):
        autojump_clock.jump(0.5 if n else 0)  # the last one 239.5 s after the first
        assert log.begin(rid) == Fresh()
        log.finish(rid, frame)
    assert log.answered == 480
    assert log.answers_nbytes < 9 * 1024, log.answers_nbytes
    for rid, frame in frames.items():
        assert log.begin(rid) == Answered(frame=frame)


async def test_an_error_answer_is_rebuilt_exactly(autojump_clock: trio.testing.MockClock) -> None:
    log = RequestLog(window=10, max_entries=100)
    frame = encode_server(ErrorFrame(code="not_in_arena", message='no "arena": 3,4', rid="e-1"))
    assert log.begin("e-1") == Fresh()
    log.finish("e-1", frame)
    assert log.begin("e-1") == Answered(frame=frame)
    await trio.sleep(10)
    assert log.begin("e-1") == Fresh()


# The cut of integers as first written: a lookbehind for the character before, and two
# passes (findall, then sub). The one-pass cut must make the very same shape and numbers,
# so that what is packed, and the memory it takes, do not change.
_LOOKBEHIND_INTEGER = re.compile(r"(?<=[:,\[])(?:0|-?[1-9][0-9]{0,17})(?=[,\]}])")


@given(
    text=st.one_of(
        st.dictionaries(st.text(max_size=8), json_values, max_size=6).map(
            lambda body: orjson.dumps(body).decode()
        ),
        st.lists(json_values, max_size=6).map(lambda body: orjson.dumps(body).decode()),
        st.text(alphabet=st.sampled_from(':,[]{}"-0129x'), max_size=40),
    )
)
@settings(max_examples=400)
def test_integers_are_cut_as_the_two_pass_cut_cuts_them(text: str) -> None:
    expected = (
        _LOOKBEHIND_INTEGER.sub(_answers._NUMBER, text),
        [int(number) for number in _LOOKBEHIND_INTEGER.findall(text)],
    )
    assert _answers._cut_integers(text) == expected


@given(
    text=st.text(max_size=40)
    | st.text(alphabet=st.sampled_from('{}":,r1\x00\x01\x02\x03é\n'), max_size=40)
)
def test_text_is_kept_whole_exactly_when_it_holds_a_marker(text: str) -> None:
    """The pack looks for the markers character by character (issue 13): the very texts
    the markers' regex finds one in are kept whole, and every text comes back."""
    # Shapes of its own, so that they never run out here (nor fill the process's).
    with (
        patch.object(_answers, "_shapes", []),
        patch.object(_answers, "_shape_ids", {}),
        patch.object(_answers, "_patterns", {}),
        patch.object(_answers, "_last_cut", [_answers._WHOLE]),
    ):
        out = bytearray()
        _answers._pack(out, "r-1", text, _answers._Previous())
        # [the rid's length, its 3 bytes][the shape's number]: 0 says "kept whole".
        assert (out[4] == _answers._WHOLE) == (_answers._MARKERS.search(text) is not None)
        answers = PackedAnswers()
        answers.add("r-1", text, 1.0)
        assert answers.find("r-1") == text


@given(
    first=st.dictionaries(st.text(max_size=6), json_values, max_size=5).map(
        lambda body: orjson.dumps(body).decode()
    )
    | st.text(alphabet=st.sampled_from(':,[]{}"-0129x'), max_size=30),
    numbers=st.lists(
        st.integers(-(10**19), 10**19) | st.sampled_from(["-0", "007", "1.5", "x", ""]),
        max_size=8,
    ),
    other=st.text(alphabet=st.sampled_from(':,[]{}"-0129x\x00'), max_size=30),
)
@settings(max_examples=1000)
def test_a_shapes_pattern_cuts_as_the_regex_cuts(
    first: str, numbers: list[int | str], other: str
) -> None:
    """A text cut by its shape's pattern (the last shape's, most of the time) gives the
    shape and the integers that the cut of integers gives; any text the pattern does not
    take is left to that cut. Texts of the shape are made by putting other values (of any
    form, canonical or not) in its integers' places."""
    shape, _ = _answers._cut_integers(first)
    shape_id = _answers._shape_id(shape)
    assume(shape_id is not None)
    assert shape_id is not None
    pieces = shape.split(_answers._NUMBER)
    values = [str(n) for n in numbers[: len(pieces) - 1]]
    values += ["5"] * (len(pieces) - 1 - len(values))
    made = pieces[0] + "".join(v + piece for v, piece in zip(values, pieces[1:], strict=True))
    with patch.dict(_answers._patterns, clear=True):
        _answers._remember_pattern(shape_id)
        for text in (first, made, other, made + other, other + made):
            cut = _answers._cut_as(shape_id, text)
            if cut is not None:
                assert _answers._cut_integers(text) == (shape, cut)
        assert _answers._cut_as(shape_id, first) == _answers._cut_integers(first)[1]


def test_answers_packed_by_the_shapes_patterns_are_the_bytes_of_the_regexs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every outcome of place_result, errors and other answers, packed with the shapes'
    patterns and with the regex alone: the very same blocks."""
    rng = random.Random(11)
    frames = [(f"r-{n}", place_result(rng, f"r-{n}", tick=9_000 + n // 3)) for n in range(300)]
    frames += [
        (f"e{n}", encode_server(ErrorFrame(code="x", message=f"m {n},1", rid=f"e{n}")))
        for n in range(20)
    ]
    frames += [(f"o{n}", f'{{"type":"pong","rid":"o{n}","n":[{n},-{n},0]}}') for n in range(20)]
    rng.shuffle(frames)
    with_patterns = PackedAnswers()
    for rid, frame in frames:
        with_patterns.add(rid, frame, 1.0)
    monkeypatch.setattr(_answers, "_cut_as", lambda shape_id, text: None)
    monkeypatch.setattr(_answers, "_cut_frame_as", lambda shape_id, rid, frame: None)
    regex_alone = PackedAnswers()
    for rid, frame in frames:
        regex_alone.add(rid, frame, 1.0)
    assert with_patterns._blocks == regex_alone._blocks
    assert with_patterns._filling == regex_alone._filling
    for rid, frame in frames:
        assert with_patterns.find(rid) == frame


def _shape_of(rid: str, frame: str) -> tuple[str, list[int]]:
    """The shape and the integers the pack's regex cuts from ``frame`` answering ``rid``."""
    shape = frame.replace(f'"rid":{orjson.dumps(rid).decode()}', f'"rid":{_answers._RID}', 1)
    return _answers._cut_integers(shape)


rids = st.text(min_size=1, max_size=8) | st.sampled_from(["r-1", 'r"1', "r\\1", "r\n", "é1", "zz"])


@given(
    rid=rids,
    body=st.dictionaries(st.text(max_size=6), json_values, max_size=4),
    before=st.dictionaries(
        st.text(max_size=6), st.text(max_size=6) | st.integers(-(2**63), 2**63 - 1), max_size=2
    ),
    other_rid=rids,
    nested=st.sampled_from([None, "zz", "r-1"]),
    numbers=st.lists(st.integers(-(10**19), 10**19), max_size=6),
    shifted=st.sampled_from(["", '"rid":', '"rid":"r-1"', '"rid":"x",', " "]),
)
@settings(max_examples=1000)
def test_a_frames_pattern_cuts_as_the_regex_cuts(
    rid: str,
    body: dict[str, object],
    before: dict[str, object],
    other_rid: str,
    nested: str | None,
    numbers: list[int],
    shifted: str,
) -> None:
    """Issue 13: an answer matched by its shape's pattern of the whole text (the rid
    among the first pieces, as a place_result's) gives the shape and the integers that the
    rid's cut and the cut of integers give, for any other rid (quotes, escapes, ``"rid":``
    elsewhere in the text) and any other values in the integers' places; any text the
    pattern does not take is left to them."""
    nesting = {} if nested is None else {"n": {"rid": nested}}  # a "rid": before the rid's
    frame = orjson.dumps({**nesting, **before, "rid": rid, **body}).decode()
    shape, _ = _shape_of(rid, frame)
    with (
        patch.object(_answers, "_shapes", []),
        patch.object(_answers, "_shape_ids", {}),
        patch.object(_answers, "_patterns", {}),
        patch.object(_answers, "_frame_patterns", {}),
    ):
        shape_id = _answers._shape_id(shape)
        assert shape_id is not None
        _answers._remember_pattern(shape_id)
        assert _answers._cut_frame_as(shape_id, rid, frame) in (None, _shape_of(rid, frame)[1])
        pieces = shape.split(_answers._NUMBER)
        values = [str(n) for n in numbers[: len(pieces) - 1]]
        values += ["7"] * (len(pieces) - 1 - len(values))
        made = pieces[0] + "".join(v + p for v, p in zip(values, pieces[1:], strict=True))
        other = made.replace(_answers._RID, orjson.dumps(other_rid).decode(), 1)
        for text in (other, shifted + other, other.replace("{", "{" + shifted, 1)):
            # (the rid's JSON text as a rid: the rid's place takes no escaped text)
            for asked in (other_rid, rid, orjson.dumps(other_rid).decode()[1:-1]):
                cut = _answers._cut_frame_as(shape_id, asked, text)
                if cut is not None:
                    assert _shape_of(asked, text) == (shape, cut)


@given(
    first=st.text(alphabet=st.sampled_from("rp-0129é٣\n"), max_size=8),
    rid=st.text(alphabet=st.sampled_from("rp-0129é٣\n"), max_size=8),
)
@settings(max_examples=1000)
def test_a_rid_is_read_against_the_one_before_as_the_regex_reads_it(first: str, rid: str) -> None:
    """Issue 13: a rid read against the previous rid's text gives what the regex alone
    gives (the packer and the reader both read each rid so)."""
    before, _ = _answers._rid_parts(first, None)
    assert _answers._rid_parts(rid, before) == _answers._rid_parts(rid, None)
    assert _answers._rid_parts(first + rid, before) == _answers._rid_parts(first + rid, None)


@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["r", "p", "", "r0", "é"]),
            st.integers(min_value=0, max_value=300) | st.sampled_from([10**18, 10**19]),
            st.integers(min_value=0, max_value=3),
        ),
        min_size=1,
        max_size=3 * BLOCK_ANSWERS,
    )
)
@settings(max_examples=200, deadline=None)
def test_a_rid_greater_than_any_remembered_is_new_and_the_others_are_found(
    steps: list[tuple[str, int, int]],
) -> None:
    """Issue 13: a rid whose number is greater than every remembered rid's is known to be
    new without a search; every remembered rid is still found, whatever was forgotten
    (a log emptied starts afresh), and no forgotten one is."""
    answers = PackedAnswers()
    kept: dict[str, str] = {}  # in order of adding
    for text, number, forget in steps:
        rid = f"{text}{number}"
        for _ in range(min(forget, len(kept))):
            answers.forget_oldest()
            del kept[next(iter(kept))]
        if rid not in kept:
            kept[rid] = f'{{"rid":"{rid}","n":{number}}}'
            answers.add(rid, kept[rid], 1.0)
        for text_asked in ("r", "p", "", "r0", "é"):
            for asked in (f"{text_asked}{number}", f"{text_asked}{number + 1}", rid):
                assert answers.find(asked) == kept.get(asked)
