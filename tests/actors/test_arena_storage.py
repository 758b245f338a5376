"""The arena with a real storage actor: acknowledgements after the commit, snapshots, the
restart of a crashed arena from storage, and placements refused when they cannot be kept.

These run on the real clock: the storage actor's work happens in worker threads, and under
the autojump clock virtual time would race ahead while a thread runs. Each test has an
absolute deadline and lasts a few ticks (0.1 s each).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.engine import Connection

from tests.actors.test_arena_fakes import (
    SMALL_RULES,
    TICK,
    FakeLink,
    describe,
    join,
    stream_frame,
)
from tests.storage.actor_support import actor_for, read, running, wait_until
from tilemud.actors.arena import Arena, PlaceTile
from tilemud.errors import ActorGone
from tilemud.game import BATTLE_RULES, board_checksum
from tilemud.protocol import ArenaTick, ErrorFrame, PlaceResult
from tilemud.storage import (
    StorageClient,
    load_arena,
    load_latest_snapshot,
    load_placements,
    load_recovery,
    load_replay,
    migrate,
    tables,
)
from tilemud.supervisors import ChildSpec, DynamicSupervisor, Restart, run_root

ARENA_ID = "a_stored"


def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file at the schema's head."""
    url = f"sqlite:///{tmp_path / 'arena.sqlite3'}"
    migrate.upgrade(url)
    return url


def stored_arena(storage: StorageClient, **overrides: object) -> Arena:
    options: dict[str, object] = {
        "arena_id": ARENA_ID,
        "mode": SMALL_RULES.mode,
        "region": "eu",
        "rules": SMALL_RULES,
        "seed": 7,
        "storage": storage.arenas,
    }
    options.update(overrides)
    return Arena(**options)  # type: ignore[arg-type]


@asynccontextmanager
async def supervised(arena: Arena) -> AsyncIterator[DynamicSupervisor]:
    """Run ``arena`` under a dynamic supervisor, as the world does."""
    arenas = DynamicSupervisor("arenas")
    async with trio.open_nursery() as nursery:
        await nursery.start(run_root, arenas)
        await arenas.start_child(
            ChildSpec(id=arena.arena_id, run=arena.run, restart=Restart.TRANSIENT, shutdown=2.0)
        )
        try:
            yield arenas
        finally:
            arenas.stop()


@attrs.define(eq=False)
class WatchingLink(FakeLink):
    """A link that notes how many write-behind rows were committed at each answer."""

    storage: StorageClient | None = None
    written_at_reply: list[int] = attrs.field(factory=list)

    def reply(self, rid: str, frame: str) -> None:
        assert self.storage is not None
        self.written_at_reply.append(self.storage.stats().rows_written)
        super().reply(rid, frame)


async def test_an_accepted_placement_is_answered_after_its_commit(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with trio.fail_after(20):
        async with running(actor_for(url, flush_interval=5.0)) as storage:
            await storage.arenas.create_arena(
                arena_id=ARENA_ID, mode="arena", region="eu", rules=SMALL_RULES, seed=7
            )
            arena = stored_arena(storage)
            ann = WatchingLink("ann", storage=storage)
            async with supervised(arena):
                await join(arena, ann)
                await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=2, y=2, kind="stone"))
                await wait_until(lambda: bool(ann.rids))
                # flush_interval is 5 s: the write went out at once because an answer
                # waited on it, and the answer went out only once it was committed.
                [result] = ann.results()
                assert result.outcome == "accepted"
                assert ann.written_at_reply[0] >= 3  # participant, placement, checksum
                logged = await read(url, lambda c: load_placements(c, ARENA_ID))
                assert [(p.player_id, p.x, p.y) for p in logged] == [("ann", 2, 2)]
                # A rejection changes nothing stored: answered at once.
                await arena.ref.send(PlaceTile(player_id="ann", rid="r2", x=2, y=2, kind="stone"))
                await wait_until(lambda: len(ann.rids) == 2)
                assert ann.results()[1].outcome == "rejected"


