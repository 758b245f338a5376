"""Pins the public face of each kind of actor: changing one is a decision, not an accident.

Other rooms import a kind of actor only through its face (``tests/test_house.py`` checks
that no module reaches into another package's private modules).
"""

from __future__ import annotations

import importlib

import pytest

FACES: dict[str, set[str]] = {
    "arena": {
        "AdoptArena",
        "Arena",
        "ArenaClosed",
        "ArenaDirectory",
        "ArenaJoined",
        "ArenaListing",
        "ArenaMessage",
        "ArenaTicket",
        "ArenaView",
        "ClusterShards",
        "DescribeArena",
        "DirectoryMessage",
        "Discovery",
        "FenceArenas",
        "FindArena",
        "HandOver",
        "JoinArena",
        "JoinOutcome",
        "JoinRefused",
        "LeaveArena",
        "LeaveReason",
        "ListArenas",
        "NoArena",
        "NpcPolicy",
        "NpcTurn",
        "PlaceTile",
        "PlayerLink",
        "ReleaseSeat",
        "Resync",
        "Route",
        "ShardKeeper",
        "TickStats",
        "UnwatchArena",
        "WatchArena",
    },
    "session": {
        "BattleParties",
        "CloseRequest",
        "Connection",
        "PlayerDoor",
        "Presence",
        "PresenceRegistry",
        "PresenceWatcher",
        "RETRY_SOON",
        "Refused",
        "RequestRoute",
        "Session",
        "SessionIdentity",
        "JoinTurns",
        "NotNow",
        "SessionKeeper",
        "Admission",
        "SessionListener",
        "SessionRef",
        "SessionServices",
        "answer_within",
    },
    "chat": {
        "ChatClient",
        "ChatMemberships",
        "ChatRequests",
        "ChatService",
        "ChatStore",
        "MemoryChatStore",
    },
    "guilds": {
        "GuildDone",
        "GuildRefused",
        "GuildRequests",
        "GuildSync",
        "Guilds",
        "GuildsClient",
    },
    "moderation": {
        "BanAdmission",
        "Decision",
        "Moderation",
        "ModerationClient",
        "ModerationRefused",
        "MuteGate",
        "Order",
        "Outcome",
        "ReportRequests",
        "Sanction",
        "SanctionBook",
        "SanctionNews",
    },
    "elasticity": {
        "Elasticity",
        "NpcAllowance",
        "ProcessSampler",
        "Sample",
        "Sampler",
        "Thresholds",
    },
    "parties": {
        "Parties",
        "PartyGone",
        "PartyLinks",
        "PartyRequests",
    },
}


@pytest.mark.parametrize("kind", sorted(FACES))
def test_public_face(kind: str) -> None:
    face = importlib.import_module(f"tilemud.actors.{kind}")
    assert {name for name in dir(face) if not name.startswith("_")} == FACES[kind]


def test_actors_package_exports_nothing_but_its_kinds() -> None:
    actors = importlib.import_module("tilemud.actors")
    assert {name for name in dir(actors) if not name.startswith("_")} <= set(FACES)
