"""One load test from start to end: check, watch the server, run the swarms, report.

:func:`run_loadtest` is what ``tilemud loadtest`` runs (in its own ``trio.run``) and what a
test may await inside its own Trio run, next to a server it started.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

import httpx
import trio

from tilemud.loadtest._aggregate import RunAggregate, Sample
from tilemud.loadtest._config import LoadConfig
from tilemud.loadtest._display import LiveDisplay
from tilemud.loadtest._machine import MachineLoad
from tilemud.loadtest._metrics import Scrape, scrape, server_metrics
from tilemud.loadtest._picture import draw_picture
from tilemud.loadtest._progress import Update
from tilemud.loadtest._report import build_report, write_report
from tilemud.loadtest._server_probe import ProbeUnavailable, ServerProbe, server_pid
from tilemud.loadtest._windows import below_floor, windows
from tilemud.loadtest._workers import run_swarms


async def run_loadtest(
    config: LoadConfig,
    *,
    report_path: Path | None = None,
    picture_path: Path | None = None,
    server_pid_hint: int | None = None,
    out: TextIO | None = None,
    interactive: bool | None = None,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """Run the load test ``config`` describes; returns the report (also written if asked).

    Args:
        config: the load test (checked first).
        report_path: where to write the JSON report.
        picture_path: where to draw the PNG picture.
        server_pid_hint: the server's pid (else the listener of the gateway's port).
        out: where the live progress goes (standard error by default).
        interactive: one updating line (True) or plain lines (False); default: whether
            ``out`` is a terminal.
        command: the command line, recorded in the report.

    Raises:
        ConfigError: bad options (``TargetRefused`` for a URL not on this machine).
    """
    config.check()
    out = sys.stderr if out is None else out
    display = LiveDisplay(out, players=config.players, interactive=interactive)
    aggregate = RunAggregate(workers=config.processes)
    probe, probe_status = _open_probe(config, server_pid_hint)
    machine = MachineLoad()
    metrics_url = config.http_url.rstrip("/") + "/metrics"
    began = time.time()
    start = _Start()

    def on_update(update: Update) -> None:
        aggregate.add(update)
        display.refresh(aggregate)

    display.message(
        f"tilemud loadtest: {config.players} bots ({config.mode}, {config.region}) on"
        f" {config.ws_url}, {config.duration:g} s, {config.processes} process(es)"
    )
    async with httpx.AsyncClient(timeout=10.0) as http:
        before = await scrape(http, metrics_url)
        scrapes: dict[int, Scrape] = {0: before}
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_sample, machine, probe, aggregate, start)
            if config.report_every is not None:
                nursery.start_soon(_scrape_windows, http, metrics_url, start, config, scrapes)
            problems = await run_swarms(config, on_update, on_start=start.set)
            nursery.cancel_scope.cancel()
        ended = time.time()
        after = await scrape(http, metrics_url)
        if config.report_every is not None:
            scrapes.setdefault(max(scrapes) + 1, after)
    display.close()
    started = start.at if start.at is not None else began
    if probe is not None:
        probe_status = probe.summary(ended - started)
    machine_status = machine.summary(
        ended - started,
        server_cpu=probe_status.get("cpu_seconds"),
        client_cpu=aggregate.client_cpu_seconds,
    )
    report = build_report(
        config,
        aggregate,
        started_wall=started,
        ended_wall=ended,
        server_process=probe_status,
        machine=machine_status,
        server_metrics=server_metrics(before, after),
        problems=problems,
        command=command,
    )
    if config.report_every is not None:
        report["windows"] = windows(aggregate, scrapes, config.report_every)
        # The acceptance floor holds in every minute, not only on average over a window.
        report["minutes"] = windows(aggregate, {}, 60)
        report["problems"] += below_floor(report["minutes"])
    if report_path is not None:
        write_report(report, report_path)
    if picture_path is not None:
        await trio.to_thread.run_sync(draw_picture, report, picture_path)
    return report


def _open_probe(config: LoadConfig, pid: int | None) -> tuple[ServerProbe | None, dict[str, Any]]:
    try:
        probe = ServerProbe(server_pid(config.ws_url, pid))
    except ProbeUnavailable as exc:
        return None, {"available": False, "reason": str(exc)}
    return probe, {"available": True, "pid": probe.pid}


class _Start:
    """The run's start (Unix time), once the workers have fixed it."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.fixed = trio.Event()

    def set(self, at: float) -> None:
        self.at = at
        self.fixed.set()


async def _sample(
    machine: MachineLoad, probe: ServerProbe | None, aggregate: RunAggregate, start: _Start
) -> None:
    """One sample a second of the run, from its start on."""
    await start.fixed.wait()
    assert start.at is not None
    await trio.sleep(max(0.0, start.at - time.time()))
    machine.restart()
    if probe is not None:
        probe.restart()
    second = 1
    while True:
        await trio.sleep(max(0.0, start.at + second - time.time()))
        sample = Sample(machine_cpu_percent=machine.sample_percent())
        taken = probe.sample() if probe is not None else None
        if taken is not None:
            sample.cpu_percent, sample.rss_bytes = taken
            sample.cpu_seconds = probe.cpu_seconds() if probe is not None else None
        aggregate.add_server_sample(second, sample)
        second += 1


async def _scrape_windows(
    http: httpx.AsyncClient,
    url: str,
    start: _Start,
    config: LoadConfig,
    scrapes: dict[int, Scrape],
) -> None:
    """Read ``/metrics`` at every window's end (second ``k * report_every`` of the run)."""
    assert config.report_every is not None
    await start.fixed.wait()
    assert start.at is not None
    index = 1
    while True:
        await trio.sleep(max(0.0, start.at + index * config.report_every - time.time()))
        scrapes[index] = await scrape(http, url)
        index += 1