async def test_snapshots_are_taken_every_snapshot_ticks(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with trio.fail_after(20):
        async with running(actor_for(url)) as storage:
            await storage.arenas.create_arena(
                arena_id=ARENA_ID, mode="arena", region="eu", rules=SMALL_RULES, seed=7
            )
            arena = stored_arena(storage, snapshot_ticks=2)
            ann = FakeLink("ann")
            async with supervised(arena):
                await join(arena, ann)
                for i in range(4):
                    await arena.ref.send(
                        PlaceTile(player_id="ann", rid=f"r{i}", x=i, y=0, kind="stone")
                    )
                    await trio.sleep(2.5 * TICK)
                await wait_until(lambda: len(ann.rids) == 4)
                await storage.flush()
                view = await describe(arena)
            snapshot = await read(url, lambda c: load_latest_snapshot(c, ARENA_ID))
            assert snapshot is not None
            # The graceful stop snapshotted the board as it was last.
            assert snapshot.decode() == view.board
            assert snapshot.tick >= view.tick
            count = await read(url, _count_snapshots)
            assert count >= 3  # at least every 2nd tick with placements, and the stop


def _count_snapshots(conn: Connection) -> int:
    return int(
        conn.execute(sa.select(sa.func.count()).select_from(tables.board_snapshots)).one()[0]
    )


class Glitch(Exception):
    """A bug in a player link, to crash the arena."""


async def test_a_crashed_arena_restarts_from_storage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="tilemud.supervisor")
    caplog.set_level(logging.INFO, logger="tilemud.arena")
    url = sqlite_url(tmp_path)
    glitches: list[bool] = []

    def glitch_when_asked(body: str) -> None:
        if glitches and isinstance(stream_frame(body), ArenaTick):
            glitches.pop()
            raise Glitch("link bug")

    with trio.fail_after(20):
        async with running(actor_for(url)) as storage:
            await storage.arenas.create_arena(
                arena_id=ARENA_ID, mode="arena", region="eu", rules=SMALL_RULES, seed=7
            )
            arena = stored_arena(storage)
            ann = FakeLink("ann", on_publish=glitch_when_asked)
            async with supervised(arena):
                await join(arena, ann)
                await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=1, y=1, kind="stone"))
                await wait_until(lambda: len(ann.rids) == 1)
                # Something only storage knows: a placement logged by an earlier life of
                # this arena. A restart from memory would not have it.
                await read(url, _log_extra_placement)
                glitches.append(True)
                await arena.ref.send(PlaceTile(player_id="ann", rid="r2", x=3, y=3, kind="stone"))
                await wait_until(lambda: len(ann.rids) == 2 and len(ann.snapshots()) >= 2)
                view = await describe(arena)
            assert view.players == ("ann",)
            assert view.board.get(9, 9) is not None  # from storage
            assert view.board.get(1, 1) is not None
            assert view.board.get(3, 3) is not None  # resolved in the crashed tick: kept
            # Every placement answered exactly once, and the player's stream reset with a
            # snapshot of the restored board (a resync, not a disconnect).
            assert sorted(ann.rids) == ["r1", "r2"]
            assert all(r.outcome == "accepted" for r in ann.results())
            assert any("restored from storage" in r.message for r in caplog.records)
            recovery = await read(url, lambda c: load_recovery(c, ARENA_ID))
            assert recovery.snapshot is not None  # the restart snapshotted what it rebuilt


def _log_extra_placement(conn: Connection) -> None:
    conn.execute(
        sa.insert(tables.placements).values(
            # Far ahead of the live ticks, and without a checksum: it rebuilds cleanly.
            arena_id=ARENA_ID,
            tick=500,
            ordinal=0,
            player_id="bob",
            x=9,
            y=9,
            kind="stone",
        )
    )


#: Nothing listens on port 1 of loopback: every connection is refused at once.
DEAD_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/tilemud"


