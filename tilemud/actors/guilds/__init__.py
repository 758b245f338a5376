"""The guild room: the guilds actor (every guild, member, role and invite of the node) and
the sessions' guild route."""

from tilemud.actors.guilds._actor import GuildDone as GuildDone
from tilemud.actors.guilds._actor import GuildRefused as GuildRefused
from tilemud.actors.guilds._actor import Guilds as Guilds
from tilemud.actors.guilds._actor import GuildsClient as GuildsClient
from tilemud.actors.guilds._cluster import GuildSync as GuildSync
from tilemud.actors.guilds._requests import GuildRequests as GuildRequests
