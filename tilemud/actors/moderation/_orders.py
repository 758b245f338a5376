"""What moderators ask of the moderation actor: orders, their outcomes and refusals, and
the client the admin API holds."""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import attrs

from tilemud.errors import TilemudError
from tilemud.mailbox import Ref, Reply
from tilemud.protocol import ErrorCode

#: Longest moderator's reason, in characters.
MAX_REASON_CHARS: Final = 500
#: Longest timed sanction, in seconds (ten years: longer is a permanent ban).
MAX_DURATION: Final = 10 * 365 * 24 * 3600.0

Action: TypeAlias = Literal["mute", "unmute", "ban", "unban", "kick"]
#: What a moderator may do with a report.
Decision: TypeAlias = Literal["dismiss", "mute", "ban", "kick"]


class ModerationRefused(TilemudError):
    """A moderator's request that changed nothing; ``code`` says why (``bad_request``,
    ``unknown_player``, ``already_muted``, ``not_muted``, ``already_banned``,
    ``not_banned``, ``player_offline``, ``not_found``, ``already_decided``,
    ``unavailable``, with ``retry_after`` when the cluster could not be reached)."""

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        #: Seconds after which the act may be tried again; None: not said.
        self.retry_after = retry_after


@attrs.frozen(kw_only=True)
class Order:
    """One act on a player.

    Attributes:
        action: what to do.
        player_id: to whom.
        actor: who does it (``admin:<name>``), for the audit log.
        reason: why; required, told to the player with a ban or mute.
        duration: seconds a mute (required) or ban (None: permanent) lasts.
    """

    action: Action
    player_id: str
    actor: str
    reason: str
    duration: float | None = None


@attrs.frozen(kw_only=True)
class Outcome:
    """What an act did.

    Attributes:
        until: when the mute or ban ends (seconds since the Unix epoch); None otherwise.
        disconnected: whether a live connection of the player was closed.
    """

    action: str
    player_id: str
    until: float | None
    disconnected: bool


@attrs.frozen(kw_only=True)
class Moderate:
    """Ask: carry out ``order``; answered with an :class:`Outcome` or a refusal."""

    order: Order
    reply: Reply[Outcome | ModerationRefused]


@attrs.frozen(kw_only=True)
class DecideReport:
    """Ask: decide report ``report_id``: ``dismiss`` it, or act on its target."""

    report_id: str
    decision: Decision
    actor: str
    reason: str
    duration: float | None
    reply: Reply[Outcome | ModerationRefused]


#: What another node tells (``Heard``): ``reload`` means load everything from storage.
Act: TypeAlias = Literal["mute", "unmute", "ban", "unban", "kick", "reload"]


@attrs.frozen(kw_only=True)
class Heard:
    """Tell: another node carried out (and stored) an act; apply it here."""

    act: Act
    player_id: str
    reason: str
    #: When a mute or timed ban ends (Unix seconds); None: never (or not a sanction).
    until: float | None


@attrs.frozen(kw_only=True)
class Resync:
    """Tell: messages from other nodes may have been lost; load the sanctions again."""


ModerationMessage: TypeAlias = Moderate | DecideReport | Heard | Resync


def check_order(order: Order) -> None:
    """Refuse a malformed order before it reaches the actor.

    Raises:
        ModerationRefused: ``bad_request`` with what is wrong.
    """
    reason = order.reason.strip()
    if not reason or len(reason) > MAX_REASON_CHARS or not reason.isprintable():
        raise ModerationRefused(
            f"a reason is required: 1-{MAX_REASON_CHARS} printable characters",
            code=ErrorCode.BAD_REQUEST,
        )
    duration = order.duration
    if duration is not None and not 0 < duration <= MAX_DURATION:
        raise ModerationRefused(
            f"duration_s must be in (0, {MAX_DURATION:.0f}]", code=ErrorCode.BAD_REQUEST
        )
    if order.action == "mute" and duration is None:
        raise ModerationRefused("a mute needs duration_s", code=ErrorCode.BAD_REQUEST)
    if order.action in ("unmute", "unban", "kick") and duration is not None:
        raise ModerationRefused(f"{order.action} takes no duration_s", code=ErrorCode.BAD_REQUEST)


class ModerationClient:
    """What the admin API holds: the actor's door. The caller sets the timeout."""

    def __init__(self, ref: Ref[ModerationMessage]) -> None:
        self._ref = ref

    async def moderate(self, order: Order) -> Outcome:
        """Carry out ``order``.

        Raises:
            ModerationRefused: nothing changed, and why.
        """
        check_order(order)
        answer: Outcome | ModerationRefused = await self._ref.ask(
            lambda reply: Moderate(order=order, reply=reply)
        )
        if isinstance(answer, ModerationRefused):
            raise answer
        return answer

    async def decide_report(
        self,
        report_id: str,
        *,
        decision: Decision,
        actor: str,
        reason: str,
        duration: float | None = None,
    ) -> Outcome:
        """Dismiss report ``report_id`` or act on its target.

        Raises:
            ModerationRefused: nothing changed, and why.
        """
        if decision != "dismiss":
            check_order(
                Order(action=decision, player_id="-", actor=actor, reason=reason, duration=duration)
            )
        elif not reason.strip():
            raise ModerationRefused("a reason is required", code=ErrorCode.BAD_REQUEST)
        answer: Outcome | ModerationRefused = await self._ref.ask(
            lambda reply: DecideReport(
                report_id=report_id,
                decision=decision,
                actor=actor,
                reason=reason.strip(),
                duration=duration,
                reply=reply,
            )
        )
        if isinstance(answer, ModerationRefused):
            raise answer
        return answer
