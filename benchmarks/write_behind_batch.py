"""CPU per write-behind batch of epic-300's shape: the log's INSERTs with their SQL fixed
once and the rows handed to the driver (issue 13: ``executemany`` on SQLite, one statement
over a JSON array on PostgreSQL; ``tilemud/storage/_log_insert.py``) against an INSERT
construct with a dict per row built by SQLAlchemy Core for every batch (before).

::

    nice -n 5 flock /work/bench.lock \\
        .venv/bin/python -m benchmarks.write_behind_batch --batches 300 --runs 5

A batch is what the storage actor commits ~10 times a second at epic-300: 60 accepted
placements of one tick and that tick's checksum, new rows, in one transaction (the server's
own :class:`~tilemud.storage.Database`: SQLite's pragmas, PostgreSQL's ``SET LOCAL
statement_timeout`` and pool pre-ping), handed to a worker thread with
``trio.to_thread.run_sync`` as the actor does. SQLite is a file in a temporary directory;
PostgreSQL a database of its own on ``TILEMUD_BENCH_POSTGRES_URL`` (default the local
server), created and dropped around the run.

Prints, per backend and way, the median over ``--runs`` of the µs of CPU per batch: the
whole process's (``time.process_time``: the Trio thread's hand-off and the worker's work)
and the worker thread's alone (``time.thread_time``), then the ratio before / after. Runs
alternate between the two ways; each way writes ticks of its own arena.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeAlias

import attrs
import trio
from sqlalchemy.engine import Connection

from benchmarks.databases import ADMIN_URL, throwaway_database
from tilemud.config import DatabaseSettings
from tilemud.game import BATTLE_RULES
from tilemud.storage import (
    Database,
    PlacementRecord,
    TickChecksum,
    append_placements,
    create_arena,
    migrate,
    record_rule_config,
    record_tick_checksums,
)
from tilemud.storage import tables as t
from tilemud.storage._sql import insert

#: Accepted placements per batch: 300 players x 2 per second, 10 ticks per second.
PLACEMENTS_PER_BATCH: Final = 60
BACKENDS: Final = ("sqlite", "postgres")
_T0: Final = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)

#: Writes one batch (its placements, its checksum) in the transaction of the connection.
BatchWriter: TypeAlias = Callable[[Sequence[PlacementRecord], TickChecksum, Connection], None]


def write_with_constructs(
    placements: Sequence[PlacementRecord], checksum: TickChecksum, conn: Connection
) -> None:
    """The log's batch as it was written before issue 13: an ``insert()`` construct with
    ``on_conflict_do_nothing`` and a dict per row, built for every batch (the reference)."""
    stmt = insert(conn, t.placements).on_conflict_do_nothing(
        index_elements=[t.placements.c.arena_id, t.placements.c.tick, t.placements.c.ordinal]
    )
    conn.execute(
        stmt,
        [
            {
                "arena_id": r.arena_id,
                "tick": r.tick,
                "ordinal": r.ordinal,
                "player_id": r.player_id,
                "x": r.x,
                "y": r.y,
                "kind": r.kind,
                "rid": r.rid,
            }
            for r in placements
        ],
    )
    sums = insert(conn, t.tick_checksums).on_conflict_do_nothing(
        index_elements=[t.tick_checksums.c.arena_id, t.tick_checksums.c.tick]
    )
    conn.execute(
        sums,
        [{"arena_id": checksum.arena_id, "tick": checksum.tick, "checksum": checksum.checksum}],
    )


def write_with_repositories(
    placements: Sequence[PlacementRecord], checksum: TickChecksum, conn: Connection
) -> None:
    """The log's batch as the storage actor writes it now."""
    append_placements(conn, placements)
    record_tick_checksums(conn, [checksum])


WAYS: Final[dict[str, BatchWriter]] = {
    "before": write_with_constructs,
    "after": write_with_repositories,
}


def epic_batch(arena_id: str, tick: int) -> tuple[list[PlacementRecord], TickChecksum]:
    """One tick of epic-300's log: 60 placements by different players, and the checksum."""
    placements = [
        PlacementRecord(
            arena_id=arena_id,
            tick=tick,
            ordinal=i,
            player_id=f"bot-{(tick * 7 + i) % 300:03d}",
            x=(tick + i * 13) % 256,
            y=(tick * 3 + i) % 256,
            kind="stone",
            rid=f"r{tick}-{i}",
        )
        for i in range(PLACEMENTS_PER_BATCH)
    ]
    return placements, TickChecksum(arena_id=arena_id, tick=tick, checksum=f"{tick:064x}")


