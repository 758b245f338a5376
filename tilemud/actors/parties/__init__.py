"""The party room: one temporary actor per party under the parties' dynamic supervisor,
their directory, and the sessions' party route."""

from tilemud.actors.parties._cluster import PartyLinks as PartyLinks
from tilemud.actors.parties._parties import Parties as Parties
from tilemud.actors.parties._parties import PartyGone as PartyGone
from tilemud.actors.parties._requests import PartyRequests as PartyRequests
