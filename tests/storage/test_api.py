"""Pins the public surface of tilemud.storage: changing it is a decision, not an accident."""

from __future__ import annotations

import tilemud.storage

PUBLIC = {
    # social: chat, direct messages and blocks
    "ChatMessageRecord",
    "ChatPurge",
    "DirectMessageRecord",
    "is_blocked",
    # The actor and what its callers hold, send and catch.
    "StorageActor",
    "StorageClient",
    # ... and its faces, one per domain.
    "ArenaStorage",
    # the admin console
    "AdminStorage",
    "AdminAccount",
    "AdminRole",
    "AuditEntry",
    "AuditQuery",
    "AuditRecord",
    "ReportRecord",
    "ReportState",
    "SanctionKind",
    "SanctionRecord",
    "add_admin",
    "load_admin",
    "ChatStorage",
    "GuildStorage",
    "PlayerStorage",
    "StorageMessage",
    "Transact",
    "FlushWriteBehind",
    "StorageStats",
    "StorageError",
    "StorageUnavailable",
    "StatementTimeout",
    "RecordNotFound",
    "RecordRejected",
    "SchemaOutOfDate",
    # Records.
    "ArenaLifecycle",
    "ArenaEvent",
    "ArenaRecord",
    "ParticipantRecord",
    "PlacementRecord",
    "PlayerRecord",
    "Recovery",
    "Replay",
    "ReplayTick",
    "Snapshot",
    "TickChecksum",
    # Repositories (sync, taking a Connection).
    "append_placements",
    "create_arena",
    "end_arena",
    "list_live_arenas",
    "list_rounds",
    "load_arena",
    "load_latest_snapshot",
    "load_participants",
    "load_placements",
    "load_player",
    "load_recovery",
    "load_replay",
    "load_rule_config",
    "load_tick_checksums",
    "purge_replays",
    "record_participants",
    "record_rule_config",
    "record_tick_checksums",
    "save_snapshot",
    "upsert_player",
    # The database, its URL, its schema.
    "Database",
    "check_schema",
    "database_url",
    "redact",
    "resolve_url",
    # Public submodules.
    "actor",
    "janitor",
    "migrate",
    "tables",
    # social: guilds
    "GuildInviteRecord",
    "GuildMemberRecord",
    "GuildRecord",
    "create_guild",
    "disband_guild",
    "drop_guild_invite",
    "invite_to_guild",
    "join_guild",
    "load_guilds",
    "remove_guild_member",
    "set_guild_roles",
}


def test_public_surface() -> None:
    assert {name for name in dir(tilemud.storage) if not name.startswith("_")} == PUBLIC
