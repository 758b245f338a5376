"""The report of one run: a JSON document a person or a script can read, and its text form.

The document is self-contained: the options, the machine, every latency summary, the
stream accounting, errors by code, closes by code, the targets table, the timeline and the
latency distributions (enough to draw the picture again).
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

import tilemud
from tilemud.loadtest._aggregate import RunAggregate
from tilemud.loadtest._config import LoadConfig
from tilemud.loadtest._tally import ACTION, BROADCAST, HISTOGRAMS, JOIN, RESUME
from tilemud.loadtest._targets import evaluate_targets, render_targets

#: Bumped when a key changes meaning or disappears.
REPORT_FORMAT: Final = 1

#: The top-level keys every report has.
REPORT_KEYS: Final = (
    "format",
    "scenario",
    "started_at",
    "duration_s",
    "command",
    "config",
    "machine",
    "bots",
    "arenas",
    "latency_ms",
    "actions",
    "stream",
    "reconnect_storm",
    "server_process",
    "server_metrics",
    "clients",
    "errors",
    "closes",
    "events",
    "problems",
    "targets",
    "timeline",
    "distribution",
)


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).isoformat(timespec="seconds")


def build_report(
    config: LoadConfig,
    aggregate: RunAggregate,
    *,
    started_wall: float,
    ended_wall: float,
    server_process: dict[str, Any],
    server_metrics: dict[str, Any],
    machine: dict[str, Any] | None = None,
    problems: list[str],
    command: list[str] | None = None,
) -> dict[str, Any]:
    """The report document of a finished run."""
    tally = aggregate.tally
    histograms = tally.histograms
    stream = tally.stream
    events = tally.events
    largest = max(tally.arenas.values(), default=0)
    duration = ended_wall - started_wall
    answers = sum(tally.outcomes.values())
    tick = server_metrics.get("tick_duration_ms") if server_metrics.get("available") else None
    tick_note = (
        f"not available: {server_metrics.get('reason')}"
        if not server_metrics.get("available")
        else "no tick duration metric in /metrics"
    )
    targets = evaluate_targets(
        broadcast_p95_ms=histograms[BROADCAST].percentile_ms(95),
        tick_ms=tick,
        tick_note=tick_note,
        join_p95_ms=histograms[JOIN].percentile_ms(95),
        largest_arena=largest,
        drop_rate=stream.drop_rate,
    )
    server_cpu = server_process.get("cpu_seconds")
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "scenario": config.scenario,
        "started_at": _iso(started_wall),
        "duration_s": round(duration, 3),
        "command": command or [],
        "config": config.to_dict(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "tilemud": tilemud.__version__,
            "note": "client and server share this machine's cores",
            **(machine or {}),
        },
        "bots": {
            "asked": config.players,
            "started": events["bots_started"],
            "joined": events["joined"],
            "never_joined": events["bots_started"] - events["joined"],
            "rejoined_after_battle": events["rejoined"],
        },
        "arenas": {"count": len(tally.arenas), "largest": largest},
        "latency_ms": {name: histograms[name].summary() for name in HISTOGRAMS},
        "actions": {
            "sent": events["places_sent"],
            "answered": answers,
            "per_second": round(events["places_sent"] / duration, 1) if duration > 0 else None,
            "outcomes": dict(sorted(tally.outcomes.items())),
            "late_sends": events["places_late"],
        },
        "stream": {
            "sent": stream.sent,
            "received": stream.received,
            "missing_in_gaps": stream.missing,
            "skipped_before_snapshot": stream.skipped_before_snapshot,
            "dropped": stream.dropped,
            "drop_rate": stream.drop_rate,
            "gaps": stream.gaps,
            "duplicates": stream.duplicates,
            "snapshots": events["snapshots"],
        },
        "reconnect_storm": _storm(config, tally.events, stream.gaps, stream.duplicates),
        "server_process": {
            **server_process,
            "cpu_us_per_delivered_frame": (
                round(1e6 * server_cpu / stream.received, 2)
                if isinstance(server_cpu, int | float) and stream.received
                else None
            ),
            "steady": aggregate.steady(int(config.duration)),
        },
        "server_metrics": server_metrics,
        "clients": {
            "processes": config.processes,
            "cpu_seconds": round(aggregate.client_cpu_seconds, 3),
        },
        "errors": dict(sorted(tally.errors.items())),
        "closes": dict(sorted(tally.closes.items())),
        "events": dict(sorted(events.items())),
        "problems": problems + _problems(config, aggregate) + _crowded(machine, duration),
        "targets": [row.to_dict() for row in targets],
        "timeline": aggregate.timeline(),
        "distribution": {
            name: histograms[name].distribution() for name in (JOIN, ACTION, BROADCAST, RESUME)
        },
    }
    return report


def _storm(
    config: LoadConfig, events: dict[str, int], gaps: int, duplicates: int
) -> dict[str, Any] | None:
    if config.reconnect_at is None:
        return None
    drops = events.get("storm_drops", 0)
    resumed = events.get("resumed", 0)
    fresh = events.get("resume_got_fresh_session", 0)
    return {
        "at_s": config.reconnect_at,
        "drops": drops,
        "resumed": resumed,
        "fresh_sessions": fresh,
        "placements_repeated": events.get("places_repeated", 0),
        "stream_gaps": gaps,
        "stream_duplicates": duplicates,
        "nothing_lost": drops > 0 and resumed >= drops and fresh == 0 and not gaps + duplicates,
    }


def _problems(config: LoadConfig, aggregate: RunAggregate) -> list[str]:
    """Bad situations, one line each: nothing that went wrong stays only in a counter."""
    tally = aggregate.tally
    found: list[str] = []
    if len(aggregate.finished) < aggregate.workers:
        found.append(f"only {len(aggregate.finished)} of {aggregate.workers} workers reported")
    never = tally.events["bots_started"] - tally.events["joined"]
    if never:
        found.append(f"{never} bots never joined an arena")
    for key, count in sorted(tally.errors.items()):
        found.append(f"error {key}: {count}")
    for key, count in sorted(tally.closes.items()):
        found.append(f"closed by the server with {key}: {count} connections")
    stream = tally.stream
    if stream.missing:
        found.append(f"{stream.missing} stream frames missing in {stream.gaps} gaps")
    if stream.duplicates:
        found.append(f"{stream.duplicates} stream frames received twice")
    if stream.skipped_before_snapshot:
        found.append(f"{stream.skipped_before_snapshot} stream frames replaced by snapshots")
    for name, histogram in tally.histograms.items():
        if histogram.clamped:
            found.append(f"{histogram.clamped} {name} values outside 0..1 h (clamped)")
    if tally.events["answers_unexpected"]:
        found.append(f"{tally.events['answers_unexpected']} answers for no pending request")
    return found


def _crowded(machine: dict[str, Any] | None, duration: float) -> list[str]:
    others = (machine or {}).get("other_processes_cpu_seconds")
    if not isinstance(others, int | float) or duration <= 0 or others < 0.1 * duration:
        return []
    return [
        f"other processes used {others:.1f} CPU seconds ({100 * others / duration:.0f} % of a"
        " core) during the run: the machine was shared, the figures are pessimistic"
    ]


def write_report(report: dict[str, Any], path: Path) -> None:
    """Write the report as indented JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")


