"""A freshly started ``tilemud serve`` for one benchmark run, and what its log said.

The server runs as a subprocess, ``python -m tilemud serve --ws-port 0 --http-port 0
--data-dir <tmp> --log-format json``, with no ``TILEMUD_*`` setting inherited from this
environment. Its bound ports are read from its JSON log ("player gateway listening",
"http listening": field ``url``), as an operator would. The log is read to its end the
whole time (a pipe nobody reads would block the server) and summed up for the report. On
the way out the server gets SIGTERM, then is killed if it has not exited within a grace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import orjson
import psutil
import trio

#: Seconds the server gets to bind its ports.
START_TIMEOUT: Final = 30.0
#: Seconds the server gets to exit after SIGTERM before it is killed.
STOP_GRACE: Final = 20.0
#: Distinct warning or error messages kept for the report.
KEPT_MESSAGES: Final = 20


class ServerFailed(Exception):
    """The server did not start (its log's last lines say why)."""


class ServerLog:
    """The server's JSON log, read line by line while it runs.

    Also what tests/integration/test_process.py reads a subprocess server's log with.
    """

    def __init__(self) -> None:
        #: Every line, as text.
        self.lines: list[str] = []
        #: The lines that are one JSON object.
        self.records: list[dict[str, Any]] = []
        #: The non-empty lines that are not.
        self.other_lines: list[str] = []
        self.ended = trio.Event()
        self._changed = trio.Event()

    @property
    def messages(self) -> list[str]:
        """The ``msg`` of every record, in order."""
        return [str(record.get("msg")) for record in self.records]

    def text(self) -> str:
        """The whole log as written."""
        return "\n".join(self.lines)

    async def read_from(self, stream: trio.abc.ReceiveStream) -> None:
        """Read ``stream`` to its end."""
        pending = b""
        try:
            while chunk := await stream.receive_some():
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._add(line)
            if pending:
                self._add(pending)
        finally:
            self.ended.set()
            self._changed.set()

    def _add(self, line: bytes) -> None:
        self.lines.append(line.decode(errors="replace"))
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            self.records.append(record)
        elif line.strip():
            self.other_lines.append(line.decode(errors="replace"))
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, message: str) -> dict[str, Any]:
        """The first record whose ``msg`` is ``message``, once it is written."""
        while True:
            changed = self._changed
            for record in self.records:
                if record.get("msg") == message:
                    return record
            if self.ended.is_set():
                tail = "\n".join(self.other_lines[-10:])
                raise ServerFailed(f"the server's log ended without {message!r}\n{tail}")
            await changed.wait()

    async def wait_ended(self) -> None:
        """Wait until the log has been read to its end (the process is gone)."""
        await self.ended.wait()

    def summary(self) -> dict[str, Any]:
        """Counts by level, and the distinct warnings and errors (with how often each)."""
        levels = Counter(str(r.get("level", "?")) for r in self.records)
        notable = Counter(
            f"{r.get('level')}: {r.get('logger')}: {r.get('msg')}"
            for r in self.records
            if r.get("level") in ("warning", "error", "critical")
        )
        return {
            "lines": len(self.records) + len(self.other_lines),
            "levels": dict(levels),
            "warnings_and_errors": dict(notable.most_common(KEPT_MESSAGES)),
            "not_json": self.other_lines[:KEPT_MESSAGES],
        }


class LocalServer:
    """A running server: its process (or its wrapper's), its URLs and its log."""

    def __init__(self, process: trio.Process, argv: list[str]) -> None:
        self.process = process
        self.argv = argv
        self.log = ServerLog()
        self.ws_url = ""
        self.http_url = ""
        #: The server's own pid (the process's, unless a wrapper runs it as a child).
        self.pid = process.pid


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TILEMUD_")}


@asynccontextmanager
async def local_server(
    data_dir: Path, *, env: Mapping[str, str] | None = None, wrapper: Sequence[str] = ()
) -> AsyncIterator[LocalServer]:
    """Start ``tilemud serve`` on loopback with ports chosen by the kernel.

    Args:
        data_dir: the server's data directory (its SQLite file by default).
        env: ``TILEMUD_*`` settings for the server (the caller's own are not passed on).
        wrapper: a command that runs the server as its child (a profiler), or nothing.
    """
    argv = [
        sys.executable,
        "-m",
        "tilemud",
        "serve",
        "--ws-port",
        "0",
        "--http-port",
        "0",
        "--data-dir",
        str(data_dir),
        "--log-format",
        "json",
    ]
    process = await trio.lowlevel.open_process(
        [*wrapper, *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Every bot logs in from 127.0.0.1: the per-address guest login limit is off.
        env={**_clean_environment(), "TILEMUD_LIMITS_GUEST_LOGINS": "0", **(env or {})},
    )
    server = LocalServer(process, argv)
    assert process.stderr is not None
    try:
        async with process.stderr, trio.open_nursery() as nursery:
            nursery.start_soon(server.log.read_from, process.stderr)
            with trio.fail_after(START_TIMEOUT):
                gateway = await server.log.wait_for("player gateway listening")
                http = await server.log.wait_for("http listening")
            server.ws_url = str(gateway["url"])
            server.http_url = str(http["url"])
            if wrapper:
                children = psutil.Process(process.pid).children(recursive=True)
                server.pid = next(c.pid for c in children if "tilemud" in c.cmdline())
            try:
                yield server
            finally:
                with trio.CancelScope(shield=True):
                    if server.pid != process.pid:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(server.pid, signal.SIGTERM)  # the wrapper ends with it
                        with trio.move_on_after(STOP_GRACE):
                            await process.wait()  # a profiler writes its output then
                    await _stop(process)
                    with trio.move_on_after(5):
                        await server.log.ended.wait()
    finally:
        process.kill()  # no-op once it exited


async def _stop(process: trio.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    with trio.move_on_after(STOP_GRACE):
        await process.wait()
        return
    process.kill()
    await process.wait()