async def test_placements_are_refused_when_they_cannot_be_kept() -> None:
    """With the database down, play goes on while the write-behind buffer has room (the
    answers wait for the database); once it is full, placements are refused with
    ``unavailable`` and a ``retry_after`` instead of being accepted and lost."""
    with trio.fail_after(20):
        async with running(actor_for(DEAD_DATABASE, buffer_rows=5)) as storage:
            arena = stored_arena(storage)
            ann, bob = FakeLink("ann"), FakeLink("bob")
            async with supervised(arena):
                await join(arena, ann)  # 1 row: ann's seat
                await join(arena, bob)  # 2 rows
                await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=1, y=1, kind="stone"))
                await wait_until(lambda: _board_has(ann, 1, 1))
                # Resolved and published (2 more rows: the placement and its checksum),
                # but not answered: the database has not stored it.
                assert ann.rids == []
                assert storage.stats().backlog == 4
                await arena.ref.send(PlaceTile(player_id="bob", rid="b1", x=5, y=5, kind="stone"))
                await wait_until(lambda: bool(bob.rids))
                [refusal] = bob.replies()
                assert isinstance(refusal, ErrorFrame)
                assert refusal.code == "unavailable"
                assert refusal.retry_after is not None
                assert refusal.retry_after > 0
                view = await describe(arena)
                assert view.board.get(5, 5) is None
                assert storage.stats().rows_refused == 0  # refused by the arena, not lost
                assert ann.rids == []


def _board_has(link: FakeLink, x: int, y: int) -> bool:
    return any(
        (tx, ty) == (x, y)
        for frame in link.published_of(ArenaTick)
        for tx, ty, _, _ in frame.placed
    )


async def test_a_graceful_stop_snapshots_the_board_and_leaves_the_arena_live(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path)
    with trio.fail_after(20):
        async with running(actor_for(url)) as storage:
            await storage.arenas.create_arena(
                arena_id=ARENA_ID, mode="arena", region="eu", rules=SMALL_RULES, seed=7
            )
            arena = stored_arena(storage)
            ann = FakeLink("ann")
            async with supervised(arena) as arenas:
                await join(arena, ann)
                await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=1, y=1, kind="stone"))
                await trio.sleep(1.5 * TICK)
                arenas.stop()
                await arenas.wait_stopped()
            with pytest.raises(ActorGone):
                await arena.ref.send(PlaceTile(player_id="ann", rid="r2", x=2, y=2, kind="stone"))
            assert ann.rids == ["r1"]
            [result] = ann.results()
            assert isinstance(result, PlaceResult)
            recovery = await read(url, lambda c: load_recovery(c, ARENA_ID))
            assert recovery.snapshot is not None
            assert recovery.snapshot.checksum == board_checksum(recovery.snapshot.decode())
            assert recovery.arena.state == "live"  # stopped, not ended: it comes back


async def test_a_battle_that_ends_stores_its_end_and_a_complete_replay(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    rules = attrs.evolve(BATTLE_RULES, battle_ticks=8, require_adjacency=False)
    with trio.fail_after(20):
        async with running(actor_for(url, flush_interval=5.0)) as storage:
            await storage.arenas.create_arena(
                arena_id="b_short", mode="battle", region="eu", rules=rules, seed=11
            )
            arena = stored_arena(storage, arena_id="b_short", mode="battle", rules=rules, seed=11)
            ann = FakeLink("ann")
            async with supervised(arena):
                await join(arena, ann)
                await arena.ref.send(PlaceTile(player_id="ann", rid="r1", x=1, y=1, kind="stone"))
                await wait_until(lambda: bool(ann.of("closed")))
                await wait_until(lambda: ann.rids == ["r1"])
            record = await read(url, lambda c: load_arena(c, "b_short"))
            assert record.state == "ended"
            assert record.result is not None
            assert record.result["winners"] == ["ann"]
            replay = await read(url, lambda c: load_replay(c, "b_short"))
            assert [(p.player_id, p.x, p.y) for t in replay.ticks for p in t.placements] == [
                ("ann", 1, 1)
            ]
