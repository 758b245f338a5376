"""Records of rule-config versions and their activations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from tilemud.game import RuleConfig


@attrs.frozen(kw_only=True)
class RuleActivation:
    """One period a version was in force for a mode in a region.

    Attributes:
        region: the region, or None for every region without an activation of its own.
        active_to: when it stopped; None while in force.
    """

    activation_id: int
    mode: str
    region: str | None
    number: int
    active_from: dt.datetime
    active_to: dt.datetime | None
    activated_by: str
    reason: str


@attrs.frozen(kw_only=True)
class RuleVersion:
    """A numbered version of a mode's rule config, with its history of activations.

    Attributes:
        number: 1, 2, ... within the mode; 1 is the built-in default.
        based_on: the version it was made from (None for version 1).
        author: who made it (``admin:<name>``, ``system`` for version 1).
        activations: its periods in force, oldest first.
    """

    mode: str
    number: int
    rules: RuleConfig
    based_on: int | None
    author: str
    reason: str
    created: dt.datetime
    activations: tuple[RuleActivation, ...] = ()

    @property
    def content_hash(self) -> str:
        """The rules' content hash (``joined.rules.version``, a replay's ``rules_version``)."""
        return self.rules.content_hash


@attrs.frozen(kw_only=True)
class RuleSwitch:
    """What an activation or a rollback did.

    Attributes:
        number: the version in force now.
        previous: the version in force before for that mode and region, if one was.
    """

    mode: str
    region: str | None
    number: int
    content_hash: str
    previous: int | None


@attrs.frozen(kw_only=True)
class ReplayQuery:
    """Which replays to list (every filter given must match), newest first.

    Attributes:
        player: took part in it.
        mode: ``battle`` or ``arena``.
        since: created at or after this time.
        until: created before this time.
    """

    player: str | None = None
    mode: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 50
    offset: int = 0


@attrs.frozen(kw_only=True)
class ReplaySummary:
    """One replay in a listing.

    Attributes:
        rule_version: the number of its rules among its mode's versions, or None when
            they are no version (an arena created before versions, or with
            ``world.arena_round_ticks`` differing from version 1).
        participants: how many players took part.
    """

    arena_id: str
    mode: str
    region: str
    state: str
    created: dt.datetime
    ended: dt.datetime | None
    parent_id: str | None
    round: int | None
    rules_version: str
    rule_version: int | None
    participants: int
    result: dict[str, Any] | None
