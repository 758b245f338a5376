"""The database going away under a running server, and coming back.

A loopback TCP proxy sits between the server and this run's PostgreSQL database; the test
cuts it and restores it (the shared PostgreSQL is never stopped). Real sockets, the real
clock, one absolute deadline.

While the database is away: play goes on (placements are resolved and published), their
acknowledgements wait for the commit, a join that needs a new arena and a replay request
answer ``unavailable`` with a ``retry_after``, and the buffered rows are counted. When it
is back: the buffer drains, every held acknowledgement arrives, and every acknowledged
placement is stored.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import trio

from tests.integration.harness import bot, make_settings, running_server
from tests.storage.actor_support import read, wait_until
from tests.storage.conftest import truncate_all
from tests.storage.proxy import TcpProxy, database_through
from tilemud.game import Mode
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Join, Joined, Place, PlaceResult
from tilemud.server import TilemudServer
from tilemud.storage import load_placements

pytestmark = pytest.mark.integration


async def join(client: PlayerClient, mode: Mode = "arena") -> Joined | ErrorFrame:
    answer = await client.request(Join(rid=client.next_rid(), mode=mode, region="eu"))
    assert isinstance(answer, Joined | ErrorFrame), answer
    return answer


async def test_play_goes_on_through_a_database_outage_and_nothing_acknowledged_is_lost(
    tmp_path: Path, postgres_url: str
) -> None:
    truncate_all(postgres_url)
    target = sa.make_url(postgres_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(proxy.run)
            settings = database_through(make_settings(tmp_path), port, postgres_url)
            async with running_server(settings) as server, bot(server, "p_ada") as ada:
                joined = await join(ada)
                assert isinstance(joined, Joined)
                arena_id = joined.arena_id
                first = await ada.request(Place(rid="before", x=5, y=5, kind="stone"))
                assert isinstance(first, PlaceResult)
                assert first.outcome == "accepted"

                proxy.cut()
                await trio.sleep(0.5)  # past the placement cooldown (3 ticks)
                # Play goes on: the placement is resolved and published at once...
                await ada.send(Place(rid="during", x=6, y=5, kind="stone"))
                await ada.receive_until(lambda c: (6, 5) in c.view.tiles)
                # ...but not acknowledged while it is not stored.
                assert "during" not in ada.answers
                # What needs the database now answers unavailable, with a retry_after.
                refused = await join_elsewhere(server)
                assert refused.code == "unavailable"
                assert refused.retry_after is not None
                token = server.tokens.mint_access(player_id="p_ada", name="p_ada")
                async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
                    replay = await http.get(
                        f"/v1/replays/{arena_id}", headers={"Authorization": f"Bearer {token}"}
                    )
                    assert replay.status_code == 503
                    assert replay.json()["error"]["code"] == "unavailable"
                    assert replay.json()["error"]["retry_after"] > 0
                    metrics = (await http.get("/metrics")).text
                assert _metric(metrics, "tilemud_storage_backlog_rows") > 0
                assert server.storage is not None
                assert server.storage.stats().failures > 0

                await proxy.restore()
                await ada.receive_until(lambda c: "during" in c.answers)
                [answer] = ada.answers["during"]
                assert isinstance(answer, PlaceResult)
                assert answer.outcome == "accepted"
                storage = server.storage
                await wait_until(lambda: storage.stats().backlog == 0)
            nursery.cancel_scope.cancel()
    # The epic arena plays in rounds: its first round's log is under "<arena_id>.1".
    logged = await read(postgres_url, lambda c: load_placements(c, f"{arena_id}.1"))
    assert {(p.x, p.y) for p in logged} == {(5, 5), (6, 5)}


async def join_elsewhere(server: TilemudServer) -> ErrorFrame:
    """A player who needs a new arena (a battle: none runs yet) while the database is away."""
    async with bot(server, "p_bob") as bob:
        answer = await join(bob, mode="battle")
    assert isinstance(answer, ErrorFrame), answer
    return answer


def _metric(exposition: str, name: str) -> float:
    for line in exposition.splitlines():
        if line.startswith((name + " ", name + "{")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exported")
