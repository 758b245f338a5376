"""CPU per client frame read through ``WebSocket.receive``: plain frames read by the
splitter (issue 13) against wsproto reading every byte (before).

::

    .venv/bin/python -m benchmarks.read_path --frames 20000 --runs 5

The frames are what players send in epic-300 (four ``place`` to one ``ack``), masked,
delivered two per read over a Trio memory stream (no sockets: this measures parsing, the
budget and the wire layer's bookkeeping, plus the memory stream's own cost, the same for
both). Runs alternate between the two ways; prints the median µs of CPU per frame
(``time.process_time``) of each and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time
from functools import partial

import trio
import trio.testing
from wsproto.connection import Connection, ConnectionType

from tilemud.wire import Limits, WebSocket

_LIMITS = Limits(
    max_message_bytes=65536, close_timeout=1.0, frame_rate=1e9, frame_burst=1_000_000_000
)


def client_text_frame(payload: bytes) -> bytes:
    """A final, masked text frame as a client sends it (a zero key: the bytes stay)."""
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + b"\0\0\0\0" + payload


def player_frames(count: int) -> list[bytes]:
    """``count`` frames shaped like epic-300's: ``place`` four times in five, else ``ack``."""
    frames = []
    for i in range(count):
        if i % 5:
            body = b'{"type":"place","rid":"r%d","x":%d,"y":%d,"kind":"stone"}' % (
                i,
                i % 256,
                i // 256 % 256,
            )
        else:
            body = b'{"type":"ack","seq":%d}' % i
        frames.append(client_text_frame(body))
    return frames


async def cpu_per_frame(frames: list[bytes], *, plain: bool) -> float:
    """µs of CPU per frame to receive ``frames``, two per read."""
    server, client = trio.testing.memory_stream_pair()
    websocket = WebSocket(server, Connection(ConnectionType.SERVER), _LIMITS)
    if not plain:
        websocket._splitter = None  # retired from the start: wsproto reads every byte
    reads = [b"".join(frames[i : i + 2]) for i in range(0, len(frames), 2)]

    async def feed() -> None:
        for data in reads:
            await client.send_all(data)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(feed)
        started = time.process_time()
        for _ in frames:
            await websocket.receive()
        return (time.process_time() - started) / len(frames) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    frames = player_frames(args.frames)
    results: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.runs):
        for plain in (False, True):
            results[plain].append(trio.run(partial(cpu_per_frame, frames, plain=plain)))
    before, after = statistics.median(results[False]), statistics.median(results[True])
    print(f"wsproto reads every frame:   {before:.1f} µs of CPU per frame")
    print(f"plain frames by the splitter: {after:.1f} µs of CPU per frame ({before / after:.2f}x)")


if __name__ == "__main__":
    main()
