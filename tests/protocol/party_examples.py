"""One valid instance of every party message, for the shared protocol examples."""

from __future__ import annotations

from tilemud.protocol import (
    ClientMessage,
    PartyAccept,
    PartyCreate,
    PartyDecline,
    PartyDeclined,
    PartyEvent,
    PartyInfo,
    PartyInvite,
    PartyKick,
    PartyLeave,
    PartyLeft,
    PartyPromote,
    ServerMessage,
)

PARTY_CLIENT_EXAMPLES: dict[str, ClientMessage] = {
    "party_create": PartyCreate(rid="pt-1"),
    "party_invite": PartyInvite(rid="pt-2", player_id="p-2"),
    "party_accept": PartyAccept(rid="pt-3", party_id="pt_abc"),
    "party_decline": PartyDecline(rid="pt-4", party_id="pt_abc"),
    "party_leave": PartyLeave(rid="pt-5"),
    "party_kick": PartyKick(rid="pt-6", player_id="p-3"),
    "party_promote": PartyPromote(rid="pt-7", player_id="p-3"),
}

PARTY_SERVER_EXAMPLES: dict[str, ServerMessage] = {
    "party": PartyInfo(
        rid="pt-2", party_id="pt_abc", leader="p-1", members=("p-1", "p-3"), invited=("p-2",)
    ),
    "party_left": PartyLeft(rid="pt-5", party_id="pt_abc"),
    "party_declined": PartyDeclined(rid="pt-4", party_id="pt_abc"),
    "party_event": PartyEvent(
        seq=14,
        sent_at=1767225600.7,
        party_id="pt_abc",
        event="battle",
        player_id="p-1",
        leader="p-1",
        members=("p-1", "p-3"),
        arena_id="b-17",
        region="eu-west",
    ),
}
