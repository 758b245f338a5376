"""Repeats of a rid through the real door, against the request log's shortcuts (issue 13):
a client's next rid (its last rid's text, a greater number) is known new without a
search, so the repeats that must still be found are the older rids of the same text, the
newest one, and rids that only look like them (a leading zero is another rid)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from tests.integration.harness import guest_login, make_settings, running_server
from tests.integration.raw_ws import RawClient, greeted, text

pytestmark = pytest.mark.integration


async def answers_by_rid(client: RawClient, count: int) -> dict[str, dict[str, Any]]:
    """The next ``count`` answers (frames without a ``seq``), by their rid."""
    found: dict[str, dict[str, Any]] = {}
    while len(found) < count:
        frame = await client.next_frame()
        assert frame is not None, f"closed after {found}"
        message = frame.json()
        if "seq" not in message:
            assert message["rid"] not in found, f"two answers to {message['rid']}"
            found[message["rid"]] = message
    return found


def place(rid: str, x: int) -> bytes:
    return text({"type": "place", "rid": rid, "x": x, "y": 9, "kind": "stone"})


async def test_older_newest_and_look_alike_rids_are_told_apart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, durable=False)
    with trio.fail_after(30):
        async with running_server(settings) as server:
            token, _ = await guest_login(server, "ada")
            async with await greeted(server.addresses.ws_port, token) as client:
                await client.send(
                    text({"type": "join", "rid": "j", "mode": "arena", "region": "eu"})
                )
                await answers_by_rid(client, 1)
                first: dict[str, dict[str, Any]] = {}
                for n in range(1, 6):  # one a tick apart or not: outcomes do not matter
                    await client.send(place(f"b{n}", 4 + n))
                    first |= await answers_by_rid(client, 1)
                # An older rid, the newest, a look-alike of an older one, a fresh one, and a
                # huge number of the same text, all in one write.
                await client.send(
                    place("b2", 40)
                    + place("b5", 41)
                    + place("b02", 42)
                    + place("b6", 43)
                    + place("b" + "9" * 30, 44)
                )
                later = await answers_by_rid(client, 5)
                # Then the older ones again, after the greatest number was seen.
                await client.send(place("b3", 45) + place("b6", 46))
                last = await answers_by_rid(client, 2)
    assert later["b2"] == first["b2"]
    assert later["b5"] == first["b5"]
    assert last["b3"] == first["b3"]
    assert last["b6"] == later["b6"]
    for fresh in ("b02", "b6", "b" + "9" * 30):
        # Applied as new placements: their own answers, at their own cells.
        assert later[fresh]["type"] == "place_result", later[fresh]
        assert later[fresh] not in first.values()
