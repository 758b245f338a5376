"""Running a storage actor in a test, and reading what it wrote."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs
import trio
from sqlalchemy.engine import Connection

from tilemud.config import DatabaseSettings
from tilemud.game import Placement
from tilemud.storage import Database, StorageActor, StorageClient
from tilemud.supervisors import ChildContext

T = TypeVar("T")

#: Short enough for tests to see flushes and retries on the real clock, long enough to batch.
FAST = DatabaseSettings(flush_interval=0.05, connect_timeout=2.0, retry_max=0.5)


def actor_for(url: str, **overrides: Any) -> StorageActor:
    settings = attrs.evolve(FAST, url=url, **overrides)
    return StorageActor(settings, data_dir=Path("unused"))


async def _run(
    actor: StorageActor,
    stopping: trio.Event,
    *,
    task_status: trio.TaskStatus[StorageClient] = trio.TASK_STATUS_IGNORED,
) -> None:
    await actor.run(ChildContext("storage", task_status=task_status, stopping=stopping))


@contextlib.asynccontextmanager
async def running(actor: StorageActor) -> AsyncIterator[StorageClient]:
    """Run ``actor`` as its supervisor would; stop it gracefully (final flush) at the end."""
    stopping = trio.Event()
    async with trio.open_nursery() as nursery:
        client: StorageClient = await nursery.start(_run, actor, stopping)
        try:
            yield client
        finally:
            stopping.set()


async def read(url: str, operation: Callable[[Connection], T]) -> T:
    """Run ``operation`` on its own connection (not the actor's), in a thread."""
    db = Database(url, DatabaseSettings())
    try:
        return await trio.to_thread.run_sync(db.run, operation)
    finally:
        await trio.to_thread.run_sync(db.dispose)


async def wait_until(condition: Callable[[], bool], *, poll: float = 0.01) -> None:
    """Poll ``condition`` (the caller bounds the wait with ``fail_after``).

    The actor's counters change in its own tasks and threads, with no event to wait on.
    """
    while not condition():  # noqa: ASYNC110
        await trio.sleep(poll)


def placements(count: int, *, player: str = "p1") -> list[Placement]:
    return [Placement(player_id=player, x=i, y=0, kind="stone") for i in range(count)]
