"""One real run: a server on loopback, 20 bots in two worker processes, a reconnect storm.

The policy of tests/integration/harness.py applies: loopback, port 0, the real clock, an
absolute ``trio.fail_after`` bound and no wall-clock assertion. The load tester runs
through :func:`run_loadtest`, the function ``tilemud loadtest`` runs, with its worker
processes (``python -m tilemud loadtest --worker``) as on the command line.
"""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest
import trio

from tests.integration.harness import make_settings, running_server
from tilemud.loadtest import REPORT_KEYS, LoadConfig, run_loadtest
from tilemud.loadtest._tally import ACTION, BROADCAST, JOIN, LOGIN, RESUME, WELCOME

pytestmark = pytest.mark.integration

#: The whole test ends within this many seconds, or fails.
BOUND = 120
PLAYERS = 20


async def test_twenty_bots_play_resume_and_lose_nothing(tmp_path: Path) -> None:
    progress = io.StringIO()
    with trio.fail_after(BOUND):
        async with running_server(make_settings(tmp_path / "data")) as server:
            addresses = server.addresses
            config = LoadConfig(
                http_url=addresses.http_url,
                ws_url=addresses.ws_url,
                players=PLAYERS,
                mode="arena",
                duration=5.0,
                ramp=1.0,
                actions_per_second=2.0,
                processes=2,
                reconnect_at=3.0,
                scenario="e2e",
            )
            report = await run_loadtest(
                config,
                report_path=tmp_path / "report.json",
                picture_path=tmp_path / "report.png",
                out=progress,
                interactive=False,
            )

    assert orjson.loads((tmp_path / "report.json").read_bytes()) == orjson.loads(
        orjson.dumps(report)
    )
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(REPORT_KEYS) <= set(report)
    assert report["problems"] == [] or all("other processes" in p for p in report["problems"])
    assert report["errors"] == {}
    assert report["closes"] == {}
    assert report["bots"]["joined"] == PLAYERS
    assert report["arenas"] == {"count": 1, "largest": PLAYERS}
    assert report["clients"]["processes"] == 2

    stream = report["stream"]
    assert stream["sent"] > 0
    assert stream["received"] == stream["sent"]
    assert stream["dropped"] == 0
    assert stream["drop_rate"] == 0.0
    assert stream["gaps"] == stream["duplicates"] == 0

    storm = report["reconnect_storm"]
    assert storm["drops"] == PLAYERS
    assert storm["resumed"] == PLAYERS
    assert storm["nothing_lost"] is True

    actions = report["actions"]
    assert actions["sent"] > 0
    assert actions["answered"] == actions["sent"]
    latency = report["latency_ms"]
    assert latency[JOIN]["count"] == latency[LOGIN]["count"] == latency[WELCOME]["count"] == PLAYERS
    assert latency[RESUME]["count"] == PLAYERS
    assert latency[ACTION]["count"] == actions["answered"]
    assert latency[BROADCAST]["count"] > 0
    assert report["server_process"]["available"] is True  # this process: it serves
    assert report["timeline"]
    assert "tilemud loadtest: 20 bots" in progress.getvalue()
