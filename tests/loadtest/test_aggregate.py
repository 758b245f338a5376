"""The coordinator's view: updates from several workers, summed into totals and a timeline."""

from __future__ import annotations

import orjson

from tilemud.loadtest import LatencyHistogram, Tally
from tilemud.loadtest._aggregate import RunAggregate, Sample
from tilemud.loadtest._progress import Finished, Progress, decode_update
from tilemud.loadtest._tally import ACTION, BROADCAST


def progress(worker: int, second: int, *, places: int, broadcast_ms: list[float]) -> Progress:
    interval = {BROADCAST: LatencyHistogram(), ACTION: LatencyHistogram()}
    for ms in broadcast_ms:
        interval[BROADCAST].record(ms / 1000)
    return Progress(
        worker=worker,
        second=second,
        connected=10,
        seated=10 - second % 2,
        places_sent=places,
        answers=places,
        frames=places * 10,
        errors=0,
        interval=interval,
    )


def through_the_pipe(update: Progress | Finished) -> Progress | Finished:
    """What the coordinator gets from a worker process: the update, as a JSON line."""
    return decode_update(orjson.loads(orjson.dumps(update.to_dict())))


def test_progress_and_tallies_survive_the_pipe() -> None:
    sent = progress(1, 3, places=40, broadcast_ms=[5.0, 7.0])
    received = through_the_pipe(sent)
    assert isinstance(received, Progress)
    assert received.places_sent == 40
    assert received.interval[BROADCAST].summary() == sent.interval[BROADCAST].summary()
    tally = Tally()
    tally.events["joined"] = 3
    finished = through_the_pipe(Finished(worker=1, tally=tally, cpu_seconds=1.5))
    assert isinstance(finished, Finished)
    assert finished.tally.events["joined"] == 3


def test_the_timeline_sums_workers_second_by_second() -> None:
    aggregate = RunAggregate(workers=2)
    for second in (1, 2):
        aggregate.add(progress(0, second, places=20 * second, broadcast_ms=[10.0] * 5))
        aggregate.add(progress(1, second, places=20 * second, broadcast_ms=[30.0] * 5))
    aggregate.add_server_sample(
        1, Sample(machine_cpu_percent=120.0, cpu_percent=55.5, rss_bytes=2**26)
    )
    timeline = aggregate.timeline()
    assert [p["t"] for p in timeline] == [1, 2]
    assert timeline[0]["places_sent_per_s"] == 40
    assert timeline[1]["places_sent_per_s"] == 40  # cumulative 80, minus 40
    assert timeline[0]["connected"] == 20
    assert timeline[0]["broadcast"]["count"] == 10
    assert 29.0 < timeline[0]["broadcast"]["p95"] < 31.0
    assert timeline[0]["server_cpu_percent"] == 55.5
    assert timeline[0]["server_rss_mb"] == 64.0
    assert "server_cpu_percent" not in timeline[1]


def test_a_late_worker_counts_with_its_last_report() -> None:
    aggregate = RunAggregate(workers=2)
    aggregate.add(progress(0, 1, places=10, broadcast_ms=[]))
    aggregate.add(progress(0, 2, places=30, broadcast_ms=[]))
    aggregate.add(progress(1, 1, places=5, broadcast_ms=[]))
    assert aggregate.latest_complete_second() == 1
    assert aggregate.totals_at(2)["places_sent"] == 35


def test_final_tallies_are_added_up() -> None:
    aggregate = RunAggregate(workers=2)
    for worker in (0, 1):
        tally = Tally()
        tally.events["places_sent"] = 100
        tally.histograms[ACTION].record(0.05)
        aggregate.add(Finished(worker=worker, tally=tally, cpu_seconds=2.0))
    assert aggregate.finished == {0, 1}
    assert aggregate.tally.events["places_sent"] == 200
    assert aggregate.tally.histograms[ACTION].count == 2
    assert aggregate.client_cpu_seconds == 4.0


def test_the_steady_window_counts_cpu_and_frames_from_two_seconds_after_the_last_seat() -> None:
    """As the Colyseus harness counts: the joins and the ramp are left out."""
    aggregate = RunAggregate(workers=1)
    histograms = {BROADCAST: LatencyHistogram(), ACTION: LatencyHistogram()}
    for second in range(1, 11):
        aggregate.add(
            Progress(
                worker=0,
                second=second,
                connected=min(second, 3) * 100,
                seated=min(second, 3) * 100,  # all 300 seated from second 3
                places_sent=0,
                answers=0,
                frames=3000 * second + (5000 if second >= 2 else 0),  # a burst while joining
                errors=0,
                interval=histograms,
            )
        )
        # The joins cost 4 CPU s by second 3; then 0.2 s a second.
        cpu = 4.0 if second <= 3 else 4.0 + 0.2 * (second - 3)
        aggregate.add_server_sample(
            second, Sample(machine_cpu_percent=50.0, cpu_percent=20.0, cpu_seconds=cpu)
        )
    steady = aggregate.steady(until=9)
    assert steady is not None
    assert (steady["from_s"], steady["to_s"]) == (5, 9)
    assert steady["frames"] == 4 * 3000
    assert steady["cpu_seconds"] == 0.8
    assert steady["cpu_us_per_delivered_frame"] == round(1e6 * 0.8 / 12000, 2)
    assert steady["cpu_percent_avg"] == 20.0
    # Without the server's CPU time (no probe): no figure, rather than a wrong one.
    assert RunAggregate(workers=1).steady(until=9) is None
