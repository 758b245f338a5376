"""Chat channels: their names, who may read and write each, pure (no Trio, no I/O).

A channel id names its type and, for all but ``global``, what it belongs to:

=================  ============================================================
``global``         every player on the server
``region:<r>``     every player; ``r`` must be a region the server serves
``arena:<id>``     only the players seated in that arena (the session's seat)
``guild:<id>``     only the members of that guild
``party:<id>``     only the members of that party
=================  ============================================================

The same rule decides reading (joining the channel, its history) and writing. Direct
messages are no joinable channel: the pair is named ``direct:<a>:<b>`` (ids sorted) where a
name is needed, and only those two players read it.
"""

from __future__ import annotations

import re
from typing import Final, Literal, TypeAlias, get_args

import attrs

from tilemud.errors import TilemudError

#: The type of a channel; ``direct`` is the type of direct messages (retention).
ChannelType: TypeAlias = Literal["global", "region", "arena", "guild", "party", "direct"]

#: Every channel type, in the order of the table above.
CHANNEL_TYPES: Final[tuple[ChannelType, ...]] = get_args(ChannelType)

#: Error codes (``tilemud.protocol.ErrorCode`` values).
UNKNOWN_CHANNEL: Final = "unknown_channel"
FORBIDDEN: Final = "forbidden"

#: Longest channel id.
MAX_CHANNEL_LENGTH: Final = 160

_KEYED: Final = ("region", "arena", "guild", "party")
_KEY: Final = re.compile(r"[A-Za-z0-9_.:@-]{1,128}")


class ChannelRefused(TilemudError):
    """A channel that does not exist, or that the player may not use (``code`` says which)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@attrs.frozen(kw_only=True)
class Channel:
    """A parsed channel id.

    Attributes:
        kind: the channel's type.
        key: what it belongs to (the region, arena, guild or party id); "" for ``global``.
    """

    kind: ChannelType
    key: str = ""

    @property
    def name(self) -> str:
        """The channel id (``global``, ``guild:g1`` ...)."""
        return self.kind if self.kind == "global" else f"{self.kind}:{self.key}"


@attrs.frozen(kw_only=True)
class PlayerPlaces:
    """Where a player is, as far as channel access goes.

    Attributes:
        arena_id: the arena of the player's seat, or None.
        guild_id: the player's guild, or None.
        party_id: the player's party, or None.
    """

    arena_id: str | None = None
    guild_id: str | None = None
    party_id: str | None = None


def parse_channel(name: str, *, regions: frozenset[str] | tuple[str, ...]) -> Channel:
    """The channel an id names.

    Args:
        name: the channel id a player sent.
        regions: the regions the server serves (``region:<r>`` must name one).

    Raises:
        ChannelRefused: ``unknown_channel``: not a channel id, a ``direct:`` id, or a region
            the server does not serve.
    """
    if name == "global":
        return Channel(kind="global")
    kind, sep, key = name.partition(":")
    if not sep or kind not in _KEYED or _KEY.fullmatch(key) is None:
        raise ChannelRefused(
            UNKNOWN_CHANNEL,
            f"{name!r} is no channel: use global, region:<r>, arena:<id>, guild:<id> or party:<id>",
        )
    if kind == "region" and key not in regions:
        raise ChannelRefused(UNKNOWN_CHANNEL, f"this server serves no region {key!r}")
    channel_type: ChannelType = kind  # type: ignore[assignment]  # checked against _KEYED
    return Channel(kind=channel_type, key=key)


def check_access(channel: Channel, places: PlayerPlaces) -> None:
    """Whether a player where ``places`` says may read and write ``channel``.

    Raises:
        ChannelRefused: ``forbidden``, saying why.
    """
    match channel.kind:
        case "global" | "region":
            return
        case "arena":
            if places.arena_id != channel.key:
                raise ChannelRefused(FORBIDDEN, "only the players of that arena use its channel")
        case "guild":
            if places.guild_id != channel.key:
                raise ChannelRefused(FORBIDDEN, "only the members of that guild use its channel")
        case "party":
            if places.party_id != channel.key:
                raise ChannelRefused(FORBIDDEN, "only the members of that party use its channel")
        case "direct":
            raise ChannelRefused(FORBIDDEN, "direct messages are sent with dm_send")


def direct_pair(a: str, b: str) -> str:
    """The name of the direct conversation of two players (the same either way round)."""
    first, second = sorted((a, b))
    return f"direct:{first}:{second}"
