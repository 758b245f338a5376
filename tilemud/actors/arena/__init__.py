"""arena."""

from tilemud.actors.arena._actor import Arena as Arena
from tilemud.actors.arena._actor import ArenaView as ArenaView
from tilemud.actors.arena._actor import DescribeArena as DescribeArena
from tilemud.actors.arena._actor import JoinArena as JoinArena
from tilemud.actors.arena._actor import JoinOutcome as JoinOutcome
from tilemud.actors.arena._actor import JoinRefused as JoinRefused
from tilemud.actors.arena._actor import LeaveArena as LeaveArena
from tilemud.actors.arena._actor import LeaveReason as LeaveReason
from tilemud.actors.arena._actor import PlaceTile as PlaceTile
from tilemud.actors.arena._actor import Resync as Resync
from tilemud.actors.arena._directory import ArenaDirectory as ArenaDirectory
from tilemud.actors.arena._directory import ArenaTicket as ArenaTicket
from tilemud.actors.arena._directory import DirectoryMessage as DirectoryMessage
from tilemud.actors.arena._directory import FindArena as FindArena
from tilemud.actors.arena._directory import NoArena as NoArena
from tilemud.actors.arena._directory import ReleaseSeat as ReleaseSeat
from tilemud.actors.arena._links import PlayerLink as PlayerLink
