"""Elasticity on a real ``tilemud serve``: real CPU, real sockets, observed through /metrics.

The thresholds are set low and the windows short so that a few seconds tell: an epic arena
with its 100 NPCs and three players joining and leaving it as fast as the server answers
keep the process over ``cpu_over`` (3 %), so NPC capacity is shed (one step: all of it);
once the players are gone and every NPC shed, the process idles under ``cpu_under``
(1.5 %: an epic arena's empty ticks) and capacity comes back. The thresholds are that low
because the machine running the tests may be saturated (two cores, tests in parallel):
the server then gets a small share of a core however busy it is. Nothing is read from inside the
server: only ``GET /metrics``. Real clock (a real process), generous absolute limits.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.processes import guest_login, open_client, running_process
from tests.world.play import join
from tilemud.player_client import PlayerClient
from tilemud.protocol import ErrorFrame, Leave

pytestmark = pytest.mark.integration

ENV = {
    "TILEMUD_NPCS_ENABLED": "true",
    "TILEMUD_NPCS_WINDOW": "2.0",
    "TILEMUD_NPCS_CPU_OVER": "0.03",
    "TILEMUD_NPCS_CPU_UNDER": "0.015",
    "TILEMUD_NPCS_MEMORY_OVER": "0.99",
    "TILEMUD_NPCS_MEMORY_UNDER": "0.98",
    "TILEMUD_NPCS_WINDOWS_OVER": "3",
    "TILEMUD_NPCS_WINDOWS_UNDER": "3",
    "TILEMUD_NPCS_STEP_PERCENT": "100",
    "TILEMUD_DATABASE_DURABLE": "false",
    # The load is a player joining and leaving as fast as the server answers.
    "TILEMUD_LIMITS_ACTIONS": "100000",
}


async def scrape(http: httpx.AsyncClient) -> dict[str, float]:
    response = await http.get("/metrics")
    response.raise_for_status()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name.startswith(("tilemud_npc", "tilemud_elasticity"))
    }


async def test_a_loaded_server_sheds_npcs_then_restores_them(tmp_path: Path) -> None:
    seen: list[dict[str, float]] = []
    with trio.fail_after(240):
        async with (
            running_process(tmp_path, env=ENV) as server,
            httpx.AsyncClient(base_url=server.http_url) as http,
        ):
            async with trio.open_nursery() as nursery:

                async def load(name: str, *, task_status: trio.TaskStatus[None]) -> None:
                    login = await guest_login(server, name)
                    async with open_client(server) as connection:
                        client = PlayerClient(connection)
                        await client.hello(login["token"])
                        await join(client)  # the epic arena: 100 NPCs play in it
                        task_status.started()
                        # Each join builds a snapshot of a board the NPCs change every tick.
                        while True:
                            left = await client.request(Leave(rid=client.next_rid()))
                            if isinstance(left, ErrorFrame) and left.retry_after is not None:
                                # Over the action limit (60 per 10 s): still seated.
                                await trio.sleep(left.retry_after)
                                continue
                            await join(client)

                for name in ("ada", "bob", "cid"):
                    await nursery.start(load, name)
                while True:
                    metrics = await scrape(http)
                    seen.append(metrics)
                    # The shed is counted when it is decided; each arena applies the new
                    # cap at its next tick, so the capacity gauge follows a moment later.
                    shed_now = metrics.get("tilemud_npc_sheds_total", 0) >= 1
                    if shed_now and metrics.get("tilemud_npc_capacity") == 0:
                        break
                    await trio.sleep(0.25)
                nursery.cancel_scope.cancel()
            shed = seen[-1]
            assert shed["tilemud_npc_restores_total"] == 0
            assert shed["tilemud_npc_shed_steps"] >= 1
            assert shed["tilemud_npc_capacity"] == 0
            assert max(m["tilemud_elasticity_cpu_share"] for m in seen) > 0.03
            # The players left and every NPC was shed, the process idles, steps come back.
            while True:
                metrics = await scrape(http)
                seen.append(metrics)
                if metrics["tilemud_npc_restores_total"] >= 1:
                    break
                await trio.sleep(1.0)  # a scrape costs the idle server CPU too
            assert metrics["tilemud_npc_sheds_total"] >= 1
            assert min(m["tilemud_elasticity_cpu_share"] for m in seen[len(seen) // 2 :]) < 0.015
