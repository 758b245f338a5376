"""Rounds and captures over real sockets and a real database.

An epic arena with 6-second rounds (``world.arena_round_ticks = 60``): real WebSocket
clients capture and play across rounds; every round ends on time with ``round_ended`` for
both; the rounds are listed over HTTP; each round's replay is read over HTTP and
re-simulates bit-exact; the arena's own id is no replay; another player may not read a
round's replay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio

from tests.integration.harness import bot, make_settings, running_server
from tests.world.play import join
from tilemud.config import WorldSettings
from tilemud.net.http import parse_replay_document
from tilemud.player_client import PlayerClient
from tilemud.protocol import Place, PlaceResult
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration

ROUND_TICKS = 60  # 6 s at 10 Hz


async def place(client: PlayerClient, x: int, y: int) -> PlaceResult:
    """Place a stone, then read frames for the cooldown (3 ticks)."""
    answer = await client.request(Place(rid=client.next_rid(), x=x, y=y, kind="stone"))
    assert isinstance(answer, PlaceResult), answer
    with trio.move_on_after(0.35):
        await client.receive_until(lambda _: False)
    return answer


async def http_get(server: TilemudServer, path: str, player_id: str) -> tuple[int, Any]:
    token = server.tokens.mint_access(player_id=player_id, name=player_id)
    async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
        response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


async def test_rounds_end_on_time_are_listed_and_each_replays_bit_exact(tmp_path: Path) -> None:
    settings = attrs.evolve(
        make_settings(tmp_path), world=WorldSettings(arena_round_ticks=ROUND_TICKS)
    )
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            bot(server, "p_ann") as ann,
            bot(server, "p_bob") as bob,
        ):
            arena_id = (await join(ann)).arena_id
            assert (await join(bob)).arena_id == arena_id
            # Wait for round 2 to start: the test then has a whole round ahead of it.
            await ann.receive_until(lambda c: bool(c.view.rounds))
            await bob.receive_until(lambda c: bool(c.view.rounds))
            # bob holds (5, 5); ann surrounds it from below and takes it.
            assert (await place(bob, 5, 5)).outcome == "accepted"
            for x in (4, 5, 6):
                assert (await place(ann, x, 6)).outcome == "accepted"
            taken = await place(ann, 5, 5)
            assert (taken.outcome, taken.captured) == ("accepted", "p_bob")
            # bob, left with nothing, starts anywhere free.
            assert (await place(bob, 20, 20)).outcome == "accepted"

            await ann.receive_until(lambda c: len(c.view.rounds) >= 2)
            await bob.receive_until(lambda c: len(c.view.rounds) >= 2)
            second = ann.view.rounds[1]
            assert second.round == 2
            assert second.tick == 2 * ROUND_TICKS
            assert dict(second.scores) == {"p_ann": 4, "p_bob": 1}
            assert second.winners == ("p_ann",)
            assert ann.view.tiles == {}
            assert [r.round for r in bob.view.rounds[:2]] == [1, 2]

            # Listed over HTTP once stored (the write-behind flushes within 0.2 s).
            while True:
                status, body = await http_get(server, f"/v1/arenas/{arena_id}/rounds", "p_cy")
                assert status == 200, body
                rounds = {r["round"]: r for r in body["rounds"]}
                if rounds.get(2, {}).get("state") == "ended":
                    break
                await trio.sleep(0.1)
            assert rounds[2]["replay_id"] == second.replay_id == f"{arena_id}.2"
            assert rounds[2]["winners"] == ["p_ann"]
            assert rounds[2]["scores"] == {"p_ann": 4, "p_bob": 1}
            assert (rounds[2]["first_tick"], rounds[2]["last_tick"]) == (61, 120)
            assert rounds[1]["state"] == "ended"
            assert rounds[1]["winners"] == []
            assert rounds[3]["state"] == "live"
            assert [r["round"] for r in body["rounds"]] == sorted(rounds, reverse=True)

            # Round 2's replay: its players may read it, and it re-simulates bit-exact.
            status, replay = await http_get(server, f"/v1/replays/{second.replay_id}", "p_bob")
            assert status == 200, replay
            document = parse_replay_document(replay)
            assert document.participants == ("p_ann", "p_bob")
            assert document.result is not None
            assert document.result["winners"] == ["p_ann"]
            check = document.verify()
            assert check.ok, check.divergence
            assert check.checksums == 6  # six ticks placed something
            assert dict(check.final.scores) == {"p_ann": 4, "p_bob": 1}

            status, body = await http_get(server, f"/v1/replays/{second.replay_id}", "p_cy")
            assert (status, body["error"]["code"]) == (403, "forbidden")
            status, body = await http_get(server, f"/v1/replays/{arena_id}", "p_ann")
            assert (status, body["error"]["code"]) == (404, "played_in_rounds")
            assert f"/v1/arenas/{arena_id}/rounds" in body["error"]["message"]
            status, body = await http_get(server, "/v1/arenas/a_nope/rounds", "p_ann")
            assert (status, body["error"]["code"]) == (404, "not_found")
