"""One valid instance of every guild message, for the shared protocol examples."""

from __future__ import annotations

from tilemud.protocol import (
    ClientMessage,
    GuildAccept,
    GuildCreate,
    GuildDecline,
    GuildDemote,
    GuildDisband,
    GuildEvent,
    GuildInfo,
    GuildInvite,
    GuildKick,
    GuildLeave,
    GuildPromote,
    GuildResult,
    GuildTransfer,
    ServerMessage,
)

GUILD_CLIENT_EXAMPLES: dict[str, ClientMessage] = {
    "guild_create": GuildCreate(rid="g-1", name="Tile Lords"),
    "guild_invite": GuildInvite(rid="g-2", player_id="p-2"),
    "guild_accept": GuildAccept(rid="g-3", guild_id="g_abc"),
    "guild_decline": GuildDecline(rid="g-4", guild_id="g_abc"),
    "guild_leave": GuildLeave(rid="g-5"),
    "guild_kick": GuildKick(rid="g-6", player_id="p-3"),
    "guild_promote": GuildPromote(rid="g-7", player_id="p-3"),
    "guild_demote": GuildDemote(rid="g-8", player_id="p-3"),
    "guild_transfer": GuildTransfer(rid="g-9", player_id="p-3"),
    "guild_disband": GuildDisband(rid="g-10"),
    "guild_info": GuildInfo(rid="g-11", guild_id="g_abc"),
}

GUILD_SERVER_EXAMPLES: dict[str, ServerMessage] = {
    "guild_result": GuildResult(
        rid="g-2",
        op="invite",
        guild_id="g_abc",
        name="Tile Lords",
        members=(("p-1", "leader"), ("p-3", "officer")),
        invites=("p-2",),
    ),
    "guild_event": GuildEvent(
        seq=12,
        sent_at=1767225600.7,
        guild_id="g_abc",
        name="Tile Lords",
        change="promoted",
        player_id="p-3",
        by="p-1",
        role="officer",
    ),
}
