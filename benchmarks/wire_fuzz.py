"""Fuzz the player port through real connections to a real ``tilemud serve``.

Each hypothesis example is one WebSocket connection: upgrade, ``hello``, then a list of
generated frames (valid messages of every client type, any JSON, any text, binary
frames, pings and pongs, fragmented messages, close frames with good and bad payloads,
broken frames: unmasked, reserved bits, unknown opcodes, invalid UTF-8, oversized), then
a ``ping`` whose ``pong`` proves the connection still serves. What must hold, per
connection: no ``error`` frame says ``internal``; every text frame the server sends is
valid against its committed JSON Schema (``tilemud/protocol/schemas``), with an error code
the protocol lists; the connection either answers the last ``ping`` or ends with a close
frame whose code is documented (or echoes the client's own close); and at the end the
server's log holds no ERROR record.

The suite runs it with >= 10,000 frames (tests/integration/test_wire_fuzz.py); as a
benchmark, with more and the server's RSS before and after::

    .venv/bin/python -m benchmarks.wire_fuzz --frames 100000

Loopback only; bounded by ``--frames`` and by a deadline on every connection.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import attrs
import orjson
import psutil
import trio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.integration.raw_ws import (
    BINARY,
    CLOSE,
    PING,
    PONG,
    TEXT,
    RawClient,
    ServerFrame,
    client_frame,
    mask,
    open_raw,
)
from tests.protocol.protocol_support import from_schema, json_values, schema_errors
from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings
from tilemud.protocol import CloseCode, ErrorCode

SECRET = "wire-fuzz-secret-0123456789abcdef-0123456789"
SCHEMA_DIR = Path(__file__).parents[1] / "tilemud" / "protocol" / "schemas"
#: Small, so that oversized frames are cheap to make.
MAX_FRAME_BYTES = 4096
#: Seconds one connection may take, all included.
CONNECTION_DEADLINE = 10.0
SERVER_ENV = {
    "TILEMUD_AUTH_SECRET": SECRET,
    "TILEMUD_DATABASE_DURABLE": "false",
    "TILEMUD_GATEWAY_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES),
    "TILEMUD_GATEWAY_RECONNECT_GRACE": "1",
    "TILEMUD_GATEWAY_CLOSE_TIMEOUT": "0.5",
    # One address opens every connection here: the per-address limit is not under test.
    "TILEMUD_GATEWAY_CONNECT_ATTEMPTS": "100000000",
}


def _load_schemas() -> dict[str, dict[str, Any]]:
    schemas = {}
    for side in ("client", "server"):
        for path in sorted((SCHEMA_DIR / side).glob("*.json")):
            schemas[f"{side}/{path.stem}"] = json.loads(path.read_text(encoding="utf-8"))
    return schemas


SCHEMAS = _load_schemas()
ERROR_CODES = {str(code) for code in ErrorCode}
CLOSE_CODES = {int(code) for code in CloseCode}


def _text(value: Any) -> bytes:
    # json, not orjson: generated JSON holds integers beyond 64 bits.
    return client_frame(TEXT, json.dumps(value, ensure_ascii=False).encode())


def _fragments(body: bytes) -> bytes:
    cut = max(1, len(body) // 2)
    return client_frame(TEXT, body[:cut], fin=False) + client_frame(0x0, body[cut:])


_valid_messages = st.one_of(
    [
        from_schema(schema)
        for name, schema in SCHEMAS.items()
        if name.startswith("client/") and name != "client/hello"
    ]
)
_broken = st.one_of(
    st.builds(
        client_frame,
        st.sampled_from([3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]),
        st.binary(max_size=20),
    ),
    st.builds(lambda p, r: client_frame(TEXT, p, rsv=r), st.binary(max_size=20), st.integers(1, 7)),
    st.builds(lambda p: client_frame(TEXT, p, masked=False), st.binary(max_size=20)),
    st.builds(lambda p: client_frame(TEXT, b"\xff" + p), st.binary(max_size=20)),
    st.builds(lambda p: client_frame(PING, p, fin=False), st.binary(max_size=10)),
    st.builds(
        lambda n: client_frame(TEXT, b"x" * n),
        st.integers(MAX_FRAME_BYTES + 1, 3 * MAX_FRAME_BYTES),
    ),
    st.builds(lambda p: client_frame(CLOSE, p), st.binary(min_size=1, max_size=8)),
)
_close = st.builds(
    lambda code, reason: client_frame(CLOSE, code.to_bytes(2, "big") + reason.encode()[:100]),
    st.sampled_from([1000, 1001, 3000, 4000, 4999]),
    st.text(max_size=20),
)
#: Frames after which the connection stays open (bad ones get an ``error`` frame).
open_frames = st.one_of(
    _valid_messages.map(_text),
    _valid_messages.map(lambda m: _fragments(json.dumps(m, ensure_ascii=False).encode())),
    json_values().map(_text),
    st.text(max_size=200).map(lambda t: client_frame(TEXT, t.encode())),
    st.binary(max_size=200).map(lambda b: client_frame(BINARY, b)),
    st.binary(max_size=125).map(lambda b: client_frame(PING, b)),
    st.binary(max_size=125).map(lambda b: client_frame(PONG, b)),
)
#: Frames that end the connection: broken ones, a close, a second hello.
closing_frames = st.one_of(
    _broken,
    _close,
    from_schema(SCHEMAS["client/hello"]).map(_text),
)
#: What one connection sends: open frames, then in about a third of them a closing one.
connection_frames = st.tuples(
    # At most 90 frames (a fragmented message is two): within the default frame burst.
    st.lists(open_frames, min_size=20, max_size=45),
    st.one_of(st.none(), st.none(), closing_frames),
).map(lambda pair: pair[0] + ([] if pair[1] is None else [pair[1]]))


@attrs.define
class Tally:
    """What the fuzzing did and found."""

    connections: int = 0
    frames_sent: int = 0
    server_frames: int = 0
    closed: int = 0
    problems: list[str] = attrs.Factory(list)
    close_codes: dict[int, int] = attrs.Factory(dict)


def check_server_frame(frame: ServerFrame) -> str | None:
    """Why ``frame`` breaks the protocol, or None."""
    if frame.opcode in (PONG, CLOSE):
        return None
    if frame.opcode != TEXT:
        return f"unexpected opcode {frame.opcode}"
    message = orjson.loads(frame.payload)
    schema = SCHEMAS.get(f"server/{message.get('type')}")
    if schema is None:
        return f"unknown server message {message!r}"
    errors = schema_errors(schema, message)
    if errors:
        return f"{message!r}: {errors}"
    if message["type"] == "error":
        if message["code"] == "internal":
            return f"internal error: {message!r}"
        if message["code"] not in ERROR_CODES:
            return f"undocumented error code: {message!r}"
    return None


async def exchange(port: int, token: str, sent: list[bytes], tally: Tally) -> None:
    """One connection: hello, the frames, a last ping; every server frame checked."""
    with trio.fail_after(CONNECTION_DEADLINE):
        async with await open_raw(port) as client:
            tally.connections += 1
            await client.send(_text({"type": "hello", "v": 2, "token": token}))
            client_close: int | None = None
            for frame in sent:
                try:
                    await client.send(frame)
                except trio.BrokenResourceError:
                    break
                tally.frames_sent += 1
                if frame[0] & 0x0F == CLOSE:
                    payload_close = _close_code_of(frame)
                    client_close = payload_close
                    break
            if client_close is None:
                with suppress(trio.BrokenResourceError):
                    await client.send(_text({"type": "ping", "rid": "fuzz-end"}))
            await _read_to_the_end(client, client_close, tally)


def _close_code_of(frame: bytes) -> int:
    length = frame[1] & 0x7F
    if length < 2:
        return 1005
    key, payload = frame[2:6], frame[6 : 6 + length]
    unmasked = mask(payload, key)
    return int.from_bytes(unmasked[:2], "big")


async def _read_to_the_end(client: RawClient, client_close: int | None, tally: Tally) -> None:
    while True:
        frame = await client.next_frame()
        if frame is None:
            tally.problems.append("the server dropped the connection without a close frame")
            return
        tally.server_frames += 1
        problem = check_server_frame(frame)
        if problem is not None:
            tally.problems.append(problem)
        if frame.opcode == CLOSE:
            tally.closed += 1
            code = frame.close_code or 1005
            tally.close_codes[code] = tally.close_codes.get(code, 0) + 1
            if code not in CLOSE_CODES and code != client_close:
                tally.problems.append(f"undocumented close code {code}")
            return
        if frame.opcode == TEXT:
            message = orjson.loads(frame.payload)
            if message.get("rid") == "fuzz-end" and message["type"] == "pong":
                return  # still usable


@attrs.frozen
class FuzzTarget:
    """A running server to fuzz."""

    pid: int
    ws_port: int
    log: list[dict[str, Any]]


@contextmanager
def fuzz_server(data_dir: Path) -> Iterator[FuzzTarget]:
    """``tilemud serve`` on loopback, port 0, its JSON log read by a thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMUD_")}
    argv = [sys.executable, "-m", "tilemud", "serve", "--ws-port", "0", "--http-port", "0"]
    argv += ["--data-dir", str(data_dir), "--log-format", "json"]
    process = subprocess.Popen(
        argv,
        env={**env, **SERVER_ENV},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    records: list[dict[str, Any]] = []
    listening = threading.Event()
    port: list[int] = []

    def read_log() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            records.append(record)
            if record.get("msg") == "player gateway listening":
                port.append(int(record["url"].rsplit(":", 1)[1].split("/")[0]))
                listening.set()

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        if not listening.wait(30):
            raise RuntimeError("the server did not start")
        yield FuzzTarget(pid=process.pid, ws_port=port[0], log=records)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(5)
        if process.stderr is not None:
            process.stderr.close()


def fuzz(target: FuzzTarget, tally: Tally, *, examples: int) -> None:
    """Run ``examples`` connections of generated frames against ``target``."""
    tokens = TokenAuthority(AuthSettings(secret=SECRET))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(connection_frames)
    def one_connection(sent: list[bytes]) -> None:
        player = f"p_fuzz_{tally.connections}"
        token = tokens.mint_access(player_id=player, name=player)
        trio.run(exchange, target.ws_port, token, sent, tally)

    one_connection()


def server_errors(target: FuzzTarget) -> list[dict[str, Any]]:
    """The ERROR (or worse) records of the server's log."""
    return [r for r in target.log if r.get("level") in ("ERROR", "CRITICAL", "error", "critical")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100_000, help="frames to send, at least")
    args = parser.parse_args()
    tally = Tally()
    with tempfile.TemporaryDirectory() as data_dir, fuzz_server(Path(data_dir)) as target:
        server = psutil.Process(target.pid)
        rss_before = server.memory_info().rss
        started = time.monotonic()
        while tally.frames_sent < args.frames:
            fuzz(target, tally, examples=500)
        duration = time.monotonic() - started
        rss_after = server.memory_info().rss
        errors = server_errors(target)
    report = {
        "frames_sent": tally.frames_sent,
        "connections": tally.connections,
        "server_frames": tally.server_frames,
        "closed_by_server_or_echo": tally.closed,
        "close_codes": dict(sorted(tally.close_codes.items())),
        "problems": len(tally.problems),
        "first_problems": tally.problems[:5],
        "server_log_errors": len(errors),
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "duration_s": round(duration, 1),
    }
    print(json.dumps(report, indent=2))
    return 0 if not tally.problems and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
