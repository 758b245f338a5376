"""guilds."""

from tilemud.actors.guilds._actor import Guilds as Guilds
from tilemud.actors.guilds._actor import GuildsClient as GuildsClient
from tilemud.actors.guilds._requests import GuildRequests as GuildRequests
