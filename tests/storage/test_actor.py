"""The storage actor on both backends: acks after commit, write-behind batches, stops.

Real database I/O in worker threads: the real clock, with generous absolute deadlines.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading

import pytest
import sqlalchemy as sa
import trio

from tilemud.game import BATTLE_RULES, ArenaState, BattleResult
from tilemud.storage import (
    RecordNotFound,
    RecordRejected,
    Snapshot,
    StorageUnavailable,
    load_placements,
    load_player,
    load_tick_checksums,
)
from tilemud.storage import tables as t

from .actor_support import actor_for, placements, read, running, wait_until

SEED = 2**64 - 5


async def test_a_critical_write_is_answered_only_after_its_commit(database_url: str) -> None:
    inserted, release = threading.Event(), threading.Event()

    def slow_insert(conn: sa.Connection) -> str:
        conn.execute(sa.insert(t.rule_configs).values(version="v", body={}, created=_now()))
        inserted.set()
        release.wait(10)
        return "done"

    answers: list[str] = []
    with trio.fail_after(20):
        async with running(actor_for(database_url)) as storage:
            # Migration 0007 stores version 1 of each mode's rules (SQLite keeps them).
            before = await read(database_url, _count_rule_configs)

            async def ask() -> None:
                answers.append(await storage.transact(slow_insert))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(ask)
                await trio.to_thread.run_sync(inserted.wait)
                seen = await read(database_url, _count_rule_configs)
                assert (seen, answers) == (before, [])  # written, not committed, not answered
                release.set()
            assert answers == ["done"]
            assert await read(database_url, _count_rule_configs) == before + 1


async def test_the_client_operations_end_to_end(database_url: str) -> None:
    with trio.fail_after(30):
        async with running(actor_for(database_url)) as storage:
            await storage.players.upsert_player(player_id="p1", name="ada")
            arena = await storage.arenas.create_arena(
                arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=SEED
            )
            assert (arena.state, arena.seed) == ("live", SEED)
            assert await storage.arenas.load_rule_config(arena.rules_version) == BATTLE_RULES
            assert [a.arena_id for a in await storage.arenas.list_live_arenas()] == ["a1"]
            await storage.arenas.save_snapshot(
                Snapshot.of_state("a1", ArenaState.start(BATTLE_RULES))
            )
            assert storage.arenas.record_placements("a1", 1, placements(3), checksum="c1")
            assert storage.arenas.record_checksum("a1", 2, "c2")
            await storage.flush()
            recovery = await storage.arenas.load_recovery("a1")
            assert recovery.snapshot is not None
            assert (recovery.snapshot.tick, len(recovery.placements)) == (0, 3)
            assert [c.checksum for c in recovery.checksums] == ["c1", "c2"]

            assert storage.arenas.record_placements("a1", 3, placements(2))
            result = BattleResult.from_scores(tick=3, reason="time", scores={"p1": 5})
            ended = await storage.arenas.end_arena("a1", result)  # flushes the buffer first
            assert (ended.state, ended.result) == ("ended", result.to_dict())
            replay = await storage.arenas.load_replay("a1")
            assert [(tick.tick, len(tick.placements)) for tick in replay.ticks] == [
                (1, 3),
                (2, 0),
                (3, 2),
            ]
            assert await storage.arenas.list_live_arenas() == []
            assert (
                await storage.arenas.purge_replays(ended_before=_now() + dt.timedelta(hours=1)) == 1
            )
            with pytest.raises(RecordNotFound, match="purged"):
                await storage.arenas.load_replay("a1")
            with pytest.raises(RecordNotFound):
                await storage.arenas.end_arena("nope")
            stats = storage.stats()
            assert (stats.rows_written, stats.backlog, stats.failures) == (7, 0, 0)
    player = await read(database_url, lambda c: load_player(c, "p1"))
    assert player is not None
    assert player.name == "ada"


async def test_an_operations_own_error_goes_back_to_its_caller(database_url: str) -> None:
    def broken(conn: sa.Connection) -> None:
        raise KeyError("the caller's bug")

    with trio.fail_after(20):
        async with running(actor_for(database_url)) as storage:
            with pytest.raises(KeyError, match="the caller's bug"):
                await storage.transact(broken)
            with pytest.raises(RecordRejected):  # an arena of unknown rules
                await storage.transact(
                    lambda c: c.execute(
                        sa.insert(t.arenas).values(
                            id="a",
                            mode="battle",
                            region="eu",
                            rules_version="nope",
                            seed=1,
                            state="live",
                            created=_now(),
                        )
                    )
                )
            with pytest.raises(sa.exc.DBAPIError):  # a bug, not an outage: raised as it is
                await storage.transact(lambda c: c.exec_driver_sql("SELECT * FROM nowhere"))
            assert await storage.arenas.list_live_arenas() == []  # still serving
            assert storage.stats().failures == 0


async def test_write_behind_writes_a_batch_per_flush_rows(database_url: str) -> None:
    with trio.fail_after(30):
        async with running(actor_for(database_url, flush_rows=10, flush_interval=60.0)) as storage:
            await storage.arenas.create_arena(
                arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=1
            )
            for tick in range(1, 26):
                assert storage.arenas.record_placements("a1", tick, placements(1))
            await wait_until(lambda: storage.stats().rows_written == 20)
            await trio.sleep(0.2)  # the 5 left wait for the interval (60 s) or a flush
            stats = storage.stats()
            assert (stats.rows_written, stats.batches, stats.backlog) == (20, 2, 5)
            assert stats.largest_backlog == 25
            await storage.flush()
            stats = storage.stats()
            assert (stats.rows_written, stats.batches, stats.backlog) == (25, 3, 0)
    logged = await read(database_url, lambda c: load_placements(c, "a1"))
    assert [p.tick for p in logged] == list(range(1, 26))


async def test_write_behind_writes_after_the_flush_interval(database_url: str) -> None:
    with trio.fail_after(30):
        async with running(actor_for(database_url, flush_interval=0.2)) as storage:
            await storage.arenas.create_arena(
                arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=1
            )
            assert storage.arenas.record_placements("a1", 1, placements(3), checksum="c1")
            assert storage.stats().rows_written == 0
            await wait_until(lambda: storage.stats().rows_written == 4)
            assert storage.stats().batches == 1
    sums = await read(database_url, lambda c: load_tick_checksums(c, "a1"))
    assert [s.checksum for s in sums] == ["c1"]


async def test_rows_the_database_refuses_are_counted_and_logged(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(30):
        async with running(actor_for(database_url)) as storage:
            await storage.arenas.create_arena(
                arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=1
            )
            assert storage.arenas.record_placements("ghost", 1, placements(2))
            assert storage.arenas.record_placements("a1", 1, placements(3))
            await storage.flush()
            stats = storage.stats()
            assert (stats.rows_written, stats.rows_rejected, stats.backlog) == (3, 2, 0)
    assert len(await read(database_url, lambda c: load_placements(c, "a1"))) == 3
    assert any(
        "arena ghost" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
    )


async def test_a_graceful_stop_writes_what_is_buffered(database_url: str) -> None:
    with trio.fail_after(30):
        async with running(actor_for(database_url, flush_interval=60.0)) as storage:
            await storage.arenas.create_arena(
                arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=1
            )
            assert storage.arenas.record_placements("a1", 1, placements(4))
            assert storage.stats().backlog == 4
        assert storage.stats().backlog == 0
    assert len(await read(database_url, lambda c: load_placements(c, "a1"))) == 4


async def test_buffered_rows_survive_a_restart_of_the_actor(database_url: str) -> None:
    actor = actor_for(database_url, flush_interval=60.0)
    with trio.fail_after(30):
        async with trio.open_nursery() as crash, running(actor) as storage:
            await storage.arenas.create_arena(
                arena_id="a1", mode="battle", region="eu", rules=BATTLE_RULES, seed=1
            )
            assert storage.arenas.record_placements("a1", 1, placements(2))
            crash.cancel_scope.cancel()  # not a graceful stop: no final flush
        assert actor.stats().backlog == 2
        async with running(actor) as storage:  # the next incarnation
            await storage.flush()
    assert len(await read(database_url, lambda c: load_placements(c, "a1"))) == 2


async def test_an_unreachable_database_fails_fast_and_keeps_rows() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing"
    with trio.fail_after(30):
        async with running(actor_for(url)) as storage:
            with trio.fail_after(5):
                with pytest.raises(StorageUnavailable) as caught:
                    await storage.arenas.list_live_arenas()
            assert caught.value.code == "unavailable"
            assert caught.value.retry_after > 0
            assert storage.arenas.record_placements("a1", 1, placements(3))
            await wait_until(lambda: storage.stats().failures >= 3)
            with pytest.raises(StorageUnavailable):
                await storage.flush()
            stats = storage.stats()
            assert (stats.backlog, stats.rows_written) == (3, 0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _count_rule_configs(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.rule_configs)).scalar_one())
