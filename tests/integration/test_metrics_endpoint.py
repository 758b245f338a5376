"""``GET /metrics`` of a real server after two players joined and placed, over real sockets."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.integration.harness import bot, make_settings, running_server
from tests.world.play import join, place
from tilemud.metrics import CONTENT_TYPE
from tilemud.protocol import PlaceResult

pytestmark = pytest.mark.integration


def samples(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def total(found: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        sample.value
        for sample in found
        if sample.name == name and labels.items() <= sample.labels.items()
    )


async def test_metrics_move_when_two_players_join_and_place(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with (
            running_server(make_settings(tmp_path)) as server,
            bot(server, "p_ada") as ada,
            bot(server, "p_bob") as bob,
        ):
            assert (await join(ada)).arena_id == (await join(bob)).arena_id
            assert isinstance(await place(ada, 2, 2), PlaceResult)
            assert isinstance(await place(bob, 30, 30), PlaceResult)
            async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
                response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    found = samples(response.text)
    assert total(found, "tilemud_players_connected") == 2
    assert total(found, "tilemud_sessions") == 2
    assert total(found, "tilemud_arenas", mode="arena") == 1
    assert total(found, "tilemud_arenas", mode="battle") == 0
    assert total(found, "tilemud_tick_duration_seconds_count", mode="arena") > 0
    assert total(found, "tilemud_frames_sent_total") > 0
    assert total(found, "tilemud_actions_total", outcome="accepted") >= 2
    assert total(found, "tilemud_actions_total", action="join", outcome="accepted") == 2
    assert total(found, "tilemud_actions_total", action="place", outcome="accepted") == 2
    assert total(found, "tilemud_handshake_duration_seconds_count") == 2
    assert total(found, "tilemud_frames_dropped_total") == 0
    assert total(found, "process_resident_memory_bytes") > 0
    assert total(found, "process_cpu_seconds_total") > 0
