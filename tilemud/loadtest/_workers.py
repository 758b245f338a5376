"""Where the swarms run: in this process, or in worker processes so clients get more cores.

A worker process is ``python -m tilemud loadtest --worker``. Its conversation with the
coordinator, one JSON object a line:

1. the coordinator writes ``{"config": {...}, "worker": N}`` to the worker's stdin;
2. the worker answers ``{"type": "ready"}`` on stdout once it has imported everything;
3. when every worker is ready the coordinator writes ``{"start_wall": T}`` (Unix time), so
   that all swarms share one start and the ramp is the same whatever each took to start;
4. the worker writes a ``progress`` line a second and one ``finished`` line, then exits.

A worker's stderr is this process's stderr: a crash shows its traceback there. A worker
that does not finish in time is killed, and that is reported.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Final

import orjson
import trio

from tilemud.errors import TilemudError
from tilemud.loadtest._config import LoadConfig
from tilemud.loadtest._progress import Finished, Update, decode_update
from tilemud.loadtest._swarm import bots_of_worker, run_swarm

#: Seconds the workers get to start and say ready.
READY_TIMEOUT: Final = 60.0
#: Seconds between everyone being ready and the run's start.
START_LEAD: Final = 0.5


class WorkerFailed(TilemudError):
    """A worker process did not start, or ended without its tally."""

    code = "worker_failed"


async def run_swarms(
    config: LoadConfig,
    on_update: Callable[[Update], None],
    *,
    on_start: Callable[[float], None] | None = None,
) -> list[str]:
    """Run every bot of ``config``; returns the problems met with the workers (if any).

    Args:
        config: the load test; ``processes`` > 1 spreads the bots over worker processes.
        on_update: gets every update of every worker, in this process's Trio run.
        on_start: gets the run's start (Unix time) once it is fixed.
    """
    if config.processes == 1:
        start_wall = time.time() + START_LEAD
        if on_start is not None:
            on_start(start_wall)
        await run_swarm(
            config, worker=0, bots=bots_of_worker(config, 0), start_wall=start_wall, emit=on_update
        )
        return []
    return await _run_processes(config, on_update, on_start)


async def _run_processes(
    config: LoadConfig,
    on_update: Callable[[Update], None],
    on_start: Callable[[float], None] | None,
) -> list[str]:
    problems: list[str] = []
    workers = [_Worker(n) for n in range(config.processes)]
    async with trio.open_nursery() as nursery:
        for worker in workers:
            await worker.spawn(config)
        try:
            with trio.fail_after(READY_TIMEOUT):
                for worker in workers:
                    await worker.wait_ready()
            start_wall = time.time() + START_LEAD
            if on_start is not None:
                on_start(start_wall)
            for worker in workers:
                await worker.send({"start_wall": start_wall})
                nursery.start_soon(worker.read_updates, on_update)
            with trio.move_on_after(config.hard_limit + READY_TIMEOUT):
                for worker in workers:
                    await worker.exited.wait()
        except (trio.TooSlowError, WorkerFailed) as exc:
            problems.append(f"workers did not start: {exc or 'timeout'}")
        finally:
            for worker in workers:
                problems.extend(await worker.stop())
            nursery.cancel_scope.cancel()
    return problems


class _Worker:
    def __init__(self, number: int) -> None:
        self.number = number
        self.process: trio.Process | None = None
        self.exited = trio.Event()
        self.finished = False
        self._pending = b""

    async def spawn(self, config: LoadConfig) -> None:
        self.process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "tilemud", "loadtest", "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        await self.send({"config": config.to_dict(), "worker": self.number})

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process is not None
        assert self.process.stdin is not None
        await self.process.stdin.send_all(orjson.dumps(message) + b"\n")

    async def _line(self) -> bytes | None:
        assert self.process is not None
        assert self.process.stdout is not None
        while b"\n" not in self._pending:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                return None
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    async def wait_ready(self) -> None:
        line = await self._line()
        if line is None or orjson.loads(line).get("type") != "ready":
            raise WorkerFailed(f"worker {self.number} ended before it was ready")

    async def read_updates(self, on_update: Callable[[Update], None]) -> None:
        try:
            while (line := await self._line()) is not None:
                update = decode_update(orjson.loads(line))
                if isinstance(update, Finished):
                    self.finished = True
                on_update(update)
        finally:
            self.exited.set()

    async def stop(self) -> list[str]:
        """Wait a little for the process, kill it if needed; returns what went wrong."""
        process = self.process
        if process is None:
            return [f"worker {self.number} never started"]
        problems: list[str] = []
        with trio.move_on_after(5, shield=True):
            await process.wait()
        if process.returncode is None:
            process.kill()
            problems.append(f"worker {self.number} did not end in time and was killed")
            with trio.move_on_after(5, shield=True):
                await process.wait()
        elif process.returncode != 0:
            problems.append(f"worker {self.number} exited with status {process.returncode}")
        if not self.finished:
            problems.append(f"worker {self.number} sent no final tally")
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with trio.move_on_after(1, shield=True):
                    await stream.aclose()
        return problems


def worker_main() -> int:
    """The ``tilemud loadtest --worker`` process: read the spec, run the swarm."""
    spec = orjson.loads(sys.stdin.buffer.readline())
    config = LoadConfig.from_dict(spec["config"])
    worker = int(spec["worker"])
    _write({"type": "ready"})
    start = orjson.loads(sys.stdin.buffer.readline())
    start_wall = float(start["start_wall"])
    if not math.isfinite(start_wall):
        return 2

    def emit(update: Update) -> None:
        _write(update.to_dict())

    trio.run(
        lambda: run_swarm(
            config,
            worker=worker,
            bots=bots_of_worker(config, worker),
            start_wall=start_wall,
            emit=emit,
        )
    )
    return 0


def _write(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()
