"""``GET /v1/arenas/{arena_id}/rounds`` on the app: tokens, no database, a stored arena's
rounds (the full flow over real sockets is tests/integration/test_rounds.py)."""

from __future__ import annotations

from pathlib import Path

import trio

from tests.net.http.test_http_replays import (
    DEADLINE,
    assert_error,
    bearer,
    get,
    make_app,
    sqlite_storage,
)
from tilemud.game import ARENA_RULES, RoundResult


async def test_without_a_token_it_is_401() -> None:
    status, headers, body = await get(make_app(None), "/v1/arenas/a1/rounds")
    assert status == 401
    assert_error(body, "missing_token")
    assert headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_server_without_a_database_has_no_rounds() -> None:
    status, _, body = await get(make_app(None), "/v1/arenas/a1/rounds", bearer("p_ann"))
    assert status == 404
    assert_error(body, "replays_not_stored")


async def test_an_arena_s_rounds_latest_first(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            arenas = storage.arenas
            await arenas.create_arena(
                arena_id="a1", mode="arena", region="eu", rules=ARENA_RULES, seed=3
            )
            first = RoundResult(
                round=1, first_tick=1, last_tick=3000, scores={"p_a": 9}, winners=("p_a",)
            )
            for number in (1, 2):
                arenas.record_round_start(
                    arena_id="a1",
                    round_id=f"a1.{number}",
                    round_number=number,
                    first_tick=1 + (number - 1) * 3000,
                )
            arenas.record_round_end("a1.1", first.to_dict())
            await arenas.flush()
            app = make_app(storage)
            status, headers, body = await get(app, "/v1/arenas/a1/rounds", bearer("p_zed"))
            assert status == 200, body
            assert headers["Cache-Control"] == "no-store"
            assert body["arena_id"] == "a1"
            latest, earlier = body["rounds"]
            assert (latest["round"], latest["replay_id"], latest["state"]) == (2, "a1.2", "live")
            assert (latest["first_tick"], latest["last_tick"], latest["ended_at"]) == (
                3001,
                None,
                None,
            )
            assert earlier["state"] == "ended"
            assert (earlier["winners"], earlier["scores"]) == (["p_a"], {"p_a": 9})
            assert (earlier["first_tick"], earlier["last_tick"]) == (1, 3000)
            assert earlier["replay_purged"] is False
            # The arena itself lists no rounds of its rounds, and a battle has none.
            status, _, body = await get(app, "/v1/arenas/a1.1/rounds", bearer("p_zed"))
            assert status == 404
            assert_error(body, "not_found")
