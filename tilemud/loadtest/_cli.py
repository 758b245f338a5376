"""The ``tilemud loadtest`` options and what the command does with them.

Imports of the load tester's own dependencies (the ``loadtest`` extra: httpx, psutil,
matplotlib) wait until the command runs, so ``tilemud serve`` works without them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tilemud.loadtest._config import SERVER_ACTION_RATE, LoadConfig


def add_loadtest_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tilemud loadtest`` on ``parser``."""
    defaults = LoadConfig()
    target = parser.add_argument_group("target (only loopback without --allow-remote)")
    target.add_argument("--http-url", default=defaults.http_url, help="the server's HTTP API")
    target.add_argument("--ws-url", default=defaults.ws_url, help="the player gateway")
    target.add_argument(
        "--allow-remote", action="store_true", help="permit a server not on this machine"
    )
    target.add_argument(
        "--discover",
        action="store_true",
        help="a cluster: each bot asks GET /v1/discovery on --http-url where to connect",
    )
    target.add_argument(
        "--server-pid",
        type=int,
        help="watch this process's CPU and memory (default: the gateway port's listener)",
    )
    load = parser.add_argument_group("load")
    load.add_argument("--players", type=int, default=defaults.players, help="bots to run")
    load.add_argument("--mode", choices=["arena", "battle"], default=defaults.mode)
    load.add_argument("--region", default=defaults.region, help="the region every bot joins")
    load.add_argument("--duration", type=float, default=defaults.duration, help="seconds of play")
    load.add_argument(
        "--actions-per-second",
        type=float,
        default=defaults.actions_per_second,
        help=f"placements per second per bot (server limit: {SERVER_ACTION_RATE:g})",
    )
    load.add_argument(
        "--exceed-rate-limit",
        action="store_true",
        help="permit --actions-per-second above the server's limit",
    )
    load.add_argument(
        "--ramp",
        type=float,
        default=defaults.ramp,
        help="seconds over which bots join (0: all at once, a join storm)",
    )
    load.add_argument(
        "--reconnect-storm",
        type=float,
        metavar="SECONDS",
        help="at this time every bot drops its connection and resumes its session",
    )
    load.add_argument(
        "--processes",
        type=int,
        default=defaults.processes,
        help="client processes the bots are spread over",
    )
    load.add_argument("--seed", type=int, default=defaults.seed)
    load.add_argument(
        "--ack-every",
        type=int,
        default=defaults.ack_every,
        help="acknowledge the stream every N frames (and at least once a second)",
    )
    load.add_argument(
        "--drain",
        type=float,
        default=defaults.drain,
        help="seconds to wait for answers in flight at the end",
    )
    load.add_argument(
        "--strict-decode",
        action="store_true",
        help="decode tick frames with the strict decoder too (much more client CPU)",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--report", type=Path, help="write the JSON report here")
    output.add_argument("--picture", type=Path, help="draw the PNG picture here")
    output.add_argument(
        "--plain", action="store_true", help="plain progress lines even on a terminal"
    )
    output.add_argument("--scenario", default="custom", help="a name for the report")
    output.add_argument(
        "--report-every",
        type=int,
        default=None,
        help="cut the report into windows of this many seconds (acceptance, broadcast p95,"
        " tick p99, server RSS per window)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    """The load test the options describe (not checked yet)."""
    return LoadConfig(
        http_url=args.http_url,
        ws_url=args.ws_url,
        discover=args.discover,
        players=args.players,
        mode=args.mode,
        region=args.region,
        duration=args.duration,
        actions_per_second=args.actions_per_second,
        ramp=args.ramp,
        processes=args.processes,
        seed=args.seed,
        reconnect_at=args.reconnect_storm,
        ack_every=args.ack_every,
        drain=args.drain,
        strict_decode=args.strict_decode,
        allow_remote=args.allow_remote,
        exceed_rate_limit=args.exceed_rate_limit,
        scenario=args.scenario,
        report_every=args.report_every,
    )


def run_loadtest_command(args: argparse.Namespace) -> int:
    """Run ``tilemud loadtest``; returns the exit status.

    Raises:
        ConfigError: bad options (the caller prints it and exits with 2).
    """
    import trio

    if args.worker:
        from tilemud.loadtest._workers import worker_main

        return worker_main()
    from tilemud.loadtest._report import render_summary
    from tilemud.loadtest._run import run_loadtest

    config = config_from_args(args)
    config.check()
    if config.actions_per_second > SERVER_ACTION_RATE:
        print(
            f"tilemud loadtest: warning: {config.actions_per_second:g} actions/s per bot is"
            f" above the server's default limit ({SERVER_ACTION_RATE:g}/s)",
            file=sys.stderr,
        )
    report = trio.run(
        lambda: run_loadtest(
            config,
            report_path=args.report,
            picture_path=args.picture,
            server_pid_hint=args.server_pid,
            interactive=False if args.plain else None,
            command=["tilemud", *sys.argv[1:]],
        )
    )
    print(render_summary(report))
    if args.report is not None:
        print(f"\nreport: {args.report}")
    if args.picture is not None:
        print(f"picture: {args.picture}")
    return 0