def render_summary(report: dict[str, Any]) -> str:
    """The end-of-run text: totals, latencies, problems and the targets table."""
    from tilemud.loadtest._targets import TargetRow

    lat = report["latency_ms"]
    stream = report["stream"]
    actions = report["actions"]
    bots = report["bots"]
    server = report["server_process"]
    lines = [
        f"tilemud loadtest: {report['scenario']}, {report['config']['players']} bots,"
        f" {report['config']['mode']} {report['config']['region']},"
        f" {report['duration_s']:.0f} s, started {report['started_at']}",
        f"bots: {bots['joined']}/{bots['asked']} joined; arenas: {report['arenas']['count']}"
        f" (largest {report['arenas']['largest']})",
        f"actions: {actions['sent']} sent ({actions['per_second']}/s),"
        f" {actions['answered']} answered: {_counts(actions['outcomes'])}",
        f"stream: {stream['received']} frames received of {stream['sent']} sent;"
        f" dropped {stream['dropped']} ({_rate(stream['drop_rate'])}),"
        f" gaps {stream['gaps']}, duplicates {stream['duplicates']}",
        "",
        "latency (ms)          count      p50      p95      p99      max",
    ]
    for name, summary in lat.items():
        if not summary["count"]:
            continue
        cells = [f"{summary[k]:>8,.1f}" for k in ("p50", "p95", "p99", "max")]
        lines.append(f"{name:<20}{summary['count']:>8}  {' '.join(cells)}")
    if server.get("available"):
        lines.append(
            f"\nserver process {server.get('pid')}: CPU avg {server.get('cpu_percent_avg')} %"
            f" (max {server.get('cpu_percent_max')} %), RSS max {server.get('rss_mb_max')} MiB,"
            f" {server.get('cpu_us_per_delivered_frame')} µs CPU per delivered frame"
        )
        steady = server.get("steady")
        if steady:
            lines.append(
                f"  once all were seated (seconds {steady['from_s']}-{steady['to_s']}):"
                f" CPU avg {steady['cpu_percent_avg']} %,"
                f" {steady['cpu_us_per_delivered_frame']} µs CPU per delivered frame"
            )
    else:
        lines.append(f"\nserver process: not available ({server.get('reason')})")
    machine = report["machine"]
    if "busy_cpu_seconds" in machine:
        lines.append(
            f"machine: {machine.get('cpus')} cores,"
            f" {machine.get('busy_percent_of_all_cores')} % busy;"
            f" client processes {report['clients']['cpu_seconds']:.1f} CPU s,"
            f" other processes {machine.get('other_processes_cpu_seconds')} CPU s"
        )
    metrics = report["server_metrics"]
    if not metrics.get("available"):
        lines.append(f"server metrics: not available ({metrics.get('reason')})")
    else:
        tick = metrics.get("tick_duration_ms") or {}
        counters = metrics.get("counters", {})
        shown = ", ".join(
            f"{k} {tick[k]}" if tick.get(k) is not None else f"{k} > {tick.get(f'{k}_above')}"
            for k in ("p50", "p95", "p99", "max")
            if k in tick
        )
        lines.append(
            f"server metrics: tick duration ms {shown or '-'};"
            + "".join(
                f" {name.removeprefix('tilemud_')} {value:g};"
                for name, value in counters.items()
                if any(word in name for word in ("drop", "skipped"))
            )
        )
    storm = report["reconnect_storm"]
    if storm is not None:
        lines.append(
            f"reconnect storm at {storm['at_s']} s: {storm['drops']} dropped,"
            f" {storm['resumed']} resumed, {storm['fresh_sessions']} got a fresh session,"
            f" {storm['placements_repeated']} placements repeated;"
            f" nothing lost: {'yes' if storm['nothing_lost'] else 'NO'}"
        )
    if report["problems"]:
        lines.append("\nproblems:")
        lines.extend(f"  - {problem}" for problem in report["problems"])
    if report.get("windows"):
        lines += ["", render_windows(report["windows"])]
    minutes = [m["acceptance"] for m in report.get("minutes", []) if m["acceptance"] is not None]
    if minutes:
        lines.append(f"acceptance per minute: lowest {min(minutes):.1%} of {len(minutes)} minutes")
    rows = [TargetRow(**row) for row in report["targets"]]
    lines += ["", render_targets(rows)]
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counts.items()) or "none"


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.3%}"


def render_windows(rows: list[dict[str, Any]]) -> str:
    """The per-window table of a long run."""

    def cell(value: object, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    lines = [
        "window (s)     sent  answered  accepted  acceptance  broadcast p95  tick p99"
        "  server RSS  rounds",
    ]
    for row in rows:
        lines.append(
            f"{row['from_s']:>5}-{row['to_s']:<5} {row['sent']:>8} {row['answered']:>9}"
            f" {row['accepted']:>9} {cell(row['acceptance'], '>10.1%')}"
            f" {cell(row['broadcast_p95_ms'], '>11.1f')} ms {cell(row['tick_p99_ms'], '>6.1f')} ms"
            f" {cell(row['server_rss_mb'], '>7.1f')} MB {row['rounds_ended']:>6}"
        )
    return "\n".join(lines)
