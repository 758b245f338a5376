"""How long chat is kept, per channel type, and the ids of direct messages; pure.

Defaults (``[social]`` settings, docs/operations.md): global, region, arena and party chat
24 hours; guild chat and direct messages 30 days. A message sent exactly ``retention``
seconds ago is still kept; one a moment older is deleted by the next purge and no longer
shown as history.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from tilemud.config import SocialSettings
from tilemud.social.chat_channels import CHANNEL_TYPES, ChannelType


def _frozen(value: Mapping[ChannelType, float]) -> Mapping[ChannelType, float]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class RetentionPolicy:
    """Seconds each channel type's messages are kept.

    Attributes:
        seconds: channel type -> retention in seconds (every type has one).
    """

    seconds: Mapping[ChannelType, float] = attrs.field(converter=_frozen)

    @seconds.validator
    def _every_type(self, attribute: object, value: Mapping[ChannelType, float]) -> None:
        missing = set(CHANNEL_TYPES) - set(value)
        if missing:
            raise ValueError(f"no retention for {sorted(missing)}")
        if any(v <= 0 for v in value.values()):
            raise ValueError("retention must be positive")

    @classmethod
    def from_settings(cls, settings: SocialSettings) -> RetentionPolicy:
        """The policy the ``[social]`` settings give."""
        seconds: dict[ChannelType, float] = {
            "global": settings.retention_global,
            "region": settings.retention_region,
            "arena": settings.retention_arena,
            "guild": settings.retention_guild,
            "party": settings.retention_party,
            "direct": settings.retention_direct,
        }
        return cls(seconds=seconds)

    def cutoff(self, channel_type: ChannelType, now: dt.datetime) -> dt.datetime:
        """The oldest ``sent_at`` of ``channel_type`` still kept at ``now`` (kept itself)."""
        return now - dt.timedelta(seconds=self.seconds[channel_type])

    def channel_cutoffs(self, now: dt.datetime) -> dict[str, dt.datetime]:
        """The cut-off of every channel type but ``direct``, for the purge."""
        return {kind: self.cutoff(kind, now) for kind in CHANNEL_TYPES if kind != "direct"}


def direct_message_id(*, sender_id: str, rid: str, recipient_id: str, text: str) -> str:
    """The id of the direct message a player's request ``rid`` sends.

    Derived, not drawn: the same request repeated after a restart (when the answer was
    lost, and the server no longer remembers the ``rid``) stores nothing new, so a direct
    message is applied once per ``rid`` for good. The recipient and the text are part of
    it, so a client that reuses a ``rid`` much later for another message still sends it.
    """
    key = "\x00".join((sender_id, rid, recipient_id, text))
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"dm_{digest[:32]}"
