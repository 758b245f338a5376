"""A client of protocol version 1 plays an arena of version 2 over a real socket.

Version 2 added captures and rounds; version 1 stays supported for its support window
(docs/protocol.md, "Versioning"). A v1 client gets every frame in the v1 shapes (checked
against the frozen v1 schemas), sees a capture as a tile drawn over another, and at a
round's end gets a snapshot of the empty board instead of ``round_ended``. Switching
version on a resume starts from a snapshot in the new version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from trio_websocket import WebSocketConnection

from tests.integration.harness import bot, make_settings, player, receive, running_server, send
from tests.protocol.protocol_support import schema_errors
from tests.world.play import join
from tilemud.config import WorldSettings
from tilemud.protocol import SCHEMA_DIR, Place, PlaceResult, RoundEnded

pytestmark = pytest.mark.integration

ROUND_TICKS = 40  # 4 s at 10 Hz
V1_SCHEMAS = {
    path.stem: json.loads(path.read_text())
    for path in (SCHEMA_DIR / "v1" / "server").glob("*.json")
}


class V1Client:
    """A raw v1 client: checks every frame against the v1 schemas, keeps the tiles it saw."""

    def __init__(self, connection: WebSocketConnection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []
        self.tiles: dict[tuple[int, int], str] = {}

    async def next(self) -> dict[str, Any]:
        frame = await receive(self.connection)
        assert frame["type"] in V1_SCHEMAS, frame
        assert schema_errors(V1_SCHEMAS[frame["type"]], frame) == [], frame
        self.frames.append(frame)
        if frame["type"] == "snapshot":
            self.tiles = {}
            board, cell = frame["board"], 0
            runs = board["runs"]
            for length, code in zip(runs[::2], runs[1::2], strict=True):
                for i in range(cell, cell + length) if code else ():
                    owner = board["palette"][code - 1][0]
                    self.tiles[(i % board["width"], i // board["width"])] = owner
                cell += length
        elif frame["type"] == "tick":
            self.tiles.update(((x, y), owner) for x, y, owner, _ in frame["placed"])
        return frame

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        await send(self.connection, frame)
        while True:
            answer = await self.next()
            if answer.get("rid") == frame["rid"]:
                return answer

    async def until(self, frame_type: str) -> dict[str, Any]:
        while (frame := await self.next())["type"] != frame_type:
            pass
        return frame


async def test_a_v1_client_plays_captures_and_rounds_in_v1_shapes(tmp_path: Path) -> None:
    settings = attrs.evolve(
        make_settings(tmp_path), world=WorldSettings(arena_round_ticks=ROUND_TICKS)
    )
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            player(server, "ann", version=1) as (connection, welcome),
            bot(server, "p_bob") as bob,
        ):
            assert welcome["v"] == 1
            ann = V1Client(connection)
            joined = await ann.request(
                {"type": "join", "rid": "j1", "mode": "arena", "region": "eu"}
            )
            assert joined["type"] == "joined"
            assert not {"captures", "capture_margin", "round_ticks"} & set(joined["rules"])
            assert (await join(bob)).arena_id == joined["arena_id"]
            # A whole round ahead: start after round 1 ended (ann hears it as a snapshot).
            await bob.receive_until(lambda c: bool(c.view.rounds))
            await ann.until("snapshot")
            assert ann.tiles == {}

            answer = await bob.request(Place(rid=bob.next_rid(), x=5, y=5, kind="stone"))
            assert isinstance(answer, PlaceResult)
            assert answer.outcome == "accepted"
            placed = await ann.request(
                {"type": "place", "rid": "p1", "x": 5, "y": 6, "kind": "stone"}
            )
            assert placed["outcome"] == "accepted"
            while ann.tiles.get((5, 5)) != "p_bob" or (5, 6) not in ann.tiles:
                await ann.until("tick")
            with trio.move_on_after(0.5):  # the cooldown
                await ann.until("never")
            taken = await ann.request(
                {"type": "place", "rid": "p2", "x": 5, "y": 5, "kind": "stone"}
            )
            # Captured, said in v1: accepted, without the v2 `captured` field.
            assert taken["outcome"] == "accepted"
            assert "captured" not in taken
            while ann.tiles.get((5, 5)) != welcome["player_id"]:
                await ann.until("tick")

            # The round ends: bob hears `round_ended`, ann a snapshot of the empty board.
            await bob.receive_until(lambda c: len(c.view.rounds) >= 2)
            assert isinstance(bob.view.rounds[-1], RoundEnded)
            reset = await ann.until("snapshot")
            assert reset["board"]["palette"] == []
            assert reset["scores"] == []
            assert reset["tick"] >= 2 * ROUND_TICKS
            assert all(f["type"] != "round_ended" for f in ann.frames)
            assert not any("captured" in f for f in ann.frames)
            seqs = [f["seq"] for f in ann.frames if "seq" in f]
            assert seqs == sorted(seqs)
            assert len(set(seqs)) == len(seqs)


async def test_a_resume_in_another_version_starts_from_a_snapshot(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with running_server(make_settings(tmp_path)) as server:
            async with player(server, "ann", version=1) as (connection, welcome):
                ann = V1Client(connection)
                await ann.request({"type": "join", "rid": "j1", "mode": "arena", "region": "eu"})
                await ann.request({"type": "place", "rid": "p1", "x": 3, "y": 3, "kind": "stone"})
                while (3, 3) not in ann.tiles:
                    await ann.until("tick")
            token = server.tokens.mint_access(player_id=welcome["player_id"], name="ann")
            async with player(
                server, token=token, version=2, resume_token=welcome["resume_token"]
            ) as (connection, again):
                assert (again["v"], again["resumed"]) == (2, True)
                first = await receive(connection)
                # Frames said in v1 are not resent to a v2 client: a snapshot comes first.
                assert first["type"] == "snapshot", first
                assert first["board"]["palette"] == [[welcome["player_id"], "stone"]]
