"""The durable store: SQLAlchemy Core tables, Alembic migrations, repositories, the actor.

- :mod:`tilemud.storage.tables`: the schema; :mod:`tilemud.storage.migrate`: Alembic
  migrations and :func:`check_schema`, the start-up policy.
- Repositories: synchronous functions taking a SQLAlchemy ``Connection`` (plain and
  testable), run by the storage actor in worker threads, one transaction per request.
- :class:`StorageActor`: the one owner of the database; others use one face of its
  :class:`StorageClient` per domain (:class:`ArenaStorage`, :class:`ChatStorage`,
  :class:`GuildStorage`, :class:`PlayerStorage`, :class:`AdminStorage`,
  :class:`RuleStorage`): critical writes
  acknowledged after commit, reads, and the never-blocking write-behind path for
  placements and checksums.

docs/operations.md ("Storage") says how to run it on SQLite or PostgreSQL.
"""

from tilemud.game import ReplayTick as ReplayTick
from tilemud.storage import janitor as janitor
from tilemud.storage import migrate as migrate
from tilemud.storage._admin_storage import AdminStorage as AdminStorage
from tilemud.storage._arena_storage import ArenaStorage as ArenaStorage
from tilemud.storage._chat_storage import ChatStorage as ChatStorage
from tilemud.storage._client import StorageClient as StorageClient
from tilemud.storage._database import Database as Database
from tilemud.storage._database import database_url as database_url
from tilemud.storage._database import redact as redact
from tilemud.storage._database import resolve_url as resolve_url
from tilemud.storage._errors import PLAYED_IN_ROUNDS as PLAYED_IN_ROUNDS
from tilemud.storage._errors import RecordConflict as RecordConflict
from tilemud.storage._errors import RecordNotFound as RecordNotFound
from tilemud.storage._errors import RecordRejected as RecordRejected
from tilemud.storage._errors import SchemaOutOfDate as SchemaOutOfDate
from tilemud.storage._errors import StatementTimeout as StatementTimeout
from tilemud.storage._errors import StorageError as StorageError
from tilemud.storage._errors import StorageUnavailable as StorageUnavailable
from tilemud.storage._guild_storage import GuildStorage as GuildStorage
from tilemud.storage._messages import FlushWriteBehind as FlushWriteBehind
from tilemud.storage._messages import StorageMessage as StorageMessage
from tilemud.storage._messages import Transact as Transact
from tilemud.storage._player_storage import PlayerStorage as PlayerStorage
from tilemud.storage._records import ArenaEvent as ArenaEvent
from tilemud.storage._records import ArenaLifecycle as ArenaLifecycle
from tilemud.storage._records import ArenaRecord as ArenaRecord
from tilemud.storage._records import ParticipantRecord as ParticipantRecord
from tilemud.storage._records import PlacementRecord as PlacementRecord
from tilemud.storage._records import PlayerRecord as PlayerRecord
from tilemud.storage._records import Recovery as Recovery
from tilemud.storage._records import Replay as Replay
from tilemud.storage._records import Snapshot as Snapshot
from tilemud.storage._records import TickChecksum as TickChecksum
from tilemud.storage._records_admin import AdminAccount as AdminAccount
from tilemud.storage._records_admin import AdminRole as AdminRole
from tilemud.storage._records_admin import AuditEntry as AuditEntry
from tilemud.storage._records_admin import AuditQuery as AuditQuery
from tilemud.storage._records_admin import AuditRecord as AuditRecord
from tilemud.storage._records_admin import ReportRecord as ReportRecord
from tilemud.storage._records_admin import ReportState as ReportState
from tilemud.storage._records_admin import SanctionKind as SanctionKind
from tilemud.storage._records_admin import SanctionRecord as SanctionRecord
from tilemud.storage._records_chat import ChatMessageRecord as ChatMessageRecord
from tilemud.storage._records_chat import ChatPurge as ChatPurge
from tilemud.storage._records_chat import DirectMessageRecord as DirectMessageRecord
from tilemud.storage._records_guilds import GuildInviteRecord as GuildInviteRecord
from tilemud.storage._records_guilds import GuildMemberRecord as GuildMemberRecord
from tilemud.storage._records_guilds import GuildRecord as GuildRecord
from tilemud.storage._records_rules import ReplayQuery as ReplayQuery
from tilemud.storage._records_rules import ReplaySummary as ReplaySummary
from tilemud.storage._records_rules import RuleActivation as RuleActivation
from tilemud.storage._records_rules import RuleSwitch as RuleSwitch
from tilemud.storage._records_rules import RuleVersion as RuleVersion
from tilemud.storage._repo_admin import add_admin as add_admin
from tilemud.storage._repo_admin import load_admin as load_admin
from tilemud.storage._repo_chat import is_blocked as is_blocked
from tilemud.storage._repo_guilds import create_guild as create_guild
from tilemud.storage._repo_guilds import disband_guild as disband_guild
from tilemud.storage._repo_guilds import drop_guild_invite as drop_guild_invite
from tilemud.storage._repo_guilds import invite_to_guild as invite_to_guild
from tilemud.storage._repo_guilds import join_guild as join_guild
from tilemud.storage._repo_guilds import load_guilds as load_guilds
from tilemud.storage._repo_guilds import remove_guild_member as remove_guild_member
from tilemud.storage._repo_guilds import set_guild_roles as set_guild_roles
from tilemud.storage._repo_log import append_placements as append_placements
from tilemud.storage._repo_log import load_latest_snapshot as load_latest_snapshot
from tilemud.storage._repo_log import load_participants as load_participants
from tilemud.storage._repo_log import load_placements as load_placements
from tilemud.storage._repo_log import load_recovery as load_recovery
from tilemud.storage._repo_log import load_replay as load_replay
from tilemud.storage._repo_log import load_tick_checksums as load_tick_checksums
from tilemud.storage._repo_log import record_participants as record_participants
from tilemud.storage._repo_log import record_tick_checksums as record_tick_checksums
from tilemud.storage._repo_log import save_snapshot as save_snapshot
from tilemud.storage._repo_rounds import list_rounds as list_rounds
from tilemud.storage._repo_world import create_arena as create_arena
from tilemud.storage._repo_world import end_arena as end_arena
from tilemud.storage._repo_world import list_live_arenas as list_live_arenas
from tilemud.storage._repo_world import load_arena as load_arena
from tilemud.storage._repo_world import load_player as load_player
from tilemud.storage._repo_world import load_rule_config as load_rule_config
from tilemud.storage._repo_world import purge_replays as purge_replays
from tilemud.storage._repo_world import record_rule_config as record_rule_config
from tilemud.storage._repo_world import upsert_player as upsert_player
from tilemud.storage._rules_storage import RuleStorage as RuleStorage
from tilemud.storage._write_behind import StorageStats as StorageStats
from tilemud.storage.actor import StorageActor as StorageActor
from tilemud.storage.migrate import check_schema as check_schema
