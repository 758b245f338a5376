"""Wire messages of moderation: a player's ``report`` of another player, and its answer.

Sanctions themselves reach players as errors and close codes: ``banned`` (close 4010)
refuses a ``hello`` and ends a banned player's connections, ``kicked`` (close 4011) ends
them without a ban, ``muted`` refuses ``chat_send`` and ``dm_send``; each ``error`` frame
says until when in ``until`` (docs/protocol.md, "Moderation").
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from tilemud.protocol._fields import ID, RID, Text

#: Most code points of a report's reason on the wire (the server's own limit,
#: ``social.message_max_chars``, is checked after trimming).
MAX_REPORT_REASON_WIRE = 2000


@attrs.frozen(kw_only=True)
class Report:
    """Reports a player to the moderators, with a reason (critical tier).

    Answered by ``report_result``, or an ``error``: ``invalid_target`` (yourself),
    ``unknown_player``, ``empty_message`` / ``message_too_long`` / ``invalid_text`` (the
    reason), ``rate_limited`` (``limits.reports`` per ``limits.reports_window`` seconds).

    Attributes:
        rid: the request id, echoed by the answer.
        player_id: whom to report.
        reason: what they did, for the moderators: one line, at most
            ``social.message_max_chars`` characters once trimmed.
    """

    TYPE: ClassVar[str] = "report"

    rid: str = attrs.field(validator=RID)
    player_id: str = attrs.field(validator=ID)
    reason: str = attrs.field(validator=Text(max_length=MAX_REPORT_REASON_WIRE))


@attrs.frozen(kw_only=True)
class ReportResult:
    """The answer to a good ``report``: it waits in the moderators' queue.

    Attributes:
        rid: the ``report``'s request id.
        report_id: the report's id (the moderators' queue names it so).
    """

    TYPE: ClassVar[str] = "report_result"

    rid: str = attrs.field(validator=RID)
    report_id: str = attrs.field(validator=ID)
