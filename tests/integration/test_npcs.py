"""NPCs over real sockets: what a player sees of them, and shedding seen from outside."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import attrs
import httpx
import pytest
import trio

from tests.integration.harness import bot, make_settings, running_server
from tests.integration.test_arena_play import keep_reading
from tests.world.play import describe, join, place
from tilemud.config import NpcSettings, WorldSettings
from tilemud.game import is_npc
from tilemud.net.http import parse_replay_document
from tilemud.player_client import PlayerClient
from tilemud.protocol import PlaceResult, PlayerJoined, PlayerLeft

pytestmark = pytest.mark.integration

F = TypeVar("F")


async def frames_for(client: PlayerClient, seconds: float, kind: type[F]) -> list[F]:
    """The frames of ``kind`` the client reads (and acks) in ``seconds``."""
    found: list[F] = []
    with trio.move_on_after(seconds):
        while True:
            frame = await client.receive()
            if isinstance(frame, kind):
                found.append(frame)
            await client.ack()
    return found


async def test_a_player_sees_npcs_marked_playing_on_its_board_and_leaving_when_shed(
    tmp_path: Path,
) -> None:
    settings = attrs.evolve(make_settings(tmp_path), npcs=NpcSettings(step_percent=10))
    with trio.fail_after(60):
        async with running_server(settings) as server:
            async with bot(server, "p_ann") as ann:
                await join(ann)  # an epic arena: 100 NPCs by its rules
                view = ann.view
                assert len(view.npcs) == 100
                assert all(is_npc(n) and n in view.players for n in view.npcs)
                assert "p_ann" in view.players
                assert "p_ann" not in view.npcs
                answer = await place(ann, 5, 5)
                assert isinstance(answer, PlaceResult)
                assert answer.outcome == "accepted"
                await keep_reading(ann, 1.5)
                # Their tiles are on the player's board, their scores in its scores.
                npc_tiles = {cell for cell, (owner, _) in view.tiles.items() if is_npc(owner)}
                assert len(npc_tiles) >= 100
                assert {o for o, _ in view.tiles.values() if is_npc(o)} <= view.npcs
                assert sum(1 for p in view.scores if p in view.npcs) >= 90

                # One step shed (10 %): the ten newest NPCs leave, marked; the player stays.
                allowance = server.elasticity.allowance
                assert allowance.shed()
                left = await frames_for(ann, 1.0, PlayerLeft)
                assert [f.player_id for f in left] == [f"npc:{n}" for n in range(100, 90, -1)]
                assert all(f.npc for f in left)
                assert "p_ann" in view.players
                assert allowance.restore()
                joins = await frames_for(ann, 1.0, PlayerJoined)
                (fresh,) = joins
                assert fresh.npcs == tuple(f"npc:{n}" for n in range(101, 111))
                assert len([p for p in view.players if p in view.npcs]) == 100
                server_view = await describe(server, "p_ann")
                assert server_view.npcs == tuple(
                    [f"npc:{n}" for n in range(1, 91)] + [f"npc:{n}" for n in range(101, 111)]
                )
                # Every step shed: no NPC places any more and the board holds still, so
                # what the player built from frames must be the server's board exactly.
                while allowance.shed():
                    pass
                await keep_reading(ann, 1.0)
                assert view.npcs >= {f"npc:{n}" for n in range(1, 111)}
                assert not any(p in view.npcs for p in view.players)
                server_view = await describe(server, "p_ann")
                assert server_view.npcs == ()
                assert view.matches(server_view.board)
                assert view.scores == {p: s for p, s in server_view.scores.items() if s}


async def test_npc_placements_and_capacity_changes_are_in_the_replay_which_replays_bit_exact(
    tmp_path: Path,
) -> None:
    settings = attrs.evolve(
        make_settings(tmp_path),  # durable: the embedded SQLite database
        world=WorldSettings(arena_round_ticks=0, arena_npc_cap=10),
        npcs=NpcSettings(step_percent=50),
    )
    with trio.fail_after(60):
        async with running_server(settings) as server:
            async with bot(server, "p_ann") as ann:
                arena_id = (await join(ann)).arena_id
                await keep_reading(ann, 1.0)
                assert server.elasticity.allowance.shed()  # 10 -> 5 NPCs
                await keep_reading(ann, 1.0)
                await server.storage.client.flush()  # type: ignore[union-attr]
                token = server.tokens.mint_access(player_id="p_ann", name="Ann")
                async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
                    response = await http.get(
                        f"/v1/replays/{arena_id}", headers={"Authorization": f"Bearer {token}"}
                    )
                assert response.status_code == 200
                body = response.json()
    document = parse_replay_document(body)
    assert document.verify().ok
    placers = {p.player_id for tick in document.ticks for p in tick.placements}
    assert {f"npc:{n}" for n in range(1, 11)} <= placers
    ((tick, kind, detail),) = document.events
    assert (kind, dict(detail)) == ("npc_capacity", {"npc_cap": 5, "shed_steps": 1})
    # NPCs 6..10 placed nothing after the tick their capacity went.
    assert all(
        t.tick <= tick + 1
        for t in document.ticks
        for p in t.placements
        if p.player_id in {f"npc:{n}" for n in range(6, 11)}
    )
    # A document of a server before events is read as before.
    older = {k: v for k, v in body.items() if k != "events"}
    assert parse_replay_document(older).events == ()
