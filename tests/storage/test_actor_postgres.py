"""The storage actor against PostgreSQL: statement timeouts, and an outage and its end.

The outage is played with a loopback TCP proxy in front of the run's database, cut and
restored by the test; PostgreSQL itself is never stopped. Real clock, absolute deadlines.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import trio

from tilemud.game import BATTLE_RULES
from tilemud.storage import StatementTimeout, StorageUnavailable, load_placements

from .actor_support import actor_for, placements, read, running, wait_until
from .conftest import truncate_all
from .proxy import TcpProxy


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    truncate_all(postgres_url)
    return postgres_url


async def test_every_transaction_runs_under_the_statement_timeout(pg_url: str) -> None:
    with trio.fail_after(30):
        async with running(actor_for(pg_url, statement_timeout_ms=250)) as storage:
            shown = await storage.transact(
                lambda c: c.exec_driver_sql("SHOW statement_timeout").scalar_one()
            )
            assert shown == "250ms"
            started = trio.current_time()
            with pytest.raises(StatementTimeout, match="250 ms") as caught:
                await storage.transact(lambda c: c.exec_driver_sql("SELECT pg_sleep(20)"))
            assert trio.current_time() - started < 10  # cancelled by the server, not a hang
            assert isinstance(caught.value, StorageUnavailable)
            assert storage.stats().failures == 1
            # The connection is still good for the next request.
            assert await storage.transact(lambda c: c.exec_driver_sql("SELECT 1").scalar_one())


async def test_an_outage_fails_requests_fast_and_buffered_rows_land_after_it(pg_url: str) -> None:
    target = sa.make_url(pg_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            proxied = target.set(port=port).render_as_string(hide_password=False)
            async with running(actor_for(proxied)) as storage:
                await storage.arenas.create_arena(
                    arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=7
                )
                assert storage.arenas.record_placements("a1", 1, placements(2), checksum="c1")
                await storage.flush()

                proxy.cut()
                with trio.fail_after(5):
                    with pytest.raises(StorageUnavailable) as caught:
                        await storage.arenas.list_live_arenas()
                assert caught.value.retry_after > 0
                for tick in range(2, 12):
                    assert storage.arenas.record_placements("a1", tick, placements(3))
                await wait_until(lambda: storage.stats().failures >= 3)
                with pytest.raises(StorageUnavailable):
                    await storage.flush()
                assert storage.stats().backlog == 30

                await proxy.restore()
                await wait_until(lambda: storage.stats().backlog == 0)
                await storage.flush()
                stats = storage.stats()
                assert (stats.rows_written, stats.rows_rejected) == (33, 0)
                assert stats.largest_backlog >= 30
                assert [a.arena_id for a in await storage.arenas.list_live_arenas()] == ["a1"]
            nursery.cancel_scope.cancel()
    logged = await read(pg_url, lambda c: load_placements(c, "a1"))
    assert len(logged) == 32
    assert [p.tick for p in logged][-3:] == [11, 11, 11]
