"""The pure rules of tilemud: board, placement, captures, conflict resolution, scoring,
rounds, rule configs, NPC moves.

Nothing here does I/O, reads a clock, or draws from a global random source: the same
state, placements, tick, seed and rules always give the same result. ``docs/game.md``
describes the rules; the arena actor drives :func:`resolve_tick` once per tick, and
:func:`check_replay` re-runs a replay's log to prove it reproduces every stored checksum.
"""

from tilemud.game._board import Board as Board
from tilemud.game._board import PlacedTile as PlacedTile
from tilemud.game._board import Row as Row
from tilemud.game._board import Tile as Tile
from tilemud.game._board import board_checksum as board_checksum
from tilemud.game._board import cell_digest as cell_digest
from tilemud.game._errors import RuleConfigError as RuleConfigError
from tilemud.game._errors import SnapshotError as SnapshotError
from tilemud.game._npc_moves import BEHAVIOURS as BEHAVIOURS
from tilemud.game._npc_moves import NPC_PREFIX as NPC_PREFIX
from tilemud.game._npc_moves import Behaviour as Behaviour
from tilemud.game._npc_moves import Territory as Territory
from tilemud.game._npc_moves import decide_npc_move as decide_npc_move
from tilemud.game._npc_moves import is_npc as is_npc
from tilemud.game._npc_moves import npc_behaviour as npc_behaviour
from tilemud.game._npc_moves import npc_id as npc_id
from tilemud.game._npc_moves import npc_name as npc_name
from tilemud.game._placement import REJECT_REASONS as REJECT_REASONS
from tilemud.game._placement import Outcome as Outcome
from tilemud.game._placement import Placement as Placement
from tilemud.game._placement import PlacementKey as PlacementKey
from tilemud.game._placement import PlacementResult as PlacementResult
from tilemud.game._placement import RejectReason as RejectReason
from tilemud.game._placement import placement_order_key as placement_order_key
from tilemud.game._placement import slot_setters as slot_setters
from tilemud.game._replay import ReplayCheck as ReplayCheck
from tilemud.game._replay import ReplayDivergence as ReplayDivergence
from tilemud.game._replay import ReplayTick as ReplayTick
from tilemud.game._replay import ResimulatedTick as ResimulatedTick
from tilemud.game._replay import check_replay as check_replay
from tilemud.game._replay import resimulate as resimulate
from tilemud.game._resolve import Capture as Capture
from tilemud.game._resolve import TickOutcome as TickOutcome
from tilemud.game._resolve import admission_rank as admission_rank
from tilemud.game._resolve import conflict_rank as conflict_rank
from tilemud.game._resolve import resolve_tick as resolve_tick
from tilemud.game._rounds import RoundResult as RoundResult
from tilemud.game._rounds import end_round as end_round
from tilemud.game._rounds import round_first_tick as round_first_tick
from tilemud.game._rounds import round_of as round_of
from tilemud.game._rounds import round_over as round_over
from tilemud.game._rules import ARENA_RULES as ARENA_RULES
from tilemud.game._rules import BATTLE_RULES as BATTLE_RULES
from tilemud.game._rules import DEFAULT_TILE_KINDS as DEFAULT_TILE_KINDS
from tilemud.game._rules import MAX_BOARD_SIDE as MAX_BOARD_SIDE
from tilemud.game._rules import RULES_FORMAT_VERSION as RULES_FORMAT_VERSION
from tilemud.game._rules import Mode as Mode
from tilemud.game._rules import RuleConfig as RuleConfig
from tilemud.game._rules import ScoringRule as ScoringRule
from tilemud.game._rules import TileKind as TileKind
from tilemud.game._rules import default_rules as default_rules
from tilemud.game._scoring import BattleResult as BattleResult
from tilemud.game._scoring import EndReason as EndReason
from tilemud.game._scoring import score_board as score_board
from tilemud.game._snapshot import SNAPSHOT_FORMAT as SNAPSHOT_FORMAT
from tilemud.game._snapshot import board_from_dict as board_from_dict
from tilemud.game._snapshot import board_to_dict as board_to_dict
from tilemud.game._snapshot import decode_board as decode_board
from tilemud.game._snapshot import encode_board as encode_board
from tilemud.game._snapshot_rows import SnapshotRows as SnapshotRows
from tilemud.game._state import STATE_FORMAT as STATE_FORMAT
from tilemud.game._state import ArenaState as ArenaState
