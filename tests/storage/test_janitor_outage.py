"""The replay janitor through a PostgreSQL outage, played with the loopback TCP proxy.

Real database I/O on the real clock, with a generous absolute deadline (conftest.py's
policy); PostgreSQL itself is never stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
import trio

from tilemud.game import BATTLE_RULES, BattleResult
from tilemud.storage import RecordNotFound, StorageActor, load_replay
from tilemud.storage.janitor import ReplayJanitor
from tilemud.supervisors import ChildContext

from .actor_support import FAST, read, running, wait_until
from .conftest import truncate_all
from .proxy import TcpProxy


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    truncate_all(postgres_url)
    return postgres_url


async def _run(
    janitor: ReplayJanitor,
    stopping: trio.Event,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    await janitor.run(ChildContext("janitor", task_status=task_status, stopping=stopping))


async def test_an_outage_does_not_end_the_janitor_and_the_next_run_purges(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tilemud.storage")
    target = sa.make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    result = BattleResult.from_scores(tick=1, reason="time", scores={"p1": 1})
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            proxied = target.set(port=port).render_as_string(hide_password=False)
            # Any ended arena is past a 1 ms retention by the time a run comes.
            settings = attrs.evolve(FAST, url=proxied, replay_retention=0.001, purge_interval=0.1)
            async with running(StorageActor(settings, data_dir=Path("unused"))) as storage:
                await storage.arenas.create_arena(
                    arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=1
                )
                await storage.arenas.end_arena("a1", result)
                proxy.cut()
                janitor = ReplayJanitor(storage.arenas, settings)
                stopping = trio.Event()
                async with trio.open_nursery() as janitors:
                    await janitors.start(_run, janitor, stopping)
                    await janitor.wait_for_runs(3)
                    assert janitor.stats().failed_runs == 3
                    assert janitor.stats().replays_purged == 0
                    await proxy.restore()
                    await wait_until(lambda: janitor.stats().replays_purged == 1)
                    stopping.set()
            nursery.cancel_scope.cancel()
        with pytest.raises(RecordNotFound, match="purged"):
            await read(pg_url, lambda c: load_replay(c, "a1"))
    stats = janitor.stats()
    assert stats.failed_runs >= 3  # the pool may need a run or two to reconnect
    assert stats.last_success is not None
    records = [r for r in caplog.records if r.name == "tilemud.storage"]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    purge_warnings = [m for m in warnings if m.startswith("replay purge failed")]
    assert len(purge_warnings) == 1, purge_warnings
    assert any(r.getMessage() == "replay purge works again" for r in records)
