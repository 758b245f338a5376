"""parties."""

from tilemud.actors.parties._parties import Parties as Parties
from tilemud.actors.parties._requests import PartyRequests as PartyRequests
