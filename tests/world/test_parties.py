"""Parties through the real gateway, under autojump (players on in-memory streams).

Everything from the WebSocket up is the real server: sessions, the critical tier, the
parties supervisor and its party actors, the world's matchmaking and the reconnect grace.
Every test has an absolute deadline in Trio time.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import trio
import trio.testing

from tests.integration.harness import make_settings, running_server
from tests.world.memory import MemoryPlayer, memory_player
from tests.world.play import join
from tilemud.actors.arena import ArenaListing, ListArenas
from tilemud.player_client import PlayerClient
from tilemud.protocol import (
    ErrorFrame,
    PartyAccept,
    PartyCreate,
    PartyEvent,
    PartyInfo,
    PartyInvite,
    PartyKick,
    PartyLeave,
    PartyLeft,
    ServerMessage,
)

DEADLINE = 1000.0


def events(player: MemoryPlayer) -> list[PartyEvent]:
    return [f for f in player.seen if isinstance(f, PartyEvent)]


async def until_event(player: MemoryPlayer, event: str, about: str) -> PartyEvent:
    """Receive until a ``party_event`` of that kind about that player arrived."""

    def found() -> PartyEvent | None:
        return next((f for f in events(player) if (f.event, f.player_id) == (event, about)), None)

    await player.client.receive_until(lambda _: found() is not None)
    frame = found()
    assert frame is not None
    return frame


async def ask(client: PlayerClient, message: object) -> ServerMessage:
    return await client.request(message)


async def form_party(leader: MemoryPlayer, *members: MemoryPlayer) -> str:
    """``leader`` creates a party and every one of ``members`` accepts its invite."""
    created = await ask(leader.client, PartyCreate(rid=leader.client.next_rid()))
    assert isinstance(created, PartyInfo), created
    for member in members:
        player_id = member_id(member)
        invited = await ask(
            leader.client, PartyInvite(rid=leader.client.next_rid(), player_id=player_id)
        )
        assert isinstance(invited, PartyInfo), invited
        event = await until_event(member, "invited", player_id)
        assert event.party_id == created.party_id
        accepted = await ask(
            member.client, PartyAccept(rid=member.client.next_rid(), party_id=created.party_id)
        )
        assert isinstance(accepted, PartyInfo), accepted
    return created.party_id


def member_id(player: MemoryPlayer) -> str:
    assert player.client.welcome is not None
    return player.client.welcome.player_id


async def test_create_invite_accept_and_members_see_the_events(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_a") as ann,
            memory_player(server, "p_b") as bob,
            memory_player(server, "p_c") as cy,
        ):
            party_id = await form_party(ann, bob, cy)
            assert server.parties.party_of("p_c") == party_id

            joined = await until_event(ann, "joined", "p_c")
            assert (joined.leader, joined.members) == ("p_a", ("p_a", "p_b", "p_c"))
            await until_event(bob, "joined", "p_c")

            # The critical tier: a repeated rid gets the first answer, applied once.
            rid = bob.client.next_rid()
            first = await ask(bob.client, PartyKick(rid=rid, player_id="p_c"))
            assert isinstance(first, ErrorFrame)
            assert first.code == "forbidden"
            again = await ask(bob.client, PartyKick(rid=rid, player_id="p_c"))
            assert again == first

            kicked = await ask(ann.client, PartyKick(rid=ann.client.next_rid(), player_id="p_c"))
            assert isinstance(kicked, PartyInfo)
            assert kicked.members == ("p_a", "p_b")
            await until_event(cy, "kicked", "p_c")
            await until_event(bob, "kicked", "p_c")
            assert server.parties.party_of("p_c") is None

            refused = await ask(cy.client, PartyLeave(rid=cy.client.next_rid()))
            assert isinstance(refused, ErrorFrame)
            assert refused.code == "not_in_party"
            rid = bob.client.next_rid()
            assert await ask(bob.client, PartyLeave(rid=rid)) == PartyLeft(
                rid=rid, party_id=party_id
            )
            left = await ask(ann.client, PartyLeave(rid=ann.client.next_rid()))
            assert isinstance(left, PartyLeft)
            await trio.testing.wait_all_tasks_blocked()
            assert server.parties.supervisor.child_ids() == []


async def test_the_lead_passes_on_when_the_leaders_grace_runs_out(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            memory_player(server, "p_b") as bob,
            memory_player(server, "p_c") as cy,
        ):
            async with memory_player(server, "p_a") as ann:
                party_id = await form_party(ann, bob, cy)
                await ann.drop()
                dropped_at = trio.current_time()

            await trio.sleep_until(dropped_at + 119)
            state = server.parties.directory.state_of(party_id)
            assert state is not None
            assert state.leader == "p_a", "still within the grace: still the leader"

            await trio.sleep_until(dropped_at + 121)
            gone = await until_event(bob, "timed_out", "p_a")
            assert (gone.leader, gone.members) == ("p_b", ("p_b", "p_c"))
            await until_event(cy, "timed_out", "p_a")
            assert server.parties.party_of("p_a") is None
            # The new leader leads.
            invited = await ask(bob.client, PartyInvite(rid=bob.client.next_rid(), player_id="p_c"))
            assert isinstance(invited, ErrorFrame)
            assert invited.code == "already_in_party"


async def test_a_party_enters_one_battle_together(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            running_server(make_settings(tmp_path, durable=False)) as server,
            AsyncExitStack() as stack,
        ):
            # A battle with one free seat: too small for a party of three.
            fillers = [
                await stack.enter_async_context(memory_player(server, f"p_f{n}")) for n in range(7)
            ]
            almost_full = {(await join(f.client, mode="battle")).arena_id for f in fillers}
            assert len(almost_full) == 1

            ann = await stack.enter_async_context(memory_player(server, "p_a"))
            bob = await stack.enter_async_context(memory_player(server, "p_b"))
            cy = await stack.enter_async_context(memory_player(server, "p_c"))
            await form_party(ann, bob, cy)

            battle = (await join(ann.client, mode="battle")).arena_id
            assert battle not in almost_full
            for member in (bob, cy):
                told = await until_event(member, "battle", "p_a")
                assert (told.arena_id, told.region) == (battle, "eu")
                assert (await join(member.client, mode="battle")).arena_id == battle

            listing: tuple[ArenaListing, ...] = await server.directory.ref.ask(
                lambda reply: ListArenas(reply=reply)
            )
            seated = {entry.arena_id: entry.players for entry in listing}
            assert seated == {almost_full.pop(): 7, battle: 3}
