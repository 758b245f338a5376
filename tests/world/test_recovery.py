"""A node that stops and starts again brings its live arenas back from storage.

Through the real gateway (in-memory streams) and the embedded SQLite database, on the real
clock: the storage actor works in threads, and under the autojump clock virtual time races
ahead while one runs. Each test has an absolute deadline.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import trio
from sqlalchemy.engine import Connection

from tests.integration.harness import make_settings, running_server
from tests.storage.actor_support import read
from tests.world.memory import memory_player
from tests.world.play import describe, join, place
from tilemud.actors.arena import ArenaListing, ListArenas
from tilemud.game import board_checksum
from tilemud.net.http import parse_replay_document
from tilemud.protocol import PlaceResult
from tilemud.server import TilemudServer
from tilemud.storage import load_arena, load_player, load_replay, tables


async def listing(server: TilemudServer) -> dict[str, ArenaListing]:
    found: tuple[ArenaListing, ...] = await server.directory.ref.ask(
        lambda reply: ListArenas(reply=reply)
    )
    return {entry.arena_id: entry for entry in found}


async def test_a_restarted_node_brings_its_arenas_back_with_the_same_board(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    accepted: list[tuple[int, int]] = []
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            memory_player(server, "p_a") as ada,
            memory_player(server, "p_b") as bob,
        ):
            arena_id = (await join(ada.client)).arena_id
            assert (await join(bob.client)).arena_id == arena_id
            for step in range(4):
                for client, (x, y) in (
                    (ada.client, (10 + step, 10)),
                    (bob.client, (10 + step, 20)),
                ):
                    answer = await place(client, x, y)
                    assert isinstance(answer, PlaceResult), answer
                    if answer.outcome == "accepted":
                        accepted.append((x, y))
            before = await describe(server, "p_a")
        assert len(accepted) >= 2
        url = f"sqlite:///{tmp_path / 'tilemud.sqlite3'}"
        players = await read(url, lambda c: [load_player(c, "p_a"), load_player(c, "p_b")])
        assert [p.name if p else None for p in players] == ["p_a", "p_b"]

        async with running_server(settings) as again:
            arenas = await listing(again)
            assert set(arenas) == {arena_id}
            assert arenas[arena_id].players == 0  # sessions did not survive; seats neither
            async with memory_player(again, "p_a") as ada:
                assert (await join(ada.client)).arena_id == arena_id
                after = await describe(again, "p_a")
                assert board_checksum(after.board) == board_checksum(before.board)
                assert after.tick >= before.tick
                assert after.seed == before.seed
                assert after.rules == before.rules
                # The player's own view, built from the snapshot it was sent, agrees.
                await ada.client.receive_until(lambda c: c.view.matches(after.board))
                assert all(cell in ada.client.view.tiles for cell in accepted)
                # And play goes on from there.
                answer = await place(ada.client, 14, 10)
                assert isinstance(answer, PlaceResult)


async def test_a_stopped_node_leaves_its_battles_live_with_their_replay(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    with trio.fail_after(60):
        async with running_server(settings) as server, memory_player(server, "p_a") as ada:
            battle = (await join(ada.client, mode="battle")).arena_id
            answer = await place(ada.client, 3, 3)
            assert isinstance(answer, PlaceResult)
            assert answer.outcome == "accepted"
        url = f"sqlite:///{tmp_path / 'tilemud.sqlite3'}"
        record = await read(url, lambda c: load_arena(c, battle))
        assert record.state == "live"  # stopped, not ended: it would come back
        replay = await read(url, lambda c: load_replay(c, battle))
        assert [p.x for t in replay.ticks for p in t.placements] == [3]
        assert replay.ticks[-1].checksum is not None


async def test_a_participant_gets_the_replay_over_http_and_it_re_simulates(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            memory_player(server, "p_a") as ada,
            memory_player(server, "p_b") as bob,
        ):
            arena_id = (await join(ada.client)).arena_id
            await join(bob.client)
            for step in range(3):
                assert isinstance(await place(ada.client, 30 + step, 30), PlaceResult)
                assert isinstance(await place(bob.client, 30 + step, 40), PlaceResult)
            tokens = server.tokens
            async with httpx.AsyncClient(base_url=server.addresses.http_url) as http:
                # The epic arena plays in rounds; each round is a replay (docs/game.md).
                replay_id = f"{arena_id}.1"

                async def get(token: str, replay: str = replay_id) -> httpx.Response:
                    return await http.get(
                        f"/v1/replays/{replay}", headers={"Authorization": f"Bearer {token}"}
                    )

                mine = await get(tokens.mint_access(player_id="p_a", name="p_a"))
                stranger = await get(tokens.mint_access(player_id="p_z", name="p_z"))
                admin = await get(tokens.mint_access(player_id="op", name="op", roles=["admin"]))
                anonymous = await http.get(f"/v1/replays/{replay_id}")
                whole = await get(tokens.mint_access(player_id="p_a", name="p_a"), arena_id)
            board = (await describe(server, "p_a")).board
    assert (mine.status_code, admin.status_code) == (200, 200)
    assert (stranger.status_code, anonymous.status_code) == (403, 401)
    assert whole.status_code == 404  # the arena's own id: its rounds are its replays
    document = parse_replay_document(mine.json())
    assert set(document.participants) == {"p_a", "p_b"}
    check = document.verify()
    assert check.ok
    assert check.final is not None
    # Every acknowledged placement is in it: the re-simulated board is the live one.
    assert board_checksum(check.final.board) == board_checksum(board)


async def test_an_arena_whose_log_does_not_rebuild_its_board_is_not_brought_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    with trio.fail_after(60):
        async with running_server(settings) as server, memory_player(server, "p_a") as ada:
            arena_id = (await join(ada.client)).arena_id
            assert isinstance(await place(ada.client, 7, 7), PlaceResult)
        url = f"sqlite:///{tmp_path / 'tilemud.sqlite3'}"
        await read(url, _forge_checksums)
        async with running_server(settings) as again:
            assert await listing(again) == {}
    assert any(
        r.levelname == "ERROR"
        and "not brought back" in r.getMessage()
        and arena_id in str(r.__dict__)
        for r in caplog.records
    )


def _forge_checksums(conn: Connection) -> None:
    """Alter every stored checksum, and drop the snapshots that would hide it."""
    conn.execute(sa.update(tables.tick_checksums).values(checksum="sha256:forged"))
    conn.execute(sa.delete(tables.board_snapshots))
