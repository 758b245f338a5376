"""``POST /v1/admin/drain`` on a node alone (no Redis): a graceful stop that snapshots first.

The drain runs inside the server (not only under ``tilemud serve``): the arena is stopped
and stays live in storage with its board, the connection closes with 1001, and the tree
stops; a player's token may not ask. Policy of tests/integration/harness.py: loopback,
port 0, the real clock, an absolute bound.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from tests.integration.harness import bot, make_settings, read_until_closed, running_server
from tilemud.protocol import Join, Joined, Place, PlaceResult
from tilemud.server import TilemudServer

BOUND = 30


async def test_a_drain_over_http_stops_the_node_with_its_arena_live_in_storage(
    tmp_path: Path,
) -> None:
    with trio.fail_after(BOUND):
        async with running_server(make_settings(tmp_path)) as server:
            admin = server.tokens.mint_access(player_id="admin:ops", name="ops", roles=("admin",))
            player = server.tokens.mint_access(player_id="ann", name="ann")
            async with bot(server, "ann") as client:
                joined = await client.request(
                    Join(rid=client.next_rid(), mode="arena", region="eu")
                )
                assert isinstance(joined, Joined), joined
                placed = await client.request(Place(rid=client.next_rid(), x=2, y=2, kind="stone"))
                assert isinstance(placed, PlaceResult), placed
                assert placed.outcome == "accepted"
                async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
                    forbidden = await http.post(
                        "/v1/admin/drain", headers={"Authorization": f"Bearer {player}"}
                    )
                    assert forbidden.status_code == 403
                    assert not server.drain_requested.is_set()
                    began = await http.post(
                        "/v1/admin/drain", headers={"Authorization": f"Bearer {admin}"}
                    )
                    assert (began.status_code, began.json()["began"]) == (202, True)
                closed = await read_until_closed(client.websocket)
                assert closed.code == 1001
            await server.stopped.wait()
    # The next node on this data directory brings the arena back with its tile.
    with trio.fail_after(BOUND):
        async with running_server(make_settings(tmp_path)) as again:
            assert await live_tile(again, joined.arena_id) == ("ann", "stone")


async def live_tile(server: TilemudServer, arena_id: str) -> tuple[str, str]:
    async with bot(server, "ann") as client:
        joined = await client.request(Join(rid=client.next_rid(), mode="arena", region="eu"))
        assert isinstance(joined, Joined), joined
        assert joined.arena_id == arena_id
        await client.receive_until(lambda c: c.view.arena_id == arena_id)
        return client.view.tiles[(2, 2)]