@attrs.frozen(kw_only=True)
class BatchCost:
    """µs of CPU per batch: the whole process's, and the worker thread's alone."""

    process: float
    thread: float


async def cost_per_batch(
    db: Database, write: BatchWriter, arena_id: str, ticks: range
) -> BatchCost:
    """Write one batch per tick of ``ticks`` as the storage actor does; CPU per batch."""
    limiter = trio.CapacityLimiter(1)
    batches = [epic_batch(arena_id, tick) for tick in ticks]
    thread_seconds = 0.0
    started = time.process_time()
    for placements, checksum in batches:
        thread_seconds += await trio.to_thread.run_sync(
            committed_in,
            db,
            functools.partial(write, placements, checksum),
            limiter=limiter,
        )
    process_seconds = time.process_time() - started
    return BatchCost(
        process=process_seconds / len(ticks) * 1e6, thread=thread_seconds / len(ticks) * 1e6
    )


def committed_in(db: Database, operation: Callable[[Connection], None]) -> float:
    """Run ``operation`` in one transaction; the seconds of this thread's CPU it took
    (begin and commit included)."""
    started = time.thread_time()
    db.run(operation)
    return time.thread_time() - started


@contextmanager
def benchmark_database(backend: str) -> Iterator[Database]:
    """The server's :class:`Database` on a migrated, empty database of ``backend``."""
    settings = DatabaseSettings()
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tilemud-wb-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'tilemud.sqlite3'}"
            migrate.upgrade(url)
            db = Database(url, settings)
            try:
                yield db
            finally:
                db.dispose()
        return
    with throwaway_database(ADMIN_URL, prefix="tilemud_wb") as url:
        db = Database(url, settings)
        try:
            yield db
        finally:
            db.dispose()


def new_arena(db: Database, arena_id: str) -> None:
    with db.transaction() as conn:
        version = record_rule_config(conn, BATTLE_RULES, at=_T0)
        create_arena(
            conn,
            arena_id=arena_id,
            mode="epic",
            region="eu",
            rules_version=version,
            seed=1,
            at=_T0,
        )


async def measure(backend: str, batches: int, runs: int) -> dict[str, list[BatchCost]]:
    """Every run's cost per batch of each way on ``backend``, the ways alternating."""
    costs: dict[str, list[BatchCost]] = {way: [] for way in WAYS}
    with benchmark_database(backend) as db:
        for way in WAYS:
            new_arena(db, f"arena-{way}")
        ticks = itertools.count(1)
        # One warm-up batch per way: the pool's connection, SQLAlchemy's compiled cache.
        for way, write in WAYS.items():
            tick = next(ticks)
            await cost_per_batch(db, write, f"arena-{way}", range(tick, tick + 1))
        for _ in range(runs):
            for way, write in WAYS.items():
                first = next(ticks)
                for _ in range(batches - 1):
                    next(ticks)
                span = range(first, first + batches)
                costs[way].append(await cost_per_batch(db, write, f"arena-{way}", span))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300, help="batches per run and way")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    args = parser.parse_args()
    for backend in args.backend or BACKENDS:
        costs = trio.run(measure, backend, args.batches, args.runs)
        medians = {
            way: BatchCost(
                process=statistics.median(c.process for c in runs),
                thread=statistics.median(c.thread for c in runs),
            )
            for way, runs in costs.items()
        }
        before, after = medians["before"], medians["after"]
        print(
            f"{backend:8} µs CPU per batch ({PLACEMENTS_PER_BATCH} placements + 1 checksum),"
            f" median of {args.runs} runs of {args.batches}:"
        )
        for way, cost in medians.items():
            print(f"  {way:6}  process {cost.process:8.1f}   worker thread {cost.thread:8.1f}")
        print(
            f"  ratio before/after: process {before.process / after.process:.2f}x,"
            f" worker thread {before.thread / after.thread:.2f}x"
        )


if __name__ == "__main__":
    main()
