"""``tilemud loadtest``: a swarm of real protocol-v1 bots against a running server.

Each bot logs in as a guest over HTTP, opens a WebSocket, joins an arena and places tiles
at a set rate, checking its stream for gaps and duplicates; latencies go into
HdrHistograms, merged across client processes; the run ends with a JSON report, a PNG
picture and a table against the seed's targets. See docs/performance.md.

Modules, one concern each: ``_config`` (options and their checks), ``_login`` (guest
login), ``_socket`` (the bot's WebSocket), ``_client`` (the protocol client, cheap on
``tick`` frames), ``_moves`` (where to place), ``_player`` (one bot's game state, frame by
frame), ``_bot`` (one bot's connections), ``_state`` and ``_swarm`` (the bots of one
process), ``_progress`` (updates between processes), ``_workers`` (worker processes),
``_aggregate`` (the run's sum), ``_histogram`` and ``_tally`` (what is counted),
``_server_probe`` (server CPU and memory), ``_machine`` (the whole machine's CPU),
``_metrics`` (the server's ``/metrics``), ``_targets``, ``_report``, ``_picture``,
``_display`` (live progress), ``_run`` (one whole run) and ``_cli`` (the command).

Only the light modules are imported here; :func:`run_loadtest`, which needs the
``loadtest`` extra (httpx, psutil; matplotlib for the picture), is imported on first use,
so that ``tilemud serve`` does not depend on them.
"""

from typing import TYPE_CHECKING, Any

from tilemud.loadtest._cli import add_loadtest_arguments as add_loadtest_arguments
from tilemud.loadtest._cli import config_from_args as config_from_args
from tilemud.loadtest._cli import run_loadtest_command as run_loadtest_command
from tilemud.loadtest._config import LoadConfig as LoadConfig
from tilemud.loadtest._config import TargetRefused as TargetRefused
from tilemud.loadtest._histogram import LatencyHistogram as LatencyHistogram
from tilemud.loadtest._picture import draw_picture as draw_picture
from tilemud.loadtest._report import REPORT_KEYS as REPORT_KEYS
from tilemud.loadtest._report import render_summary as render_summary
from tilemud.loadtest._report import write_report as write_report
from tilemud.loadtest._tally import StreamAccount as StreamAccount
from tilemud.loadtest._tally import StreamTotals as StreamTotals
from tilemud.loadtest._tally import Tally as Tally
from tilemud.loadtest._targets import TargetRow as TargetRow
from tilemud.loadtest._targets import evaluate_targets as evaluate_targets

if TYPE_CHECKING:
    from tilemud.loadtest._run import run_loadtest as run_loadtest
else:

    def __getattr__(name: str) -> Any:
        if name == "run_loadtest":
            from tilemud.loadtest._run import run_loadtest

            return run_loadtest
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
