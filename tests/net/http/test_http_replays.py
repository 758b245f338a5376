"""``GET /v1/replays/{arena_id}`` through Quart's test client, with a real storage actor.

Testing policy: the storage actor runs on a SQLite file in ``tmp_path`` (or, for the
outage, a PostgreSQL URL on a closed loopback port); its work happens in worker threads,
so these tests use the real clock, each under an absolute ``trio.fail_after`` deadline.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
import trio
from quart.testing import QuartClient
from quart_trio import QuartTrio
from sqlalchemy.engine import Connection
from werkzeug.datastructures import Headers

from tests.game.strategies import small_rules
from tests.storage.actor_support import actor_for, running
from tilemud.auth import TokenAuthority
from tilemud.config import AuthSettings, Settings
from tilemud.game import ArenaState, Placement, TickOutcome, resolve_tick
from tilemud.net.http import ADMIN_ROLE, HealthReport, create_app, parse_replay_document
from tilemud.net.http._responses import retry_later_response
from tilemud.storage import (
    ParticipantRecord,
    PlacementRecord,
    StorageClient,
    TickChecksum,
    append_placements,
    migrate,
    record_participants,
    record_tick_checksums,
)

SECRET = "replay-tests-" + "k" * 40
DEADLINE = 30.0
RULES = small_rules(width=5, height=5, cooldown_ticks=2)
SEED = 2**64 - 11  # above 2**53: the document must carry it as a string
PLAYERS = ("p_ann", "p_bob")


class UpProbe:
    def health(self) -> HealthReport:
        return HealthReport(ok=True, details={})


def authority() -> TokenAuthority:
    return TokenAuthority(AuthSettings(secret=SECRET))


def make_app(storage: StorageClient | None) -> QuartTrio:
    auth = AuthSettings(secret=SECRET)
    return create_app(
        settings=Settings(auth=auth),
        tokens=authority(),
        health=UpProbe(),
        storage=None if storage is None else storage.arenas,
    )


def bearer(player_id: str, *roles: str, now: float | None = None) -> dict[str, str]:
    token = authority().mint_access(player_id=player_id, name="Someone", roles=roles, now=now)
    return {"Authorization": f"Bearer {token}"}


async def get(
    app: QuartTrio, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Headers, Any]:
    client = cast(QuartClient, app.test_client())
    response = await client.get(path, headers=headers or {})
    data = await response.get_data(as_text=False)
    assert response.mimetype == "application/json", data
    return response.status_code, response.headers, orjson.loads(data)


def assert_error(payload: Any, code: str) -> None:
    assert set(payload) == {"error"}
    assert payload["error"]["code"] == code
    assert isinstance(payload["error"]["message"], str)


def play(ticks: int) -> list[TickOutcome]:
    """A seeded random game of the two players and an NPC, with empty ticks in between."""
    rng = random.Random(5)
    state = ArenaState.start(RULES)
    outcomes = []
    for tick in range(1, ticks + 1):
        sent = [
            Placement(player_id=p, x=rng.randrange(5), y=rng.randrange(5), kind="stone")
            for p in (*PLAYERS, "npc_1")
            if rng.random() < 0.6
        ]
        state, outcome = resolve_tick(state, sent, tick=tick, seed=SEED, rules=RULES)
        outcomes.append(outcome)
    return outcomes


async def store_game(storage: StorageClient, arena_id: str, *, end: bool = True) -> int:
    """Store a game as the arena does; return how many checksums were stored."""
    await storage.arenas.create_arena(
        arena_id=arena_id, mode="battle", region="eu", rules=RULES, seed=SEED
    )
    outcomes = [o for o in play(12) if o.accepted]
    placements = [
        PlacementRecord.of(arena_id, o.tick, ordinal, p)
        for o in outcomes
        for ordinal, p in enumerate(o.accepted)
    ]
    checksums = [
        TickChecksum(arena_id=arena_id, tick=o.tick, checksum=o.checksum) for o in outcomes
    ]
    joined = dt.datetime.now(dt.UTC)
    participants = [
        ParticipantRecord(arena_id=arena_id, player_id=p, joined=joined) for p in PLAYERS
    ]

    def write(conn: Connection) -> None:
        record_participants(conn, participants)
        append_placements(conn, placements)
        record_tick_checksums(conn, checksums)

    await storage.transact(write)
    if end:
        await storage.arenas.end_arena(
            arena_id, {"tick": 12, "reason": "time", "scores": {}, "winners": []}
        )
    return len(checksums)


@asynccontextmanager
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[StorageClient]:
    url = f"sqlite:///{tmp_path}/replays.sqlite3"
    migrate.upgrade(url)
    async with running(actor_for(url)) as storage:
        yield storage


async def test_a_participant_gets_a_replay_that_re_simulates(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            stored = await store_game(storage, "a1")
            app = make_app(storage)
            status, headers, body = await get(app, "/v1/replays/a1", bearer("p_ann", "guest"))
            assert status == 200, body
            assert headers["Cache-Control"] == "private, max-age=3600, immutable"
            assert headers["Vary"] == "Authorization"
            assert body["seed"] == str(SEED)
            assert body["participants"] == list(PLAYERS)
            assert body["state"] == "ended"
            assert body["result"]["reason"] == "time"
            # What a client does with the body: read it, re-simulate it.
            document = parse_replay_document(body)
            assert document.seed == SEED
            assert document.rules == RULES
            check = document.verify()
            assert check.ok, check.divergence
            assert check.checksums == stored >= 5
            assert "npc_1" in body["players"]  # NPC placements are in the log too
            replay = await storage.arenas.load_replay("a1")
            assert document.ticks == replay.ticks


async def test_a_live_arena_gives_the_replay_so_far_uncached(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            await store_game(storage, "a1", end=False)
            status, headers, body = await get(make_app(storage), "/v1/replays/a1", bearer("p_bob"))
            assert status == 200, body
            assert headers["Cache-Control"] == "no-store"
            assert (body["state"], body["ended"], body["result"]) == ("live", None, None)
            assert parse_replay_document(body).verify().ok


async def test_an_admin_gets_any_replay(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            await store_game(storage, "a1")
            headers = bearer("p_moderator", "guest", ADMIN_ROLE)
            status, _, body = await get(make_app(storage), "/v1/replays/a1", headers)
            assert status == 200, body
            assert parse_replay_document(body).verify().ok


async def test_another_player_is_forbidden(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            await store_game(storage, "a1")
            # Placing tiles (an NPC) is not taking part; only a seat is.
            for player in ("p_mallory", "npc_1"):
                status, _, body = await get(make_app(storage), "/v1/replays/a1", bearer(player))
                assert status == 403
                assert_error(body, "forbidden")


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, "missing_token", id="none"),
        pytest.param({"Authorization": "Bearer"}, "missing_token", id="empty"),
        pytest.param({"Authorization": "Basic cDpx"}, "missing_token", id="basic"),
        pytest.param({"Authorization": "Bearer not.a.jwt"}, "invalid_token", id="garbage"),
        pytest.param(bearer("p_ann", now=time.time() - 10 * 86400), "token_expired", id="expired"),
    ],
)
async def test_without_a_good_token_it_is_401(
    tmp_path: Path, headers: dict[str, str], code: str
) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            await store_game(storage, "a1")
            status, answer_headers, body = await get(make_app(storage), "/v1/replays/a1", headers)
            assert status == 401
            assert_error(body, code)
            assert answer_headers["WWW-Authenticate"].startswith('Bearer realm="tilemud"')


async def test_a_token_of_another_server_is_401() -> None:
    other = TokenAuthority(AuthSettings(secret="another-server-" + "k" * 40))
    token = other.mint_access(player_id="p_ann", name="Ann")
    status, headers, body = await get(
        make_app(None), "/v1/replays/a1", {"Authorization": f"bearer {token}"}
    )
    assert status == 401
    assert_error(body, "invalid_token")
    assert headers["WWW-Authenticate"] == 'Bearer realm="tilemud", error="invalid_token"'


@pytest.mark.parametrize("arena_id", ["nope", "x" * 129])
async def test_an_unknown_arena_is_404(tmp_path: Path, arena_id: str) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            headers = bearer("p_root", ADMIN_ROLE)
            status, _, body = await get(make_app(storage), f"/v1/replays/{arena_id}", headers)
            assert status == 404
            assert_error(body, "not_found")


async def test_a_purged_replay_is_404(tmp_path: Path) -> None:
    with trio.fail_after(DEADLINE):
        async with sqlite_storage(tmp_path) as storage:
            await store_game(storage, "a1")
            purged = await storage.arenas.purge_replays(
                ended_before=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
            )
            assert purged == 1
            app = make_app(storage)
            for headers in (bearer("p_ann"), bearer("p_root", ADMIN_ROLE)):
                status, _, body = await get(app, "/v1/replays/a1", headers)
                assert status == 404
                assert_error(body, "not_found")


async def test_a_server_without_a_database_has_no_replays() -> None:
    status, _, body = await get(make_app(None), "/v1/replays/a1", bearer("p_ann"))
    assert status == 404
    assert_error(body, "replays_not_stored")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_database_outage_is_503_with_retry_after(caplog: pytest.LogCaptureFixture) -> None:
    port = closed_port()
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/tilemud"
    with trio.fail_after(DEADLINE):
        async with running(actor_for(url)) as storage:
            with caplog.at_level(logging.WARNING, logger="tilemud.http"):
                status, headers, body = await get(
                    make_app(storage), "/v1/replays/a1", bearer("p_ann")
                )
    assert status == 503
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "retry_after"}
    assert body["error"]["code"] == "unavailable"
    retry_after = body["error"]["retry_after"]
    assert isinstance(retry_after, int)
    assert retry_after >= 1
    assert headers["Retry-After"] == str(retry_after)
    # Where the database is goes to the operator's log, not to the client.
    assert str(port) not in body["error"]["message"]
    assert any(str(port) in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("retry_after", "seconds"), [(0.0, 1), (0.1, 1), (1.0, 1), (1.01, 2), (7.5, 8)]
)
async def test_retry_after_is_whole_seconds_rounded_up(retry_after: float, seconds: int) -> None:
    response = retry_later_response("unavailable", "later", retry_after=retry_after)
    body = orjson.loads(await response.get_data(as_text=False))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(seconds)
    assert body["error"]["retry_after"] == seconds
