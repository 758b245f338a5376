"""Run one named scenario against a freshly started local server and keep its report.

::

    .venv/bin/python -m benchmarks list
    .venv/bin/python -m benchmarks run epic-300          # or: make bench SCENARIO=epic-300
    .venv/bin/python -m benchmarks run join-storm --duration 10 --out /tmp/results
    .venv/bin/python -m benchmarks run epic-300 --profile /tmp/epic.txt   # py-spy, collapsed
    .venv/bin/python -m benchmarks run epic-300 --burn-core               # a busy machine
    .venv/bin/python -m benchmarks run epic-300 --baseline colyseus-b.json   # with ratios
    .venv/bin/python -m benchmarks run epic-300 --set gateway.connect_attempts=20000
    .venv/bin/python -m benchmarks run epic-300 --npcs 0        # the epic arena without NPCs

Writes ``benchmarks/results/<scenario>-<UTC date and time>.json`` and ``.png`` and prints
the summary with the targets table. The server is this checkout's ``tilemud serve``, with
a fresh data directory and default settings; it gets SIGTERM at the end. ``--storage``
picks where it keeps its state: the embedded SQLite file (default), a throwaway database
on the local PostgreSQL, or nothing at all (the baseline for what storage costs).

The machine is shared: before starting, the runner waits (up to ``--quiet-wait`` seconds)
for its cores to be mostly idle, and the report says how busy they were during the run.
``--burn-core`` then starts a process that keeps one core busy for the whole run (and
stops it after), to measure the server on a machine that is not idle. ``--profile`` runs
the server under py-spy (collapsed stacks, and the top functions in the summary);
``--baseline`` reads a Colyseus harness result and prints the ratios beside the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import attrs
import orjson
import trio

from benchmarks.companions import (
    baseline_ratios,
    burning_core,
    profiler_command,
    render_ratios,
    top_functions,
)
from benchmarks.databases import STORAGE_CHOICES, server_storage
from benchmarks.local_server import local_server
from benchmarks.scenarios import SCENARIOS, Scenario
from tilemud.loadtest import draw_picture, render_summary, run_loadtest, write_report
from tilemud.loadtest._machine import quiet_percent

RESULTS: Final = Path(__file__).resolve().parent / "results"
#: The machine counts as quiet below this share of all its cores busy.
QUIET_BELOW: Final = 25.0


async def wait_until_quiet(max_wait: float) -> float:
    """Wait until the machine is mostly idle (or ``max_wait`` s); returns its last busy %."""
    deadline = time.monotonic() + max_wait
    busy = await trio.to_thread.run_sync(quiet_percent, 1.0)
    while busy >= QUIET_BELOW and time.monotonic() < deadline:
        print(f"benchmarks: machine {busy:.0f} % busy; waiting for it to be quiet", file=sys.stderr)
        await trio.sleep(4.0)
        busy = await trio.to_thread.run_sync(quiet_percent, 1.0)
    return busy


async def run_scenario(
    scenario: Scenario,
    *,
    out_dir: Path,
    overrides: dict[str, Any],
    quiet_wait: float,
    command: list[str],
    storage: str = "sqlite",
    settings: dict[str, str] | None = None,
    burn_core: bool = False,
    profile: Path | None = None,
) -> tuple[dict[str, Any], Path, Path]:
    """Start a server, run ``scenario`` against it, stop it; returns the report and paths.

    Args:
        settings: ``TILEMUD_*`` environment settings for the server, beside the defaults.
        burn_core: keep one core busy (another process) from before the server starts
            until it stopped.
        profile: run the server under py-spy and write its collapsed stacks there.
    """
    busy_before = await wait_until_quiet(quiet_wait)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%MZ")
    config = attrs.evolve(scenario.config, **overrides)
    lifetime = config.duration + config.drain + 120
    wrapper = profiler_command(profile) if profile is not None else []
    with (
        tempfile.TemporaryDirectory(prefix="tilemud-bench-") as tmp,
        server_storage(storage) as env,
    ):
        async with contextlib.AsyncExitStack() as stack:
            burner = await stack.enter_async_context(burning_core(lifetime)) if burn_core else None
            async with local_server(
                Path(tmp) / "data", env={**env, **(settings or {})}, wrapper=wrapper
            ) as server:
                config = attrs.evolve(config, http_url=server.http_url, ws_url=server.ws_url)
                report = await run_loadtest(config, server_pid_hint=server.pid, command=command)
        report["server_log"] = server.log.summary()
        report["benchmark"] = {
            "scenario": scenario.name,
            "summary": scenario.summary,
            "overrides": overrides,
            "storage": storage,
            "server_command": [Path(server.argv[0]).name, *server.argv[1:]],
            "server_exit_status": server.process.returncode,
            "machine_busy_percent_before_start": round(busy_before, 1),
            "settings": settings or {},
            "burn_core": burner,
            "profile": None if profile is None else str(profile),
        }
    name = scenario.name if storage == "sqlite" else f"{scenario.name}-{storage}"
    json_path = out_dir / f"{name}-{stamp}.json"
    png_path = out_dir / f"{name}-{stamp}.png"
    write_report(report, json_path)
    draw_picture(report, png_path)
    return report, json_path, png_path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the scenarios")
    run = commands.add_parser("run", help="run one scenario against a fresh local server")
    run.add_argument("scenario", choices=sorted(SCENARIOS))
    run.add_argument("--out", type=Path, default=RESULTS, help="where reports go")
    run.add_argument("--duration", type=float, help="override the scenario's duration")
    run.add_argument("--players", type=int, help="override the number of players")
    run.add_argument("--processes", type=int, help="override the client processes")
    run.add_argument(
        "--storage",
        choices=STORAGE_CHOICES,
        default="sqlite",
        help="the server's database: embedded SQLite (default), a throwaway PostgreSQL"
        " database, or none",
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="a server setting for this run (as TILEMUD_SECTION_KEY), e.g."
        " gateway.connect_attempts=20000; may be repeated",
    )
    run.add_argument(
        "--npcs",
        type=int,
        help="NPCs in the epic arena (world.arena_npc_cap; 0: none); default: the server's 100",
    )
    run.add_argument(
        "--burn-core",
        action="store_true",
        help="keep one core busy with another process for the whole run",
    )
    run.add_argument(
        "--profile", type=Path, help="run the server under py-spy; collapsed stacks go here"
    )
    run.add_argument(
        "--baseline",
        type=Path,
        help="a Colyseus harness result (variant b): print tilemud / Colyseus ratios",
    )
    run.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="seconds to wait for an idle machine before starting (0: do not wait)",
    )
    return parser


def _environment_setting(item: str) -> tuple[str, str]:
    """``gateway.connect_attempts=20000`` -> ``("TILEMUD_GATEWAY_CONNECT_ATTEMPTS", "20000")``."""
    name, equals, value = item.partition("=")
    if not equals or "." not in name:
        raise SystemExit(f"--set wants SECTION.KEY=VALUE, got {item!r}")
    return "TILEMUD_" + name.replace(".", "_").upper(), value


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks``; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "list":
        for name, scenario in sorted(SCENARIOS.items()):
            print(f"{name:<16} {scenario.summary}")
        return 0
    scenario = SCENARIOS[args.scenario]
    overrides = {
        key: value
        for key, value in (
            ("duration", args.duration),
            ("players", args.players),
            ("processes", args.processes),
        )
        if value is not None
    }
    if "duration" in overrides:
        overrides["ramp"] = min(scenario.config.ramp, overrides["duration"])
        if scenario.config.reconnect_at is not None:
            overrides["reconnect_at"] = overrides["duration"] / 2
    command = [Path(sys.executable).name, "-m", "benchmarks", *(argv or sys.argv[1:])]
    settings = dict(_environment_setting(item) for item in args.set)
    if args.npcs is not None:
        settings["TILEMUD_WORLD_ARENA_NPC_CAP"] = str(args.npcs)
    baseline = None if args.baseline is None else orjson.loads(args.baseline.read_bytes())
    report, json_path, png_path = trio.run(
        lambda: run_scenario(
            scenario,
            out_dir=args.out,
            overrides=overrides,
            quiet_wait=args.quiet_wait,
            command=command,
            storage=args.storage,
            settings=settings,
            burn_core=args.burn_core,
            profile=args.profile,
        )
    )
    print(render_summary(report))
    if baseline is not None:
        rows = baseline_ratios(report, baseline)
        report["baseline"] = {"path": str(args.baseline), "ratios": rows}
        write_report(report, json_path)
        busy = baseline.get("machine", {}).get("busy_pct_of_all_cores")
        print("\n" + render_ratios(rows, busy))
    if args.profile is not None:
        print(f"\nprofile: {args.profile}; % of samples inside / on top")
        for function, inside, on_top in top_functions(args.profile):
            print(f"  {inside:5.1f} {on_top:5.1f}  {function}")
    log = report["server_log"]
    print(f"\nserver log: {log['levels']}")
    for message, count in log["warnings_and_errors"].items():
        print(f"  {count} x {message}")
    print(f"\nreport: {json_path}\npicture: {png_path}")
    return 0
