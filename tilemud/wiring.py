"""Small adapters the composition root (tilemud/server.py) hands the rooms it wires.

Kept apart so that the root stays the picture of the tree: the addresses a running server
is reached at, the start protocol's status for a callback, chat's view of guilds and
parties, the parties' cluster links, the invite check, and the rules a new arena runs under.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from tilemud.actors.chat import ChatClient
from tilemud.actors.guilds import GuildsClient
from tilemud.actors.parties import Parties, PartyLinks
from tilemud.cluster import ClusterBus, ClusterLink
from tilemud.cluster.link import ClusterUnavailable
from tilemud.cluster.presence import ClusterPresence
from tilemud.config import ClusterSettings, WorldSettings
from tilemud.game import Mode, RuleConfig, default_rules
from tilemud.storage import RuleStorage


@attrs.frozen(kw_only=True)
class ServerAddresses:
    """Where a running server can be reached (the real ports, also when 0 was asked for)."""

    host: str
    ws_port: int
    http_port: int
    ws_path: str
    #: ``https`` when the HTTP port serves TLS (``server.tls_certfile``/``tls_keyfile``).
    http_scheme: str = "http"

    @property
    def ws_url(self) -> str:
        """The players' WebSocket URL (``wss://`` when the server has TLS)."""
        scheme = "wss" if self.http_scheme == "https" else "ws"
        return f"{scheme}://{self.host}:{self.ws_port}{self.ws_path}"

    @property
    def http_url(self) -> str:
        """The base URL of the HTTP API."""
        return f"{self.http_scheme}://{self.host}:{self.http_port}"


class OnStarted:
    """A task status that hands the started value to a callback (the start protocol)."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        self._callback = callback

    def started(self, value: int | None = None) -> None:
        assert value is not None
        self._callback(value)


class Memberships:
    """Chat's view of who is in which guild and party (``ChatMemberships``).

    Args:
        guilds: asked for a player's guild (the guilds actor's client, built after chat).
        parties: asked for a player's party.
    """

    def __init__(self, guilds: Callable[[], GuildsClient], parties: Callable[[], Parties]) -> None:
        self._guilds = guilds
        self._parties = parties

    async def guild_of(self, player_id: str) -> str | None:
        return await self._guilds().guild_of(player_id)

    async def party_of(self, player_id: str) -> str | None:
        parties = self._parties()
        try:
            # A member of a party held by another node reads and writes its channel here.
            return await parties.party_anywhere(player_id)
        except ClusterUnavailable:
            # Redis is down: what this node knows (a member elsewhere waits for it).
            return parties.party_of(player_id)


def party_links(
    cluster: ClusterLink | None,
    bus: ClusterBus | None,
    settings: ClusterSettings,
    presence: ClusterPresence[Any] | None,
) -> PartyLinks | None:
    """How parties act across the nodes of a cluster (None: this node runs alone)."""
    if cluster is None or bus is None or presence is None:
        return None
    return PartyLinks(cluster, bus, settings, online=presence.online)


def blocks(chat: ChatClient) -> Callable[[str, str], Awaitable[bool]]:
    """The invite check of guilds and parties: does the invitee block the inviter?"""

    async def is_blocked(blocker_id: str, blocked_id: str) -> bool:
        return await chat.is_blocked(blocker_id=blocker_id, blocked_id=blocked_id)

    return is_blocked


def rules_for(world: WorldSettings, mode: Mode) -> RuleConfig:
    """The built-in rule config of ``mode``: the defaults, with the epic arena's round
    length from ``world.arena_round_ticks`` (0: no rounds) and its NPC cap from
    ``world.arena_npc_cap``."""
    rules = default_rules(mode)
    if mode != "arena":
        return rules
    return attrs.evolve(
        rules, round_ticks=world.arena_round_ticks or None, npc_cap=world.arena_npc_cap
    )


class ActiveRules:
    """The arena directory's ``rules_for``: the rule version in force for the mode and
    region (the admin API activates them, docs/console.md), else the built-in rules.

    Asked once per new arena, from storage, so every node sees an activation at once.
    """

    def __init__(self, world: WorldSettings, storage: RuleStorage | None) -> None:
        self._world = world
        self._storage = storage

    async def rules_for(self, mode: Mode, region: str) -> RuleConfig:
        """The rules a new arena of ``mode`` in ``region`` runs under.

        Raises:
            StorageUnavailable: the database did not answer (no arena opens then).
        """
        active = None if self._storage is None else await self._storage.active_rules(mode, region)
        return rules_for(self._world, mode) if active is None else active
