"""The session room: a player's session, their connections, presence and the critical path.

A session is a passive object owned by the session keeper; other actors reach it only
through its :class:`SessionRef` (docs/architecture.md, "Sessions").
"""

from tilemud.actors.session._connection import CloseRequest as CloseRequest
from tilemud.actors.session._connection import Connection as Connection
from tilemud.actors.session._critical import RETRY_SOON as RETRY_SOON
from tilemud.actors.session._critical import NotNow as NotNow
from tilemud.actors.session._critical import Refused as Refused
from tilemud.actors.session._critical import answer_within as answer_within
from tilemud.actors.session._keeper import SessionKeeper as SessionKeeper
from tilemud.actors.session._presence import PlayerDoor as PlayerDoor
from tilemud.actors.session._presence import Presence as Presence
from tilemud.actors.session._presence import PresenceRegistry as PresenceRegistry
from tilemud.actors.session._presence import PresenceWatcher as PresenceWatcher
from tilemud.actors.session._ref import SessionRef as SessionRef
from tilemud.actors.session._services import Admission as Admission
from tilemud.actors.session._services import BattleParties as BattleParties
from tilemud.actors.session._services import RequestRoute as RequestRoute
from tilemud.actors.session._services import SessionListener as SessionListener
from tilemud.actors.session._services import SessionServices as SessionServices
from tilemud.actors.session._session import Session as Session
from tilemud.actors.session._session import SessionIdentity as SessionIdentity
from tilemud.actors.session._turns import JoinTurns as JoinTurns
