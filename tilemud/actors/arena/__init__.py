"""The arena room: one actor per battle or epic arena, and the directory that seats players.

An :class:`Arena` is a thin actor shell over its synchronous core (``_core.ArenaCore``);
the :class:`ArenaDirectory` does matchmaking (Mode -> Region -> Load) and brings arenas
back from storage. Arenas reach players only through the :class:`PlayerLink` of a seat.
"""

from tilemud.actors.arena._actor import Arena as Arena
from tilemud.actors.arena._directory import AdoptArena as AdoptArena
from tilemud.actors.arena._directory import ArenaClosed as ArenaClosed
from tilemud.actors.arena._directory import ArenaDirectory as ArenaDirectory
from tilemud.actors.arena._directory import ArenaListing as ArenaListing
from tilemud.actors.arena._directory import ArenaTicket as ArenaTicket
from tilemud.actors.arena._directory import DirectoryMessage as DirectoryMessage
from tilemud.actors.arena._directory import FenceArenas as FenceArenas
from tilemud.actors.arena._directory import FindArena as FindArena
from tilemud.actors.arena._directory import HandOver as HandOver
from tilemud.actors.arena._directory import ListArenas as ListArenas
from tilemud.actors.arena._directory import NoArena as NoArena
from tilemud.actors.arena._directory import ReleaseSeat as ReleaseSeat
from tilemud.actors.arena._discovery import Discovery as Discovery
from tilemud.actors.arena._discovery import Route as Route
from tilemud.actors.arena._links import PlayerLink as PlayerLink
from tilemud.actors.arena._messages import ArenaJoined as ArenaJoined
from tilemud.actors.arena._messages import ArenaMessage as ArenaMessage
from tilemud.actors.arena._messages import ArenaView as ArenaView
from tilemud.actors.arena._messages import DescribeArena as DescribeArena
from tilemud.actors.arena._messages import JoinArena as JoinArena
from tilemud.actors.arena._messages import JoinOutcome as JoinOutcome
from tilemud.actors.arena._messages import JoinRefused as JoinRefused
from tilemud.actors.arena._messages import LeaveArena as LeaveArena
from tilemud.actors.arena._messages import LeaveReason as LeaveReason
from tilemud.actors.arena._messages import PlaceTile as PlaceTile
from tilemud.actors.arena._messages import Resync as Resync
from tilemud.actors.arena._messages import TickStats as TickStats
from tilemud.actors.arena._messages import UnwatchArena as UnwatchArena
from tilemud.actors.arena._messages import WatchArena as WatchArena
from tilemud.actors.arena._npcs import NpcPolicy as NpcPolicy
from tilemud.actors.arena._npcs import NpcTurn as NpcTurn
from tilemud.actors.arena._shard_keeper import ShardKeeper as ShardKeeper
from tilemud.actors.arena._shards import ClusterShards as ClusterShards
