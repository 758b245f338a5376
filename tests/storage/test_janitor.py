"""The replay janitor: its schedule, batches, errors and stop, and the retention boundary.

Testing policy. Everything here runs under ``autojump_clock``, so that a 7-day retention
costs milliseconds. The schedule and error tests use a scripted store (no I/O). The
boundary test runs a real storage actor on both backends, which breaks conftest.py's rule
(storage actors on the real clock) on purpose, and so obeys two others: no ``fail_after``
around database work (the clock jumps to the deadline while a worker thread runs), and no
waiting for a time. It waits for the janitor's own runs (:meth:`ReplayJanitor.wait_for_runs`)
and reads the database by blocking the Trio thread (:func:`look`): while the loop is busy
the clock stands still, so the next run cannot start in the middle of what it looks at.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import attrs
import pytest
import trio
import trio.testing
from sqlalchemy.engine import Connection

from tilemud.config import DatabaseSettings
from tilemud.game import BATTLE_RULES, BattleResult
from tilemud.storage import (
    Database,
    RecordNotFound,
    StorageActor,
    StorageUnavailable,
    load_arena,
    load_replay,
)
from tilemud.storage.janitor import PURGE_BATCH, PurgeStats, ReplayJanitor, next_slot
from tilemud.supervisors import ChildContext, ChildSpec, Supervisor

from ..supervisors.probes import Tree, run_tree
from .actor_support import FAST, placements, running

T = TypeVar("T")

HOUR = 3600.0
WEEK = 7 * 24 * HOUR
EPOCH = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
RESULT = BattleResult.from_scores(tick=3, reason="time", scores={"p1": 5})


def wall() -> dt.datetime:
    """A wall clock that moves with Trio time (so with the autojump clock)."""
    return EPOCH + dt.timedelta(seconds=trio.current_time())


def at(seconds: float) -> dt.datetime:
    """The wall-clock time at ``seconds`` of Trio time."""
    return EPOCH + dt.timedelta(seconds=seconds)


class ScriptedStore:
    """A ``purge_replays`` that answers from a script and writes down each call.

    Args:
        script: one entry per call: a count to return, or an exception to raise; 0 once
            the script is used up.
        takes: Trio seconds each call takes.
    """

    def __init__(self, *script: int | Exception, takes: float = 0.0) -> None:
        self.script = list(script)
        self.takes = takes
        #: ``(trio time, ended_before, limit)`` of each call.
        self.calls: list[tuple[float, dt.datetime, int]] = []

    async def purge_replays(self, *, ended_before: dt.datetime, limit: int = 100) -> int:
        self.calls.append((trio.current_time(), ended_before, limit))
        await trio.sleep(self.takes)
        answer = self.script.pop(0) if self.script else 0
        if isinstance(answer, Exception):
            raise answer
        return answer

    @property
    def times(self) -> list[float]:
        return [call[0] for call in self.calls]


def janitor_for(
    store: ScriptedStore, *, interval: float = HOUR, retention: float = WEEK, batch: int = 100
) -> ReplayJanitor:
    settings = DatabaseSettings(replay_retention=retention, purge_interval=interval)
    return ReplayJanitor(store, settings, clock=wall, batch=batch)


async def _run(
    janitor: ReplayJanitor,
    stopping: trio.Event,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    await janitor.run(ChildContext("janitor", task_status=task_status, stopping=stopping))


async def start(nursery: trio.Nursery, janitor: ReplayJanitor) -> trio.Event:
    """Start ``janitor`` as its supervisor would; returns its ``stopping`` event."""
    stopping = trio.Event()
    await nursery.start(_run, janitor, stopping)
    return stopping


def look(url: str, operation: Callable[[Connection], T]) -> T:
    """Run ``operation`` on a connection of its own, blocking the Trio thread on purpose
    (see the module docstring)."""
    db = Database(url, DatabaseSettings())
    try:
        return db.run(operation)
    finally:
        db.dispose()


def replay_ticks(url: str, arena_id: str) -> list[tuple[int, int]]:
    replay = look(url, lambda c: load_replay(c, arena_id))
    return [(tick.tick, len(tick.placements)) for tick in replay.ticks]


def assert_purged(url: str, arena_id: str, *, purged_at: dt.datetime) -> None:
    with pytest.raises(RecordNotFound, match="purged"):
        look(url, lambda c: load_replay(c, arena_id))
    arena = look(url, lambda c: load_arena(c, arena_id))
    assert (arena.state, arena.result, arena.purged) == ("ended", RESULT.to_dict(), purged_at)


async def test_a_replay_is_kept_for_the_retention_then_purged_at_the_next_run(
    database_url: str, autojump_clock: trio.testing.MockClock
) -> None:
    real_start = time.perf_counter()
    t0 = trio.current_time()
    settings = attrs.evolve(FAST, url=database_url, replay_retention=WEEK, purge_interval=HOUR)
    async with running(StorageActor(settings, data_dir=Path("unused"), clock=wall)) as storage:
        for arena_id in ("old", "exact", "young", "live"):
            await storage.arenas.create_arena(
                arena_id=arena_id, mode="battle", region="eu", rules=BATTLE_RULES, seed=7
            )
            assert (
                storage.arenas.record_placements(arena_id, 1, placements(2), checksum="c1")
                is not None
            )
        # Nothing else waits on a deadline yet: each arena ends exactly when asked.
        for arena_id, offset in (("old", HOUR - 1), ("exact", HOUR), ("young", HOUR + 1)):
            await trio.sleep_until(t0 + offset)
            ended = await storage.arenas.end_arena(arena_id, RESULT)
            assert ended.ended == at(t0 + offset)

        # Runs fall at t0 + WEEK (cutoff t0), t0 + WEEK + 1 h (cutoff t0 + 1 h: "old" ended
        # a week and 1 s before it, "young" a week less 1 s), t0 + WEEK + 2 h (cutoff t0 + 2 h).
        await trio.sleep_until(t0 + WEEK - HOUR)
        janitor = ReplayJanitor(storage.arenas, settings, clock=wall)
        async with trio.open_nursery() as nursery:
            stopping = await start(nursery, janitor)

            await janitor.wait_for_runs(1)
            assert janitor.stats().replays_purged == 0
            for arena_id in ("old", "exact", "young", "live"):
                assert replay_ticks(database_url, arena_id) == [(1, 2)]

            await janitor.wait_for_runs(2)
            assert janitor.stats().replays_purged == 1
            assert_purged(database_url, "old", purged_at=at(t0 + WEEK + HOUR))
            # Ended at the cutoff is not ended before it; ended after it, even less so.
            assert replay_ticks(database_url, "exact") == [(1, 2)]
            assert replay_ticks(database_url, "young") == [(1, 2)]

            await janitor.wait_for_runs(3)
            for arena_id in ("exact", "young"):
                assert_purged(database_url, arena_id, purged_at=at(t0 + WEEK + 2 * HOUR))
            assert replay_ticks(database_url, "live") == [(1, 2)]  # never ended, never purged
            stopping.set()
    assert janitor.stats() == PurgeStats(
        runs=3, failed_runs=0, replays_purged=3, last_success=at(t0 + WEEK + 2 * HOUR)
    )
    assert time.perf_counter() - real_start < 20  # a week of Trio time, no week of waiting


async def test_runs_fall_on_a_schedule_that_a_slow_run_does_not_push(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = ScriptedStore(5, takes=7)
    janitor = janitor_for(store, interval=60)
    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        stopping = await start(nursery, janitor)
        assert store.calls == []  # started at once; the first run is one interval later
        await janitor.wait_for_runs(3)
        stopping.set()
    assert store.times == [t0 + 60, t0 + 67, t0 + 120, t0 + 180]
    assert janitor.stats().runs == 3


async def test_a_run_longer_than_the_interval_skips_the_slots_it_missed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = ScriptedStore(takes=150)
    janitor = janitor_for(store, interval=60)
    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        stopping = await start(nursery, janitor)
        await janitor.wait_for_runs(2)
        stopping.set()
    assert store.times == [t0 + 60, t0 + 240]  # not at 210, right after the slow run


def test_next_slot_is_the_first_slot_after_now() -> None:
    assert next_slot(0, 60, 0) == 60
    assert next_slot(0, 60, 59.9) == 60
    assert next_slot(0, 60, 60) == 120
    assert next_slot(0, 60, 150) == 180
    for after in (10.3, 10.7, 1e6 + 0.1):
        due = next_slot(10, 0.1, after)
        assert after < due <= after + 0.1 + 1e-9


async def test_a_run_purges_batch_after_batch_with_one_cutoff_until_none_is_left(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = ScriptedStore(3, 3, 2, 0, takes=1)
    janitor = janitor_for(store, interval=60, retention=HOUR, batch=3)
    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        stopping = await start(nursery, janitor)
        await janitor.wait_for_runs(1)
        stopping.set()
    cutoff = at(t0 + 60 - HOUR)
    assert [(when - t0, before, limit) for when, before, limit in store.calls] == [
        (60, cutoff, 3),
        (61, cutoff, 3),
        (62, cutoff, 3),
        (63, cutoff, 3),
    ]
    assert janitor.stats() == PurgeStats(
        runs=1, failed_runs=0, replays_purged=8, last_success=at(t0 + 60)
    )


def test_the_default_batch_keeps_transactions_short() -> None:
    assert PURGE_BATCH == 100
    with pytest.raises(ValueError, match="at least one"):
        janitor_for(ScriptedStore(), batch=0)


async def test_an_outage_is_logged_once_and_the_next_run_purges(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tilemud.storage")
    down = StorageUnavailable("database down")
    store = ScriptedStore(down, down, 4, 0, down)
    janitor = janitor_for(store, interval=60)
    async with trio.open_nursery() as nursery:
        stopping = await start(nursery, janitor)
        await janitor.wait_for_runs(2)
        assert janitor.stats() == PurgeStats(runs=2, failed_runs=2)
        assert _messages(caplog, logging.WARNING) == [
            "replay purge failed, database unavailable; next try in 60 s: database down"
        ]
        await janitor.wait_for_runs(3)
        assert janitor.stats().replays_purged == 4
        assert "replay purge works again" in _messages(caplog, logging.INFO)
        await janitor.wait_for_runs(4)  # a new outage: a new warning
        stopping.set()
    assert len(_messages(caplog, logging.WARNING)) == 2
    assert janitor.stats().failed_runs == 3


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "tilemud.storage" and r.levelno == level
    ]


async def test_a_bug_crashes_the_janitor(autojump_clock: trio.testing.MockClock) -> None:
    janitor = janitor_for(ScriptedStore(3, KeyError("bad column")), interval=60)
    with pytest.raises(KeyError, match="bad column"):
        await janitor.run(ChildContext("janitor"))
    assert janitor.stats() == PurgeStats(runs=1, failed_runs=1, replays_purged=3)


async def test_its_supervisor_restarts_it_after_a_bug(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = ScriptedStore(KeyError("bad column"), 2, 0)
    janitor = janitor_for(store, interval=60)
    supervisor = Supervisor("storage", [ChildSpec(id="janitor", run=janitor.run)])
    tree = Tree(supervisor)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_tree, tree)
        await janitor.wait_for_runs(2)
        supervisor.stop()
    assert tree.escalation is None
    assert janitor.stats().failed_runs == 1
    assert janitor.stats().replays_purged == 2  # counters outlive an incarnation
    crashes = [r for r in caplog.records if r.name == "tilemud.supervisor"]
    assert crashes
    assert crashes[0].levelno == logging.ERROR


async def test_a_graceful_stop_ends_it_between_runs_and_between_batches(
    autojump_clock: trio.testing.MockClock,
) -> None:
    janitor = janitor_for(ScriptedStore())
    t0 = trio.current_time()
    async with trio.open_nursery() as nursery:
        (await start(nursery, janitor)).set()
    assert trio.current_time() == t0  # no waiting for the next run
    assert janitor.stats().runs == 0

    stopping = trio.Event()

    class StopsAfterOneBatch(ScriptedStore):
        async def purge_replays(self, *, ended_before: dt.datetime, limit: int = 100) -> int:
            stopping.set()
            return await super().purge_replays(ended_before=ended_before, limit=limit)

    store = StopsAfterOneBatch(100, 100, takes=1)
    janitor = ReplayJanitor(store, DatabaseSettings(purge_interval=60), clock=wall)
    async with trio.open_nursery() as nursery:
        await nursery.start(_run, janitor, stopping)
    assert len(store.calls) == 1
    # Ended by the stop: counted, but no success (expired replays may be left).
    assert janitor.stats() == PurgeStats(runs=1, replays_purged=100)


@pytest.mark.parametrize("busy", [False, True])
async def test_cancellation_ends_it(busy: bool, autojump_clock: trio.testing.MockClock) -> None:
    store = ScriptedStore(takes=HOUR)
    janitor = janitor_for(store, interval=60)
    with trio.move_on_after(90 if busy else 30):
        await janitor.run(ChildContext("janitor"))
    assert len(store.calls) == (1 if busy else 0)
    assert janitor.stats().runs == 0  # a run cut short by the janitor's end is not counted
