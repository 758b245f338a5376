"""The PNG picture of a report: latency distributions, latency and load over time.

Drawn from the report document alone (not from live objects), so a picture can be drawn
again from any saved report: ``draw_picture(json.load(f), path)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

#: Percentile ticks of the distribution plot (HdrHistogram's usual "1/(1-p)" axis).
_PERCENTILE_TICKS: Final = (0.0, 50.0, 90.0, 99.0, 99.9, 99.99)
_COLOURS: Final = {
    "join_handshake": "tab:green",
    "action_round_trip": "tab:orange",
    "broadcast": "tab:blue",
    "resume_handshake": "tab:purple",
}


def _inverse_tail(percentile: float) -> float:
    return 1.0 / max(1e-6, 1.0 - percentile / 100.0)


def draw_picture(report: dict[str, Any], path: Path) -> None:
    """Draw ``report`` into a PNG file at ``path``."""
    # The Figure API without pyplot: no global state, so it may run in a worker thread.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 9.5), dpi=100)
    axes = figure.subplots(2, 2)
    config = report["config"]
    figure.suptitle(
        f"tilemud loadtest: {report['scenario']} — {config['players']} bots, {config['mode']},"
        f" {config['actions_per_second']:g} placements/s each, {report['duration_s']:.0f} s,"
        f" {report['started_at']}",
        fontsize=13,
    )
    _distribution(axes[0][0], report)
    _latency_over_time(axes[0][1], report)
    _load_over_time(axes[1][0], report)
    _server_over_time(axes[1][1], report)
    verdicts = "   ".join(
        f"{row['name']}: {row['measured']} [{row['verdict'].upper()}]" for row in report["targets"]
    )
    figure.text(0.5, 0.01, verdicts, ha="center", fontsize=9, wrap=True)
    figure.tight_layout(rect=(0, 0.04, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def _distribution(ax: Any, report: dict[str, Any]) -> None:
    ax.set_title("latency distribution (whole run)")
    drawn = False
    for name, points in report["distribution"].items():
        if not points:
            continue
        count = report["latency_ms"][name]["count"]
        xs = [_inverse_tail(p) for p, _ in points]
        ys = [max(ms, 0.001) for _, ms in points]
        ax.plot(xs, ys, label=f"{name} (n={count:,})", color=_COLOURS.get(name), linewidth=1.6)
        drawn = True
    ax.set_xscale("log")
    ax.set_xticks([_inverse_tail(p) for p in _PERCENTILE_TICKS])
    ax.set_xticklabels([f"{p:g}%" for p in _PERCENTILE_TICKS])
    ax.set_xlabel("percentile")
    ax.set_ylabel("ms")
    ax.axhline(200, color="tab:red", linestyle=":", linewidth=1, label="broadcast goal (200 ms)")
    ax.grid(True, which="major", alpha=0.3)
    if drawn:
        ax.set_yscale("log")
    ax.legend(fontsize=8, loc="upper left")


def _series(timeline: list[dict[str, Any]], name: str, key: str) -> tuple[list[int], list[float]]:
    xs: list[int] = []
    ys: list[float] = []
    for point in timeline:
        value = point.get(name, {}).get(key) if isinstance(point.get(name), dict) else None
        if value is not None:
            xs.append(point["t"])
            ys.append(value)
    return xs, ys


def _latency_over_time(ax: Any, report: dict[str, Any]) -> None:
    timeline = report["timeline"]
    ax.set_title("latency over time (percentiles of each second)")
    for key, style in (("p50", ":"), ("p95", "-"), ("p99", "--")):
        xs, ys = _series(timeline, "broadcast", key)
        ax.plot(xs, ys, linestyle=style, color="tab:blue", label=f"broadcast {key}")
    xs, ys = _series(timeline, "action_round_trip", "p95")
    ax.plot(xs, ys, color="tab:orange", label="action round trip p95")
    ax.axhline(200, color="tab:red", linestyle=":", linewidth=1)
    storm = report["config"].get("reconnect_at")
    if storm is not None:
        ax.axvline(storm, color="tab:purple", linestyle="--", linewidth=1, label="reconnect storm")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("ms (log)")
    if any(len(line.get_ydata()) for line in ax.get_lines()):
        ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")


def _load_over_time(ax: Any, report: dict[str, Any]) -> None:
    timeline = report["timeline"]
    ts = [p["t"] for p in timeline]
    ax.set_title("load over time")
    ax.plot(ts, [p["seated"] for p in timeline], color="tab:green", label="bots seated")
    ax.plot(
        ts,
        [p["connected"] for p in timeline],
        color="tab:olive",
        linestyle=":",
        label="bots connected",
    )
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("bots")
    ax.grid(True, alpha=0.3)
    rates = ax.twinx()
    rates.plot(
        ts, [p["places_sent_per_s"] for p in timeline], color="tab:orange", label="placements/s"
    )
    rates.plot(
        ts,
        [p["frames_per_s"] for p in timeline],
        color="tab:blue",
        alpha=0.6,
        label="stream frames/s received",
    )
    rates.plot(ts, [p["errors_per_s"] for p in timeline], color="tab:red", label="errors/s")
    rates.set_ylabel("per second")
    lines = ax.get_legend_handles_labels()
    more = rates.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper left")


def _server_over_time(ax: Any, report: dict[str, Any]) -> None:
    timeline = [p for p in report["timeline"] if "server_cpu_percent" in p]
    server = report["server_process"]
    ax.set_title("server process (and the whole machine)")
    if not timeline:
        reason = server.get("reason", "no samples")
        ax.text(0.5, 0.5, f"not available:\n{reason}", ha="center", va="center")
        ax.set_axis_off()
        return
    ts = [p["t"] for p in timeline]
    ax.plot(
        ts,
        [p["server_cpu_percent"] for p in timeline],
        color="tab:red",
        label="CPU % (of one core)",
    )
    cpus = report["machine"].get("cpus") or 1
    ax.plot(
        ts,
        [p.get("machine_cpu_percent", 0.0) for p in timeline],
        color="tab:brown",
        linestyle=":",
        label=f"machine CPU % (all processes, {cpus} cores = {100 * cpus}%)",
    )
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("CPU % of one core")
    ax.set_ylim(0, 100 * cpus * 1.1)
    ax.grid(True, alpha=0.3)
    memory = ax.twinx()
    memory.plot(ts, [p["server_rss_mb"] for p in timeline], color="tab:gray", label="RSS MiB")
    memory.set_ylabel("MiB")
    memory.set_ylim(0, 1.25 * max(p["server_rss_mb"] for p in timeline) + 1)
    lines = ax.get_legend_handles_labels()
    more = memory.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper left")
