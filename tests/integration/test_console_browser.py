"""The console in a real headless Chromium (tests/integration/browser.py): sign in, ban a
player who is connected over a real WebSocket, mute one and see their chat refused, decide
a report and find it in the audit log, watch a bot's tile appear on the live board, step
through a replay. These tests also take docs/console.md's screenshots.

Testing policy: loopback, port 0, real clock, an absolute ``trio.fail_after`` per test;
one browser for the module (each test clears its cookies first).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.integration.browser import Browser, open_chromium
from tests.integration.harness import (
    bot,
    guest_login,
    make_settings,
    player,
    read_until_closed,
    receive,
    running_server,
    send,
)
from tests.integration.test_admin import PASSWORD, add_admin, hello_refused
from tests.world.play import join, place
from tilemud.server import TilemudServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from open_chromium()


@asynccontextmanager
async def console(
    chromium: Any, tmp_path: Path, *accounts: tuple[str, str]
) -> AsyncIterator[tuple[TilemudServer, Browser]]:
    """A server with these (name, role) accounts, and the browser pointed at it."""
    for name, role in accounts:
        await trio.to_thread.run_sync(add_admin, tmp_path, name, role)
    async with running_server(make_settings(tmp_path)) as server:
        browser = Browser(chromium, server.addresses.http_url)
        await browser.run(chromium.delete_all_cookies)
        yield server, browser
        await browser.open("/console/sign-in")  # leave no event stream open


async def sign_in(browser: Browser, name: str, *, shot: bool = False) -> None:
    await browser.open("/console/")
    assert await browser.path() == "/console/sign-in"
    await browser.fill("#name", name)
    await browser.fill("#password", PASSWORD)
    if shot:
        await browser.screenshot("sign-in")
    await browser.follow("#sign-in")
    await browser.wait_path("/console/")
    assert name in await browser.text("#who")


async def test_sign_in_and_ban_a_connected_player(chromium: Any, tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with console(chromium, tmp_path, ("alice", "admin")) as (server, browser):
            await browser.open("/console/sign-in")
            await browser.fill("#name", "alice")
            await browser.fill("#password", "not the password")
            await browser.follow("#sign-in")
            assert "Wrong name or password" in await browser.text("#error")
            await sign_in(browser, "alice", shot=True)
            await browser.screenshot("home")
            token, player_id = await guest_login(server, "Griefer")
            async with player(server, token=token) as (connection, _):
                await browser.open("/console/players")
                await browser.fill("#q", "grief")
                await browser.follow("#find")
                await browser.follow(f"#found a[href='/console/players/{player_id}']")
                assert await browser.text("#player-name") == "Griefer"
                await browser.fill("#form-ban input[name=reason]", "griefing the spawn")
                await browser.fill("#form-ban input[name=duration]", "2")
                await browser.choose("#form-ban select[name=unit]", "hours")
                await browser.follow("#form-ban button")
                notice = await browser.text("#notice")
                assert "ban: done for" in notice
                assert "their connection was closed" in notice
                closed = await read_until_closed(connection)
            assert closed.code == 4010
            assert "Banned until" in await browser.text("#in-force")
            frame, code = await hello_refused(server, token)
            assert code == 4010
            assert frame["code"] == "banned"
            await browser.screenshot("player")
            await browser.follow("#sign-out")
            await browser.wait_path("/console/sign-in")
            await browser.open("/console/audit")
            await browser.wait_path("/console/sign-in")


async def test_mute_refuses_the_players_chat(chromium: Any, tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with console(chromium, tmp_path, ("mo", "moderator")) as (server, browser):
            await sign_in(browser, "mo")
            assert "Audit log" not in await browser.source()  # a moderator's pages
            token, player_id = await guest_login(server, "Spammer")
            async with player(server, token=token) as (connection, _):
                await send(connection, {"type": "chat_join", "rid": "j1", "channel": "global"})
                assert (await receive(connection))["type"] == "chat_joined"
                await browser.open(f"/console/players/{player_id}")
                await browser.fill("#form-mute input[name=reason]", "spam")
                await browser.fill("#form-mute input[name=duration]", "10")
                await browser.follow("#form-mute button")
                assert "mute: done for" in await browser.text("#notice")
                assert "Muted until" in await browser.text("#in-force")
                await send(
                    connection,
                    {"type": "chat_send", "rid": "s1", "channel": "global", "text": "buy gold"},
                )
                refused = await receive(connection)
                assert refused["type"] == "error"
                assert refused["code"] == "muted"
                assert refused["rid"] == "s1"


async def test_decide_a_report_and_find_it_in_the_audit_log(chromium: Any, tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with console(chromium, tmp_path, ("alice", "admin")) as (server, browser):
            target_token, target_id = await guest_login(server, "Target")
            reporter_token, _ = await guest_login(server, "Witness")
            async with (
                player(server, token=target_token),
                player(server, token=reporter_token) as (reporter, _),
            ):
                await send(
                    reporter,
                    {"type": "report", "rid": "r1", "player_id": target_id, "reason": "slurs"},
                )
                assert (await receive(reporter))["type"] == "report_result"
            await sign_in(browser, "alice")
            await browser.open("/console/reports")
            assert "slurs" in await browser.text("#reports")
            await browser.screenshot("reports")
            await browser.fill("#reports form[action$='/dismiss'] input[name=reason]", "banter")
            await browser.follow("#reports form[action$='/dismiss'] button")
            assert "dismissed" in await browser.text("#notice")
            assert "No reports." in await browser.text("#reports")
            await browser.open("/console/audit")
            await browser.fill("#audit-filters input[name=action]", "report_dismissed")
            await browser.follow("#filter")
            table = await browser.text("#audit")
            assert "admin:alice report_dismissed" in table
            assert "banter" in table
            assert "sign_in" not in table
            await browser.open("/console/audit")
            await browser.screenshot("audit")


async def test_live_board_shows_a_tile_a_bot_just_placed(chromium: Any, tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with console(chromium, tmp_path, ("mo", "moderator")) as (server, browser):
            await sign_in(browser, "mo")
            async with bot(server, "p_builder") as builder, bot(server, "p_rival") as rival:
                arena_id = (await join(builder, mode="battle", region="eu")).arena_id
                assert (await join(rival, mode="battle", region="eu")).arena_id == arena_id
                await place(rival, 10, 10)
                await browser.open("/console/live")
                await browser.follow(f"#arenas a[href='/console/arenas/{arena_id}']")
                await browser.wait_for(
                    lambda: browser.driver.find_element("id", "placed").text == "1",
                    "the rival's tile from the snapshot",
                )
                await place(builder, 5, 7)
                await browser.wait_for(
                    lambda: browser.driver.find_element("id", "placed").text == "2",
                    "the builder's tile from the stream",
                )
                assert "p_builder" in await browser.text("#scores")
                await browser.screenshot("live-board")
                await browser.open("/console/live")
                await browser.wait_for(
                    lambda: (
                        int(
                            browser.driver.find_element(
                                "css selector", "canvas[data-figure]"
                            ).get_attribute("data-samples")
                            or 0
                        )
                        >= 3
                    ),
                    "three samples of the figures",
                )
                assert "gateway" in await browser.text("#tree")
                await browser.screenshot("live")


async def test_step_through_a_replay(chromium: Any, tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with console(chromium, tmp_path, ("mo", "moderator")) as (server, browser):
            async with bot(server, "p_stepper") as stepper:
                arena_id = (await join(stepper, mode="battle", region="eu")).arena_id
                for x in (1, 2):  # two ticks (the cooldown keeps them apart)
                    await place(stepper, x, 2)
                    with trio.move_on_after(0.7):
                        await stepper.receive_until(lambda _: False)
            await sign_in(browser, "mo")
            await browser.open("/console/replays")
            await browser.fill("#arena-id", arena_id)
            await browser.follow("#open-replay")
            assert await browser.text("#steps") == "2"
            assert await browser.text("#placed") == "0"
            await browser.click("#forward")
            assert await browser.text("#placed") == "1"
            await browser.click("#forward")
            assert await browser.text("#placed") == "2"
            await browser.screenshot("replay")
            await browser.click("#back")
            assert await browser.text("#placed") == "1"
            await browser.click("#first")
            assert await browser.text("#step") == "0"


async def test_publish_and_activate_a_rule_version_then_the_next_battle_uses_it(
    chromium: Any, tmp_path: Path
) -> None:
    with trio.fail_after(90):
        async with console(chromium, tmp_path, ("alice", "admin")) as (server, browser):
            await sign_in(browser, "alice")
            await browser.open("/console/rules/battle")
            await browser.fill("#new-version textarea[name=changes]", "battle_ticks = 20")
            await browser.fill("#new-version input[name=reason]", "short battles")
            await browser.follow("#new-version button")
            await browser.wait_path("/console/rules/battle?done=version+2+made+from+version+1")
            await browser.fill("#activate-2 input[name=reason]", "try them")
            await browser.follow("#activate-2 button")
            await browser.wait_for(
                lambda: "in force" in browser.driver.find_element("id", "notice").text,
                "the activation's notice",
            )
            rows = await browser.text("#versions")
            assert "short battles" in rows
            version_2 = next(line for line in rows.splitlines() if line.startswith("2 "))
            assert "every region" in version_2
            await browser.choose("#diff-form select[name=from]", "1")
            await browser.choose("#diff-form select[name=to]", "2")
            await browser.follow("#diff-form button")
            await browser.wait_for(
                lambda: "battle_ticks 1800 20" in browser.driver.find_element("id", "diff").text,
                "the diff of battle_ticks",
            )
            await browser.screenshot("rules")
            # The next battle runs under version 2 (a running arena would keep its own).
            async with bot(server, "p_tester") as tester:
                joined = await join(tester, mode="battle", region="eu")
                assert joined.rules.battle_ticks == 20
                assert joined.rules.version.startswith(version_2.split()[1])
                await place(tester, 4, 4)
                with trio.move_on_after(3):  # the 20 ticks (2 s) run out
                    await tester.receive_until(lambda _: False)
            # Its replay names version 2; once ended an admin may delete it (audited).
            await browser.open("/console/replays?player=p_tester")
            replays = await browser.text("#replays")
            assert joined.arena_id in replays
            assert "v2" in replays
            assert "ended" in replays
            await browser.fill("#replays input[name=reason]", "test data")
            await browser.follow("#replays form button")
            await browser.wait_for(
                lambda: "deleted" in browser.driver.find_element("id", "notice").text,
                "the deletion's notice",
            )
            assert joined.arena_id not in await browser.text("#replays")
            await browser.open("/console/audit?action=replay_deleted")
            assert "test data" in await browser.text("#audit")
