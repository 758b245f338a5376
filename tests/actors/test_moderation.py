"""The moderation actor on Trio time: timed sanctions end at their instant (autojump)."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
import trio

from tilemud.actors.moderation import (
    BanAdmission,
    Moderation,
    ModerationClient,
    ModerationRefused,
    Order,
)
from tilemud.supervisors import ChildContext


async def start(nursery: trio.Nursery, moderation: Moderation) -> ModerationClient:
    async def run(task_status: trio.TaskStatus[ModerationClient]) -> None:
        await moderation.run(ChildContext("moderation", task_status=task_status))

    client: ModerationClient = await nursery.start(run)
    return client


def order(action: str, duration: float | None = None, player_id: str = "p_1") -> Order:
    return Order(
        action=action,  # type: ignore[arg-type]
        player_id=player_id,
        actor="admin:t",
        reason="because",
        duration=duration,
    )


async def test_timed_mute_and_ban_end_on_trio_time(autojump_clock: object) -> None:
    closed: list[tuple[str, int]] = []
    farewells: list[dict[str, object]] = []

    def disconnect(player_id: str, code: int, reason: str, farewell: str | None) -> bool:
        closed.append((player_id, code))
        assert farewell is not None
        farewells.append(orjson.loads(farewell))
        return True

    moderation = Moderation(
        storage=None, online=lambda p: p == "p_1", disconnect=disconnect, wall_clock=lambda: 1e9
    )
    admission = BanAdmission(moderation.book)
    async with trio.open_nursery() as nursery:
        client = await start(nursery, moderation)
        muted = await client.moderate(order("mute", 60.0))
        assert muted.until == 1e9 + 60
        banned = await client.moderate(order("ban", 120.0))
        assert banned.disconnected
        assert closed == [("p_1", 4010)]
        # The player reads why, and until when, before the close.
        assert farewells == [
            {
                "type": "error",
                "code": "banned",
                "message": f"banned until {_iso(1e9 + 120)}: because",
                "until": 1e9 + 120,
            }
        ]
        refusal = admission.refusal("p_1")
        assert refusal is not None
        assert refusal.code == "banned"
        assert refusal.until == 1e9 + 120
        await trio.sleep(59.9)
        assert moderation.book.in_force("p_1", "mute") is not None
        await trio.sleep(0.2)
        assert moderation.book.in_force("p_1", "mute") is None
        assert admission.refusal("p_1") is not None
        await trio.sleep(60)
        assert admission.refusal("p_1") is None
        # Ended: a new one may be imposed, and lifting the ended one is refused.
        with pytest.raises(ModerationRefused) as lifted:
            await client.moderate(order("unban"))
        assert lifted.value.code == "not_banned"
        await client.moderate(order("ban"))  # permanent
        await trio.sleep(10 * 365 * 24 * 3600.0)
        assert admission.refusal("p_1") is not None
        nursery.cancel_scope.cancel()


async def test_orders_are_checked_before_the_actor(autojump_clock: object) -> None:
    moderation = Moderation(storage=None, online=lambda p: True)
    async with trio.open_nursery() as nursery:
        client = await start(nursery, moderation)
        for bad in (
            order("mute"),
            order("mute", -1.0),
            order("mute", float("nan")),
            order("kick", 5.0),
            Order(action="ban", player_id="p", actor="a", reason=" \n "),
        ):
            with pytest.raises(ModerationRefused) as refused:
                await client.moderate(bad)
            assert refused.value.code == "bad_request"
        nursery.cancel_scope.cancel()


async def test_an_unknown_player_cannot_be_sanctioned(autojump_clock: object) -> None:
    moderation = Moderation(storage=None, online=lambda p: False)
    async with trio.open_nursery() as nursery:
        client = await start(nursery, moderation)
        with pytest.raises(ModerationRefused) as unknown:
            await client.moderate(order("ban"))
        assert unknown.value.code == "unknown_player"
        assert moderation.book.in_force("p_1", "ban") is None
        nursery.cancel_scope.cancel()


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")
