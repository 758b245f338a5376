"""Stream accounting (gaps, duplicates, snapshots), drop-rate arithmetic, tally merging."""

from __future__ import annotations

import pytest

from tilemud.loadtest import StreamAccount, StreamTotals, Tally
from tilemud.loadtest._tally import ACTION, BROADCAST, HISTOGRAMS, drop_rate


def seen(*frames: int | tuple[int, str]) -> StreamAccount:
    """A stream that received ``frames`` (a seq, or (seq, "snapshot"))."""
    account = StreamAccount()
    for frame in frames:
        seq, kind = frame if isinstance(frame, tuple) else (frame, "")
        account.see(seq, snapshot=kind == "snapshot")
    return account


def test_a_whole_stream_has_nothing_missing() -> None:
    account = seen((1, "snapshot"), 2, 3, 4)
    assert (account.last_seq, account.frames, account.missing, account.gaps) == (4, 4, 0, 0)
    assert account.duplicates == 0


def test_a_gap_counts_every_frame_it_lost() -> None:
    account = seen(1, 2, 6, 7, 9)
    assert account.gaps == 2  # occurrences
    assert account.missing == 3 + 1  # frames: 3, 4, 5 and 8
    assert account.last_seq == 9


def test_frames_skipped_before_a_snapshot_are_counted_apart() -> None:
    account = seen(1, 2, (10, "snapshot"), 11)
    assert account.missing == 0
    assert account.gaps == 0
    assert account.skipped_before_snapshot == 7


def test_duplicates_are_counted_and_do_not_move_the_stream_back() -> None:
    account = seen(1, 2, 3, 2, 3, 4)
    assert account.duplicates == 2
    assert account.last_seq == 4
    assert account.missing == 0


def test_drop_rate_is_frames_never_received_over_frames_sent() -> None:
    totals = StreamTotals()
    totals.add_stream(seen(1, 2, 3, 4, 5, 6, 7, 8, 9, 10))  # 10 sent, none lost
    totals.add_stream(seen(1, 4, 5, (10, "snapshot")))  # 10 sent: 2 missing, 4 replaced
    assert totals.sent == 20
    assert totals.received == 14
    assert totals.dropped == 6
    assert totals.drop_rate == pytest.approx(6 / 20)


def test_drop_rate_without_frames_is_unknown_not_zero() -> None:
    assert StreamTotals().drop_rate is None
    assert drop_rate(dropped=0, sent=0) is None
    assert drop_rate(dropped=0, sent=5) == 0.0


def test_tallies_merge_counters_streams_and_histograms() -> None:
    first, second = Tally(), Tally()
    first.events["places_sent"] += 3
    second.events["places_sent"] += 4
    first.errors["place:rate_limited"] += 1
    second.closes["1001 shutting_down"] += 2
    second.arenas["a_1"] += 5
    first.stream.add_stream(seen(1, 2, 5))
    second.stream.add_stream(seen(1, 2))
    first.histograms[ACTION].record(0.050)
    second.histograms[ACTION].record(0.150)
    second.histograms[BROADCAST].record(0.010)

    first.add(second)

    assert first.events["places_sent"] == 7
    assert first.errors == {"place:rate_limited": 1}
    assert first.closes == {"1001 shutting_down": 2}
    assert first.arenas == {"a_1": 5}
    assert (first.stream.sent, first.stream.missing) == (7, 2)
    assert first.histograms[ACTION].count == 2
    assert first.histograms[BROADCAST].count == 1


def test_a_tally_survives_the_trip_between_processes() -> None:
    tally = Tally()
    tally.events["joined"] = 20
    tally.outcomes["accepted"] = 9
    tally.outcomes["rejected:cooldown"] = 1
    tally.stream.add_stream(seen(1, 3))
    for name in HISTOGRAMS:
        tally.histograms[name].record(0.02)
    copy = Tally.from_dict(tally.to_dict())
    assert copy.events == tally.events
    assert copy.outcomes == tally.outcomes
    assert copy.stream == tally.stream
    assert {n: h.summary() for n, h in copy.histograms.items()} == {
        n: h.summary() for n, h in tally.histograms.items()
    }
