"""What a benchmark run may bring along: a core kept busy, a profiler, a baseline to compare.

- :func:`burning_core`: a process that keeps one core busy for the whole run (the
  machine is then not idle, as a real one rarely is). It stops by itself after its
  lifetime even if the runner dies, and the runner kills it by pid at the end of the run.
- :func:`profiler_command`: py-spy running the server as its child (attaching to a
  running process is not allowed on every machine), writing collapsed stacks; and
  :func:`top_functions`, where the server's samples went.
- :func:`baseline_ratios`: the run's figures beside a Colyseus harness result
  (``../shared/bench/colyseus``, variant b) of the same workload, and their ratios.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import trio

#: What the burner runs: a busy loop that ends by itself after argv[1] seconds.
_BURN: Final = (
    "import sys, time\n"
    "end = time.monotonic() + float(sys.argv[1])\n"
    "while time.monotonic() < end: pass\n"
)


@asynccontextmanager
async def burning_core(lifetime: float) -> AsyncIterator[int]:
    """Keep one core busy while the block runs; yields the burner's pid.

    Args:
        lifetime: seconds after which the burner stops by itself (a bound in case the
            runner is killed; the block normally ends first and kills it).
    """
    process = await trio.lowlevel.open_process(
        [sys.executable, "-c", _BURN, str(lifetime)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process.pid
    finally:
        process.kill()
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await process.wait()


def profiler_command(output: Path, *, rate: int = 100) -> list[str]:
    """The command that runs the server under py-spy, sampling ``rate`` times a second.

    Raises:
        FileNotFoundError: py-spy is not installed (it is in the ``dev`` extras).
    """
    beside = Path(sys.executable).parent / "py-spy"
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        raise FileNotFoundError("py-spy is not installed: pip install -e '.[dev]'")
    return [spy, "record", "--format", "raw", "--rate", str(rate), "--output", str(output), "--"]


def top_functions(collapsed: Path, count: int = 25) -> list[tuple[str, float, float]]:
    """The functions with the most samples: (function, % of samples inside, % on top).

    Args:
        collapsed: py-spy's raw output (one ``frame;frame;... samples`` line per stack).
        count: how many to return, by samples inside them.
    """
    inside: Counter[str] = Counter()
    on_top: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        n = int(samples)
        total += n
        frames = [_short(frame) for frame in stack.split(";")]
        for frame in set(frames):
            inside[frame] += n
        on_top[frames[-1]] += n
    if not total:
        return []
    return [
        (frame, 100 * n / total, 100 * on_top[frame] / total)
        for frame, n in inside.most_common(count)
    ]


def _short(frame: str) -> str:
    """``send_all (trio/_highlevel_socket.py:123)`` without the line number."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def baseline_ratios(report: dict[str, Any], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    """tilemud's figures beside Colyseus's (variant b) and tilemud / Colyseus.

    Args:
        report: this run's report (``tilemud loadtest``).
        baseline: a result of the Colyseus harness's ``bench.js``.
    """
    latency = report["latency_ms"]
    broadcast, join = latency.get("broadcast", {}), latency.get("join_handshake", {})
    theirs_latency = baseline["delivery"]["latency_ms"]
    theirs_join = baseline["join"]["ms"]
    server = report["server_process"]
    # The harness counts its server's CPU from 2 s after the last join: so does ``steady``.
    steady = server.get("steady") or {}
    figures = [
        (
            "server CPU per delivered frame, all seated (µs)",
            steady.get("cpu_us_per_delivered_frame"),
            baseline["server"]["cpu_us_per_frame"],
        ),
        (
            "server CPU, all seated (% of a core)",
            steady.get("cpu_percent_avg"),
            baseline["server"]["cpu_pct"],
        ),
        (
            "server CPU per delivered frame, whole run (µs)",
            server.get("cpu_us_per_delivered_frame"),
            baseline["server"]["cpu_us_per_frame"],
        ),
        ("broadcast p50, all clients (ms)", broadcast.get("p50"), theirs_latency["p50"]),
        ("broadcast p95, all clients (ms)", broadcast.get("p95"), theirs_latency["p95"]),
        ("broadcast p99, all clients (ms)", broadcast.get("p99"), theirs_latency["p99"]),
        ("join p95 (ms)", join.get("p95"), theirs_join["p95"]),
        ("server RSS max (MB)", server.get("rss_mb_max"), baseline["server"]["rss_mb_max"]),
    ]
    return [
        {
            "figure": name,
            "tilemud": ours,
            "colyseus": theirs,
            "ratio": None if ours is None or not theirs else ours / theirs,
        }
        for name, ours, theirs in figures
    ]


def render_ratios(rows: list[dict[str, Any]], machine_busy: float | None) -> str:
    """The ratios as a table, with how busy the machine was during the baseline."""
    lines = [f"{'against Colyseus (variant b)':<48} {'tilemud':>10} {'colyseus':>10} {'ratio':>7}"]
    for row in rows:
        ours = "n/a" if row["tilemud"] is None else f"{row['tilemud']:,.1f}"
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        lines.append(f"{row['figure']:<48} {ours:>10} {row['colyseus']:>10,.1f} {ratio:>7}")
    if machine_busy is not None:
        lines.append(f"(machine busy during the Colyseus run: {machine_busy:.0f} %)")
    return "\n".join(lines)
