"""What an idle player's connection holds stays small (memory per player, issue 13).

Real sockets: the server runs in this process, its idle players in a child process, and
tracemalloc counts what the server allocated for them (benchmarks/connection_memory.py).
On 2026-12-05 an idle connection held 9.8 KB here (18.4 KB before issue 13's second pass):
the bound fails when a task, a nursery, a cancel scope, wsproto's state or a held buffer
per connection comes back.
"""

from __future__ import annotations

from benchmarks.connection_memory import measure

#: Python bytes one idle connection may hold (its session, socket, task and wire state).
BOUND = 11_000


async def test_an_idle_connection_holds_less_than_the_bound() -> None:
    # One frame per allocation (grouping by caller is slower), and a generous limit: on a
    # machine busy with other suites 250 connections under tracemalloc took minutes.
    result = await measure(200, warm=50, top=10, within=600)
    where = "\n".join(f"{site.bytes_per_connection:8.0f} B  {site.where}" for site in result.sites)
    assert result.bytes_per_connection < BOUND, f"per connection:\n{where}"
    # Not a leak of the clients' side: they are in another process.
    assert result.blocks_per_connection < 120
