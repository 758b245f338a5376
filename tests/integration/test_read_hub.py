"""The read hub through the real door: a player's frames over TCP, answered by the hub
where they need no waiting, by the connection's task otherwise, always in order and with
the same answers as without a hub (``gateway.read_hub_pause`` negative)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from tests.integration.harness import guest_login, make_settings, running_server
from tests.integration.raw_ws import RawClient, greeted, text

pytestmark = pytest.mark.integration


async def answers(client: RawClient, count: int) -> list[dict[str, Any]]:
    """The next ``count`` frames that are not stream frames (ticks, snapshots)."""
    found: list[dict[str, Any]] = []
    while len(found) < count:
        frame = await client.next_frame()
        assert frame is not None, f"closed after {found}"
        message = frame.json()
        if "seq" not in message:
            found.append(message)
    return found


async def transcript(tmp_path: Path, read_hub_pause: float) -> tuple[list[Any], int]:
    """What a careless client gets: a join and placements in one write, a repeat, a
    place over the action limit, an ack from the future, garbage; and the hub's calls."""
    settings = make_settings(tmp_path, durable=False, read_hub_pause=read_hub_pause)
    with trio.fail_after(30):
        async with running_server(settings) as server:
            token, _ = await guest_login(server, "ada")
            async with await greeted(server.addresses.ws_port, token) as client:
                join = {"type": "join", "rid": "j", "mode": "arena", "region": "eu"}
                # The placements ride behind the join: answered after it, never refused
                # as "not in an arena".
                await client.send(
                    text(join)
                    + text({"type": "place", "rid": "p1", "x": 3, "y": 3, "kind": "stone"})
                    + text({"type": "place", "rid": "p2", "x": 4, "y": 3, "kind": "stone"})
                )
                first = await answers(client, 3)
                # Parked now: these are read by the hub (when there is one).
                await client.send(
                    text({"type": "place", "rid": "p1", "x": 3, "y": 3, "kind": "stone"})
                )
                repeat = await answers(client, 1)
                await client.send(text({"type": "ack", "seq": 10**9}))
                bad_ack = await answers(client, 1)
                await client.send(text('{"type": "place", "rid": "g", "x": -1}'))
                garbage = await answers(client, 1)
                burst = b"".join(
                    text({"type": "place", "rid": f"b{n}", "x": 5 + n, "y": 9, "kind": "stone"})
                    for n in range(70)
                )
                await client.send(burst)
                limited = await answers(client, 70)
            hub = server.gateway.hub
            calls = 0 if hub is None else hub.calls
    shown = [
        # (each server's arena has its own seed: outcomes may differ, answers may not)
        [(a["type"], a.get("rid"), a.get("code")) for a in first],
        first[1] == repeat[0],
        (bad_ack[0]["type"], bad_ack[0]["code"]),
        (garbage[0]["type"], garbage[0]["code"], garbage[0].get("rid")),
        sorted({(a["type"], a.get("code")) for a in limited}),
        sum(1 for a in limited if a.get("code") == "rate_limited"),
    ]
    return shown, calls


async def test_the_hub_answers_as_the_connections_task_does(tmp_path: Path) -> None:
    with_hub, calls = await transcript(tmp_path / "hub", 0.002)
    without, no_calls = await transcript(tmp_path / "alone", -1.0)
    assert with_hub == without
    assert calls > 0
    assert no_calls == 0
    assert with_hub[0] == [
        ("joined", "j", None),
        ("place_result", "p1", None),
        ("place_result", "p2", None),
    ]
    assert with_hub[1] is True  # a repeated rid gets its first answer again
    assert with_hub[2] == ("error", "invalid_ack")
    assert with_hub[3][0] == "error"
    # 60 actions per 10 s: the join and 72 placements; the last ones are refused with
    # retry_after, not disconnected.
    assert with_hub[4] == [("error", "rate_limited"), ("place_result", None)]
    assert with_hub[5] == 1 + 72 - 60
