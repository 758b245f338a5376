"""Party actors under their dynamic supervisor, with a fake presence, under autojump.

Each test runs a real :class:`~tilemud.actors.parties._parties.Parties` (its supervisor, its
directory, one actor per party) and talks to it as the sessions' party requests do; the
players' streams are a fake :class:`~tilemud.actors.session._presence.Presence` that decodes every
frame it is given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import attrs
import trio
import trio.testing

from tests.actors.presence_support import OnlinePlayer
from tilemud.actors.parties import Parties, PartyGone
from tilemud.actors.parties._party import Accept, Decline, Invite, Kick, LeaveParty, Promote
from tilemud.config import SocialSettings
from tilemud.protocol import PartyEvent, decode_server, stamp
from tilemud.social.party_rules import PartyState, Refusal
from tilemud.supervisors import run_root

DEADLINE = 60.0


@attrs.define
class FakePresence:
    """Players online on this node; every frame published to each, decoded."""

    online: set[str] = attrs.field(factory=set)
    frames: dict[str, list[PartyEvent]] = attrs.field(factory=dict)

    def find(self, player_id: str) -> OnlinePlayer | None:
        return OnlinePlayer(player_id, self) if player_id in self.online else None

    def publish_to(self, player_id: str, body: str) -> bool:
        if player_id not in self.online:
            return False
        seen = self.frames.setdefault(player_id, [])
        frame = decode_server(stamp(body, len(seen) + 1))
        assert isinstance(frame, PartyEvent)
        seen.append(frame)
        return True

    def events(self, player_id: str) -> list[tuple[str, str]]:
        return [(f.event, f.player_id) for f in self.frames.get(player_id, [])]


@attrs.define
class Hooks:
    removed: list[tuple[str, str]] = attrs.field(factory=list)
    closed: list[str] = attrs.field(factory=list)


@asynccontextmanager
async def running_parties(
    presence: FakePresence,
    *,
    cap: int = 8,
    hooks: Hooks | None = None,
    is_blocked: Callable[[str, str], Awaitable[bool]] | None = None,
) -> AsyncIterator[Parties]:
    parties = Parties(
        SocialSettings(party_cap=cap),
        presence=presence,
        is_blocked=is_blocked,
        on_member_removed=None if hooks is None else lambda c, p: hooks.removed.append((c, p)),
        on_channel_closed=None if hooks is None else hooks.closed.append,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(run_root, parties.supervisor)
        yield parties
        nursery.cancel_scope.cancel()


async def created(parties: Parties, leader: str) -> PartyState:
    state = await parties.create(leader)
    assert isinstance(state, PartyState)
    return state


async def invite(parties: Parties, party_id: str, actor: str, target: str) -> object:
    blocks = await parties.blocks(target, actor)
    online = await parties.online(target)
    return await parties.ask(
        party_id,
        lambda reply: Invite(
            actor=actor,
            target=target,
            target_blocks_actor=blocks,
            target_online=online,
            reply=reply,
        ),
    )


async def join_party(parties: Parties, party_id: str, leader: str, player: str) -> PartyState:
    assert isinstance(await invite(parties, party_id, leader, player), PartyState)
    state = await parties.ask(party_id, lambda reply: Accept(actor=player, reply=reply))
    assert isinstance(state, PartyState)
    return state


async def leave(parties: Parties, party_id: str, player: str) -> object:
    return await parties.ask(party_id, lambda reply: LeaveParty(actor=player, reply=reply))


async def test_create_invite_accept_and_every_member_is_told(
    autojump_clock: trio.testing.MockClock,
) -> None:
    presence = FakePresence(online={"ann", "bob", "cy"})
    with trio.fail_after(DEADLINE):
        async with running_parties(presence) as parties:
            party = await created(parties, "ann")
            assert parties.party_of("ann") == party.party_id
            assert parties.supervisor.child_ids() == [party.party_id]
            assert isinstance(await parties.create("ann"), Refusal)

            after = await invite(parties, party.party_id, "ann", "bob")
            assert isinstance(after, PartyState)
            assert after.invited == ("bob",)
            assert parties.directory.invites_of("bob") == (party.party_id,)
            assert parties.party_of("bob") is None
            accepted = await parties.ask(
                party.party_id, lambda reply: Accept(actor="bob", reply=reply)
            )
            assert isinstance(accepted, PartyState)
            assert accepted.members == ("ann", "bob")
            assert parties.party_of("bob") == party.party_id
            assert parties.directory.invites_of("bob") == ()

            assert presence.events("bob") == [("invited", "bob"), ("joined", "bob")]
            assert presence.events("ann") == [("invited", "bob"), ("joined", "bob")]
            last = presence.frames["ann"][-1]
            assert (last.leader, last.members) == ("ann", ("ann", "bob"))

            # Declining: the invite goes, the members are told.
            await invite(parties, party.party_id, "ann", "cy")
            declined = await parties.ask(
                party.party_id, lambda reply: Decline(actor="cy", reply=reply)
            )
            assert isinstance(declined, PartyState)
            assert declined.invited == ()
            assert presence.events("ann")[-1] == ("declined", "cy")


async def test_the_party_ends_itself_when_its_last_member_leaves(
    autojump_clock: trio.testing.MockClock,
) -> None:
    presence = FakePresence(online={"ann", "bob", "cy"})
    hooks = Hooks()
    with trio.fail_after(DEADLINE):
        async with running_parties(presence, hooks=hooks) as parties:
            party = await created(parties, "ann")
            await join_party(parties, party.party_id, "ann", "bob")
            await invite(parties, party.party_id, "ann", "cy")  # pending when it ends
            channel = f"party:{party.party_id}"

            assert isinstance(await leave(parties, party.party_id, "ann"), PartyState)
            assert hooks.removed == [(channel, "ann")]
            assert await leave(parties, party.party_id, "bob") is None
            await trio.testing.wait_all_tasks_blocked()

            assert parties.supervisor.child_ids() == []
            assert len(parties.directory) == 0
            assert parties.party_of("bob") is None
            assert parties.directory.invites_of("cy") == ()
            assert hooks.removed == [(channel, "ann"), (channel, "bob")]
            assert hooks.closed == [channel]
            try:
                await parties.ask(party.party_id, lambda reply: Accept(actor="cy", reply=reply))
            except PartyGone:
                pass
            else:
                raise AssertionError("an ended party answered")
            # Its former members may start another one.
            assert isinstance(await parties.create("bob"), PartyState)


async def test_a_leader_leaving_hands_the_lead_to_the_longest_standing_member(
    autojump_clock: trio.testing.MockClock,
) -> None:
    presence = FakePresence(online={"ann", "bob", "cy"})
    with trio.fail_after(DEADLINE):
        async with running_parties(presence) as parties:
            party = await created(parties, "ann")
            await join_party(parties, party.party_id, "ann", "bob")
            await join_party(parties, party.party_id, "ann", "cy")

            after = await leave(parties, party.party_id, "ann")
            assert isinstance(after, PartyState)
            assert (after.leader, after.members) == ("bob", ("bob", "cy"))
            left = presence.frames["cy"][-1]
            assert (left.event, left.player_id, left.leader) == ("left", "ann", "bob")
            # The new leader leads: cy may not kick, bob may.
            refused = await parties.ask(
                party.party_id, lambda reply: Kick(actor="cy", target="bob", reply=reply)
            )
            assert isinstance(refused, Refusal)
            assert refused.code == "forbidden"
            kicked = await parties.ask(
                party.party_id, lambda reply: Kick(actor="bob", target="cy", reply=reply)
            )
            assert isinstance(kicked, PartyState)
            assert presence.events("cy")[-1] == ("kicked", "cy")
            assert parties.party_of("cy") is None


async def test_promote_then_a_timed_out_leader_hands_over(
    autojump_clock: trio.testing.MockClock,
) -> None:
    presence = FakePresence(online={"ann", "bob", "cy"})
    with trio.fail_after(DEADLINE):
        async with running_parties(presence) as parties:
            party = await created(parties, "ann")
            await join_party(parties, party.party_id, "ann", "bob")
            await join_party(parties, party.party_id, "ann", "cy")
            promoted = await parties.ask(
                party.party_id, lambda reply: Promote(actor="ann", target="cy", reply=reply)
            )
            assert isinstance(promoted, PartyState)
            assert promoted.leader == "cy"
            assert presence.events("bob")[-1] == ("promoted", "cy")

            presence.online.discard("cy")
            await parties.member_gone("cy")
            await trio.testing.wait_all_tasks_blocked()
            state = parties.directory.state_of(party.party_id)
            assert state is not None
            assert (state.leader, state.members) == ("ann", ("ann", "bob"))
            assert presence.events("bob")[-1] == ("timed_out", "cy")
            assert presence.frames["bob"][-1].leader == "ann"
            # A player in no party going away changes nothing and raises nothing.
            await parties.member_gone("nobody")


async def test_the_cap_counts_invites_and_holds(autojump_clock: trio.testing.MockClock) -> None:
    presence = FakePresence(online={"ann", "bob", "cy"})
    with trio.fail_after(DEADLINE):
        async with running_parties(presence, cap=2) as parties:
            party = await created(parties, "ann")
            assert isinstance(await invite(parties, party.party_id, "ann", "bob"), PartyState)
            full = await invite(parties, party.party_id, "ann", "cy")
            assert isinstance(full, Refusal)
            assert full.code == "party_full"
            await parties.ask(party.party_id, lambda reply: Accept(actor="bob", reply=reply))
            state = parties.directory.state_of(party.party_id)
            assert state is not None
            assert state.members == ("ann", "bob")
            assert "cy" not in presence.frames


async def test_invites_refused_for_blocks_offline_players_and_party_members(
    autojump_clock: trio.testing.MockClock,
) -> None:
    presence = FakePresence(online={"ann", "bob", "cy", "di"})

    async def is_blocked(blocker_id: str, blocked_id: str) -> bool:
        return (blocker_id, blocked_id) == ("bob", "ann")

    with trio.fail_after(DEADLINE):
        async with running_parties(presence, is_blocked=is_blocked) as parties:
            party = await created(parties, "ann")
            other = await created(parties, "di")

            async def code(target: str) -> str:
                refused = await invite(parties, party.party_id, "ann", target)
                assert isinstance(refused, Refusal)
                return refused.code

            assert await code("bob") == "blocked"
            assert "bob" not in presence.frames, "a blocker hears nothing of the blocked"
            assert await code("eve") == "player_offline"
            assert await code("di") == "already_in_party"
            assert isinstance(await invite(parties, party.party_id, "ann", "cy"), PartyState)
            assert await code("cy") == "already_invited"
            # cy is invited by two parties: after joining one, the other's accept is refused.
            assert isinstance(await invite(parties, other.party_id, "di", "cy"), PartyState)
            await parties.ask(party.party_id, lambda reply: Accept(actor="cy", reply=reply))
            late = await parties.ask(other.party_id, lambda reply: Accept(actor="cy", reply=reply))
            assert isinstance(late, Refusal)
            assert late.code == "already_in_party"
            assert parties.party_of("cy") == party.party_id


async def test_battle_mates_are_the_leaders_to_take(autojump_clock: trio.testing.MockClock) -> None:
    presence = FakePresence(online={"ann", "bob", "cy"})
    with trio.fail_after(DEADLINE):
        async with running_parties(presence) as parties:
            party = await created(parties, "ann")
            await join_party(parties, party.party_id, "ann", "bob")
            assert parties.battle_mates("ann") == ("bob",)
            assert parties.battle_mates("bob") == ()
            assert parties.battle_mates("cy") == ()
            parties.battle_entered("ann", "b_1", "eu")
            parties.battle_entered("bob", "b_2", "eu")  # not the leader: nothing told
            await trio.testing.wait_all_tasks_blocked()
            battles = [f for f in presence.frames["bob"] if f.event == "battle"]
            assert [(f.arena_id, f.region) for f in battles] == [("b_1", "eu")]
