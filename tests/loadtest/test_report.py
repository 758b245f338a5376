"""The report of a run is complete, JSON, readable as text and drawable as a picture."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from tilemud.loadtest import REPORT_KEYS, LoadConfig, Tally, draw_picture, render_summary
from tilemud.loadtest._aggregate import RunAggregate, Sample
from tilemud.loadtest._display import LiveDisplay
from tilemud.loadtest._progress import Finished, Progress
from tilemud.loadtest._report import build_report, write_report
from tilemud.loadtest._tally import ACTION, BROADCAST, HISTOGRAMS, JOIN, StreamAccount

CONFIG = LoadConfig(players=4, duration=3.0, reconnect_at=1.5, scenario="unit")


def finished_run() -> RunAggregate:
    aggregate = RunAggregate(workers=1)
    tally = Tally()
    tally.events.update(
        bots_started=4, joined=3, places_sent=24, storm_drops=3, resumed=3, snapshots=3
    )
    tally.outcomes.update({"accepted": 20, "rejected:cooldown": 2})
    tally.errors["join:arena_unavailable"] = 1
    tally.closes["4008 slow client"] = 1
    tally.arenas["a_1"] = 3
    account = StreamAccount()
    for seq in (1, 2, 3, 5):
        account.see(seq, snapshot=seq == 1)
    tally.stream.add_stream(account)
    for name in HISTOGRAMS:
        tally.histograms[name].record(0.01)
    for second in (1, 2, 3):
        interval = {BROADCAST: tally.histograms[BROADCAST], ACTION: tally.histograms[ACTION]}
        aggregate.add(
            Progress(
                worker=0,
                second=second,
                connected=3,
                seated=3,
                places_sent=8 * second,
                answers=7 * second,
                frames=2 * second,
                errors=1,
                interval=interval,
            )
        )
        aggregate.add_server_sample(
            second, Sample(machine_cpu_percent=90.0, cpu_percent=40.0, rss_bytes=50 * 2**20)
        )
    aggregate.add(Finished(worker=0, tally=tally, cpu_seconds=0.7))
    return aggregate


def report() -> dict[str, Any]:
    return build_report(
        CONFIG,
        finished_run(),
        started_wall=1_800_000_000.0,
        ended_wall=1_800_000_004.0,
        server_process={"available": True, "pid": 42, "cpu_seconds": 1.2},
        server_metrics={"available": False, "reason": "GET /metrics: HTTP 404"},
        machine={"cpus": 2, "busy_cpu_seconds": 2.5, "other_processes_cpu_seconds": 0.6},
        problems=["worker 1 exited with status 1"],
    )


def test_the_report_has_every_section_and_is_json() -> None:
    document = report()
    assert set(REPORT_KEYS) <= set(document)
    decoded = orjson.loads(orjson.dumps(document))
    assert decoded["scenario"] == "unit"
    assert set(decoded["latency_ms"]) == set(HISTOGRAMS)
    for summary in decoded["latency_ms"].values():
        assert set(summary) >= {"count", "p50", "p95", "p99", "max"}
    assert [row["name"] for row in decoded["targets"]] == [
        "broadcast latency p95",
        "conflict tick p99",
        "join handshake p95",
        "epic arena",
    ]
    assert len(decoded["timeline"]) == 3
    assert decoded["distribution"][JOIN]


def test_the_report_counts_what_went_wrong() -> None:
    document = report()
    assert document["stream"]["sent"] == 5
    assert document["stream"]["dropped"] == 1
    assert document["stream"]["drop_rate"] == pytest.approx(0.2)
    assert document["errors"] == {"join:arena_unavailable": 1}
    assert document["closes"] == {"4008 slow client": 1}
    assert document["bots"]["never_joined"] == 1
    problems = "\n".join(document["problems"])
    assert "worker 1 exited with status 1" in problems
    assert "1 bots never joined" in problems
    assert "join:arena_unavailable: 1" in problems
    assert "4008 slow client" in problems
    assert "1 stream frames missing" in problems
    assert document["server_metrics"]["available"] is False
    targets = {row["name"]: row for row in document["targets"]}
    assert targets["conflict tick p99"]["verdict"] == "n/a"
    assert "404" in targets["conflict tick p99"]["note"]


def test_the_storm_is_judged() -> None:
    storm = report()["reconnect_storm"]
    assert storm["drops"] == storm["resumed"] == 3
    assert storm["stream_gaps"] == 1
    assert storm["nothing_lost"] is False  # the gap above


def test_the_summary_shows_the_figures_and_the_targets(tmp_path: Path) -> None:
    text = render_summary(report())
    assert "latency (ms)" in text
    assert "broadcast latency p95" in text
    assert "server metrics: not available" in text
    assert "problems:" in text


def test_report_and_picture_files(tmp_path: Path) -> None:
    document = report()
    write_report(document, tmp_path / "out" / "report.json")
    assert orjson.loads((tmp_path / "out" / "report.json").read_bytes()) == orjson.loads(
        orjson.dumps(document)
    )
    draw_picture(document, tmp_path / "out" / "picture.png")
    assert (tmp_path / "out" / "picture.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_live_display_is_one_line_on_a_terminal_and_plain_lines_otherwise() -> None:
    aggregate = finished_run()
    terminal = io.StringIO()
    LiveDisplay(terminal, players=4, interactive=True).refresh(aggregate)
    assert terminal.getvalue().startswith("\r")
    assert "seated    3/4" in terminal.getvalue()
    plain = io.StringIO()
    display = LiveDisplay(plain, players=4, interactive=False)
    display.refresh(aggregate)
    assert plain.getvalue() == ""  # a plain line every few seconds only
