"""The durable schema as SQLAlchemy Core tables (no ORM); Alembic migrations create it.

One schema for both backends (SQLite and PostgreSQL). Timestamps are timezone-aware UTC
(:class:`UTCDateTime`: ``timestamptz`` on PostgreSQL; SQLite stores naive UTC text and gets
the zone back on reading). Ids are the game's own strings (at most 128 characters).

- ``players``: who has played here, and when they were last seen.
- ``rule_configs``: every rule config an arena ever ran under, keyed by its content hash
  (``RuleConfig.content_hash``), body as JSON (``RuleConfig.to_dict``). Never purged: it
  is the audit trail of the rules.
- ``arenas``: one row per battle or epic arena: mode, region, rules, seed (a 64-bit
  unsigned seed is stored as the signed BIGINT of the same bits), ``state`` ``live`` or
  ``ended``, when it ended and how (``result``, a ``BattleResult.to_dict``), and when its
  replay was purged (``purged``; the row itself stays, with its result).
- ``board_snapshots``: an arena's encoded board (``encode_board``) after tick ``tick``,
  its ``board_checksum``, and the cooldowns still running (``ArenaState.last_placed``), so
  a restart resumes from the latest one plus the placements logged after it.
- ``placements``: the log of accepted placements, in resolution order (``ordinal``) within
  each tick. Its primary key (arena_id, tick, ordinal) is also the index that reads "the
  placements of arena A after tick T" in order.
- ``tick_checksums``: the board checksum after a tick, for replays to check themselves.
- ``arena_players``: who took part in an arena, and when they first joined it: the players
  allowed to fetch its replay (``GET /v1/replays/{arena_id}``). Purged with the replay.

``player_id`` in placements and arena_players is not a foreign key: NPCs place tiles too,
and the player row is written on a different path (a join must not wait for it).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

#: Naming convention for constraints, so migrations can name what they drop.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Longest id (player, arena) and player name stored.
ID_LENGTH: Final = 128

#: ``arenas.state`` values.
LIVE: Final = "live"
ENDED: Final = "ended"


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend; naive datetimes are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamps must be timezone-aware, not {value!r}")
        value = value.astimezone(dt.UTC)
        # SQLite keeps text: naive UTC compares correctly as text, an offset would not.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: JSON on SQLite, JSONB on PostgreSQL.
JSONDocument: Final = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

metadata: Final = sa.MetaData(naming_convention=NAMING_CONVENTION)

players: Final = sa.Table(
    "players",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("name", sa.String(ID_LENGTH), nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.Column("last_seen", UTCDateTime(), nullable=False),
)

rule_configs: Final = sa.Table(
    "rule_configs",
    metadata,
    sa.Column("version", sa.String(80), primary_key=True),
    sa.Column("body", JSONDocument, nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
)

arenas: Final = sa.Table(
    "arenas",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column(
        "rules_version", sa.String(80), sa.ForeignKey("rule_configs.version"), nullable=False
    ),
    sa.Column("seed", sa.BigInteger(), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.Column("ended", UTCDateTime(), nullable=True),
    sa.Column("result", JSONDocument, nullable=True),
    sa.Column("purged", UTCDateTime(), nullable=True),
    # A round of an epic arena is an arena row of its own (its replay): the arena it
    # belongs to, its number from 1, and its first tick. NULL for arenas and battles.
    sa.Column("parent_id", sa.String(ID_LENGTH), nullable=True),
    sa.Column("round", sa.Integer(), nullable=True),
    sa.Column("first_tick", sa.BigInteger(), nullable=True),
    sa.CheckConstraint("state IN ('live', 'ended')", name="state"),
    sa.Index(None, "state"),
    sa.Index(None, "ended"),
    sa.Index(None, "parent_id", "round"),
)

board_snapshots: Final = sa.Table(
    "board_snapshots",
    metadata,
    sa.Column("arena_id", sa.String(ID_LENGTH), sa.ForeignKey("arenas.id"), primary_key=True),
    sa.Column("tick", sa.BigInteger(), primary_key=True),
    sa.Column("board", sa.LargeBinary(), nullable=False),
    sa.Column("checksum", sa.String(80), nullable=False),
    sa.Column("last_placed", JSONDocument, nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
)

placements: Final = sa.Table(
    "placements",
    metadata,
    sa.Column("arena_id", sa.String(ID_LENGTH), sa.ForeignKey("arenas.id"), primary_key=True),
    sa.Column("tick", sa.BigInteger(), primary_key=True),
    sa.Column("ordinal", sa.Integer(), primary_key=True),
    sa.Column("player_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("x", sa.Integer(), nullable=False),
    sa.Column("y", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    # The client's request id (migration 0009): a node restoring the arena answers its
    # repeat with this placement's result. None: logged before 0009.
    sa.Column("rid", sa.String(128), nullable=True),
)

tick_checksums: Final = sa.Table(
    "tick_checksums",
    metadata,
    sa.Column("arena_id", sa.String(ID_LENGTH), sa.ForeignKey("arenas.id"), primary_key=True),
    sa.Column("tick", sa.BigInteger(), primary_key=True),
    sa.Column("checksum", sa.String(80), nullable=False),
)

#: Events of an arena's log beside its placements (migration 0008): NPC capacity changes.
arena_events: Final = sa.Table(
    "arena_events",
    metadata,
    sa.Column("arena_id", sa.String(ID_LENGTH), sa.ForeignKey("arenas.id"), primary_key=True),
    sa.Column("tick", sa.BigInteger(), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("detail", JSONDocument, nullable=False),
)

arena_players: Final = sa.Table(
    "arena_players",
    metadata,
    sa.Column("arena_id", sa.String(ID_LENGTH), sa.ForeignKey("arenas.id"), primary_key=True),
    sa.Column("player_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("joined", UTCDateTime(), nullable=False),
)

# -- social: chat, direct messages and blocks (migration 0003) --
#
# - ``blocks``: who blocks whom. A blocked player cannot send the blocker direct messages
#   or invite them to a party or guild, and the blocker does not see their channel chat.
# - ``chat_messages``: channel chat (``global``, ``region:R``, ``arena:A``, ``guild:G``,
#   ``party:P``) for the history a joining player gets; purged per ``channel_type`` by age.
# - ``direct_messages``: one row per direct message; ``delivered_at`` is set when the
#   recipient acknowledged the stream frame that carried it. Purged by age.

#: Longest channel id stored (``guild:`` + an id).
CHANNEL_LENGTH: Final = 160

blocks: Final = sa.Table(
    "blocks",
    metadata,
    sa.Column("blocker_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("blocked_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("created", UTCDateTime(), nullable=False),
)

chat_messages: Final = sa.Table(
    "chat_messages",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("channel", sa.String(CHANNEL_LENGTH), nullable=False),
    sa.Column("channel_type", sa.String(16), nullable=False),
    sa.Column("sender_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("sender_name", sa.String(ID_LENGTH), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("sent_at", UTCDateTime(), nullable=False),
    sa.Index(None, "channel", "sent_at"),
    sa.Index(None, "channel_type", "sent_at"),
)

direct_messages: Final = sa.Table(
    "direct_messages",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("sender_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("sender_name", sa.String(ID_LENGTH), nullable=False),
    sa.Column("recipient_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("sent_at", UTCDateTime(), nullable=False),
    sa.Column("delivered_at", UTCDateTime(), nullable=True),
    sa.Index(None, "recipient_id", "delivered_at"),
    sa.Index(None, "sent_at"),
)

# -- social: guilds (migration 0004) --
#
# - ``guilds``: one row per guild; ``name_key`` (the name NFKC-normalised and case-folded)
#   is unique, so two guilds cannot share a name in any case.
# - ``guild_members``: one row per member; ``player_id`` is the primary key, so a player is
#   in one guild at most. ``role`` is ``leader``, ``officer`` or ``member``.
# - ``guild_invites``: pending invites, until accepted, declined or the guild disbands.

#: Longest guild name stored.
GUILD_NAME_LENGTH: Final = 64

guilds: Final = sa.Table(
    "guilds",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("name", sa.String(GUILD_NAME_LENGTH), nullable=False),
    sa.Column("name_key", sa.String(GUILD_NAME_LENGTH * 4), nullable=False, unique=True),
    sa.Column("created", UTCDateTime(), nullable=False),
)

guild_members: Final = sa.Table(
    "guild_members",
    metadata,
    sa.Column("player_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("guild_id", sa.String(ID_LENGTH), sa.ForeignKey("guilds.id"), nullable=False),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("joined", UTCDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('leader', 'officer', 'member')", name="role"),
    sa.Index(None, "guild_id"),
)

guild_invites: Final = sa.Table(
    "guild_invites",
    metadata,
    sa.Column("guild_id", sa.String(ID_LENGTH), sa.ForeignKey("guilds.id"), primary_key=True),
    sa.Column("player_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("invited_by", sa.String(ID_LENGTH), nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.Index(None, "player_id"),
)

# -- the admin console: admin accounts, the audit log, moderation (migration 0005) --
#
# - ``admins``: who may sign in to the admin API, their role (``admin`` or ``moderator``)
#   and their password as an argon2id hash (never the password).
# - ``audit_log``: append-only: one row per admin action (a sign-in, a sanction, a report
#   decision), written in the same transaction as the action. No code path updates or
#   deletes a row; ``id`` orders the log and pages it.
# - ``sanctions``: the sanctions in force, one per player and kind (``mute`` or ``ban``);
#   ``until`` is None for a permanent ban. A lifted one is deleted (the audit log keeps
#   its story); an expired one is ignored, then replaced by the next of its kind.
# - ``reports``: players' reports of other players; ``state`` ``open`` until a moderator
#   ``dismissed`` it or ``actioned`` it (who, when, why).

#: Longest admin account name.
ADMIN_NAME_LENGTH: Final = 64

#: ``admins.role`` values, strongest first.
ADMIN_ROLES: Final = ("admin", "moderator")

admins: Final = sa.Table(
    "admins",
    metadata,
    sa.Column("name", sa.String(ADMIN_NAME_LENGTH), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'moderator')", name="role"),
)

audit_log: Final = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("actor", sa.String(ID_LENGTH), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(ID_LENGTH), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("detail", JSONDocument, nullable=True),
    sa.Index(None, "at"),
    sa.Index(None, "actor"),
    sa.Index(None, "target"),
    sa.Index(None, "action"),
)

sanctions: Final = sa.Table(
    "sanctions",
    metadata,
    sa.Column("player_id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("until", UTCDateTime(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("issued_by", sa.String(ID_LENGTH), nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('mute', 'ban')", name="kind"),
)

reports: Final = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
    sa.Column("reporter_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("target_id", sa.String(ID_LENGTH), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("decided_by", sa.String(ID_LENGTH), nullable=True),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("decision", sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('open', 'dismissed', 'actioned')", name="state"),
    sa.Index(None, "state", "created"),
)

# -- rule-config versions (migration 0007) --
#
# - ``rule_versions``: the numbered versions of each mode's rule config: its content (a
#   ``rule_configs`` row, by content hash; one number per content and mode), the version it
#   was made from, who made it and why. Never changed or deleted.
# - ``rule_activations``: which version is in force for a mode in a region (``*``: every
#   region without one of its own), from when until when (``active_to`` NULL: now). At most
#   one in force per (mode, region), by a partial unique index.

#: ``rule_activations.region`` of an activation for every region.
EVERY_REGION: Final = "*"

rule_versions: Final = sa.Table(
    "rule_versions",
    metadata,
    sa.Column("mode", sa.String(16), primary_key=True),
    sa.Column("number", sa.Integer(), primary_key=True),
    sa.Column("content_hash", sa.String(80), sa.ForeignKey("rule_configs.version"), nullable=False),
    sa.Column("based_on", sa.Integer(), nullable=True),
    sa.Column("author", sa.String(ID_LENGTH), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("created", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("mode", "content_hash"),
)

rule_activations: Final = sa.Table(
    "rule_activations",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("number", sa.Integer(), nullable=False),
    sa.Column("active_from", UTCDateTime(), nullable=False),
    sa.Column("active_to", UTCDateTime(), nullable=True),
    sa.Column("activated_by", sa.String(ID_LENGTH), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(
        ["mode", "number"],
        ["rule_versions.mode", "rule_versions.number"],
        name="fk_rule_activations_mode_rule_versions",
    ),
    sa.Index(
        "ux_rule_activations_in_force",
        "mode",
        "region",
        unique=True,
        sqlite_where=sa.text("active_to IS NULL"),
        postgresql_where=sa.text("active_to IS NULL"),
    ),
)
