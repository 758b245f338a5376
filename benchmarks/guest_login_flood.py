"""Flood ``POST /v1/auth/guest`` from one address and count what the server lets through.

Runs a fresh ``tilemud serve`` (benchmarks/local_server.py) twice, without the per-address
limit (``limits.guest_logins = 0``) and with the default one, and floods each for a fixed
time from loopback with a few concurrent keep-alive clients. Prints, per run, requests per
second answered, tokens minted per second, refusals (429) and other answers. Bounded: it
talks only to 127.0.0.1, stops after ``--seconds`` per run (and ``--max-requests``), and
the servers are stopped on the way out.

    .venv/bin/python -m benchmarks.guest_login_flood --seconds 5 --clients 8
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import attrs
import httpx
import trio

from benchmarks.local_server import local_server


@attrs.frozen(kw_only=True)
class FloodResult:
    """What one flood got back."""

    label: str
    seconds: float
    statuses: dict[int, int]

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def line(self) -> str:
        tokens = self.statuses.get(200, 0)
        refused = self.statuses.get(429, 0)
        dropped = self.statuses.get(0, 0)
        other = self.requests - tokens - refused - dropped
        return (
            f"{self.label}: {self.requests / self.seconds:.0f} requests/s answered, "
            f"{tokens / self.seconds:.1f} tokens/s ({tokens} tokens, {refused} refused "
            f"with 429, {other} other, {dropped} connections dropped) in {self.seconds:.1f} s"
        )


async def flood(
    http_url: str, *, label: str, seconds: float, clients: int, max_requests: int
) -> FloodResult:
    """Send guest logins from ``clients`` keep-alive connections for ``seconds``."""
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=http_url, limits=limits, timeout=10.0) as client:

        async def one_client() -> None:
            while sum(statuses.values()) < max_requests:
                try:
                    response = await client.post("/v1/auth/guest", json={"name": "flood"})
                except httpx.TransportError:
                    # A keep-alive connection the server closed as it was reused (Hypercorn
                    # closes one after keep_alive_max_requests): counted as 0, not fatal.
                    statuses[0] += 1
                else:
                    statuses[response.status_code] += 1

        start = trio.current_time()
        with trio.move_on_after(seconds):
            async with trio.open_nursery() as nursery:
                for _ in range(clients):
                    nursery.start_soon(one_client)
        elapsed = trio.current_time() - start
    return FloodResult(label=label, seconds=elapsed, statuses=dict(statuses))


async def run(seconds: float, clients: int, max_requests: int) -> list[FloodResult]:
    results = []
    runs = [("no limit (guest_logins = 0)", "0"), ("default limit (20 per 60 s)", "20")]
    for label, limit in runs:
        with tempfile.TemporaryDirectory(prefix="tilemud-flood-") as data_dir:
            env = {"TILEMUD_LIMITS_GUEST_LOGINS": limit, "TILEMUD_DATABASE_DURABLE": "false"}
            async with local_server(Path(data_dir), env=env) as server:
                result = await flood(
                    server.http_url,
                    label=label,
                    seconds=seconds,
                    clients=clients,
                    max_requests=max_requests,
                )
        print(result.line(), flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run both floods, print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="flood time per run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--max-requests", type=int, default=100_000, help="cap per run")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 60 or not 1 <= args.clients <= 64:
        parser.error("--seconds must be in (0, 60] and --clients in [1, 64]")
    trio.run(run, args.seconds, args.clients, args.max_requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
