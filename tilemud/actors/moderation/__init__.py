"""The moderation room: the node's mutes and bans, moderators' acts, players' reports.

The actor (:class:`Moderation`) owns the sanctions; the gates apply them where players
arrive and speak (docs/architecture.md, "Moderation").
"""

from tilemud.actors.moderation._actor import Moderation as Moderation
from tilemud.actors.moderation._book import Sanction as Sanction
from tilemud.actors.moderation._book import SanctionBook as SanctionBook
from tilemud.actors.moderation._gates import BanAdmission as BanAdmission
from tilemud.actors.moderation._gates import MuteGate as MuteGate
from tilemud.actors.moderation._gates import ReportRequests as ReportRequests
from tilemud.actors.moderation._news import SanctionNews as SanctionNews
from tilemud.actors.moderation._orders import Decision as Decision
from tilemud.actors.moderation._orders import ModerationClient as ModerationClient
from tilemud.actors.moderation._orders import ModerationRefused as ModerationRefused
from tilemud.actors.moderation._orders import Order as Order
from tilemud.actors.moderation._orders import Outcome as Outcome
