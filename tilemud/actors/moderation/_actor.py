"""Moderation actor: the node's mutes and bans, and every moderator's act on a player.

Owns:
    the :class:`SanctionBook` (mutes and bans in force), loaded from storage when it
    starts; sessions and the gateway read it (``muted``, ``banned``), only this task
    writes it.
Started by:
    the world supervisor, as child ``moderation`` (permanent). A restart loads the
    sanctions again; without storage (``database.durable`` off) the book starts empty and
    nothing is stored or audited (the admin API is off then).
Takes:
    ``Moderate`` (ask): mute (timed), unmute, ban (timed or permanent), unban or kick one
    player, with a reason, on behalf of an admin account. Each is decided against the
    book (``already_muted``, ``not_banned`` ...), stored with its audit record in one
    transaction, and only then applied: the book changes, and a ban or kick closes the
    player's live connection (4010 ``banned``, 4011 ``kicked``). One act at a time, so
    two moderators acting on the same player are serialised: the second sees the first.
    ``DecideReport`` (ask): dismiss an open report, or act on it (mute, kick or ban its
    target), the report's decision, the sanction and their audit records in one
    transaction.
    ``Heard`` (tell, from another node through :class:`SanctionNews`): an act stored
    there, applied to this book at once (a ban or kick closes the player's connection
    here too); ``Resync`` (tell): load the sanctions from storage again.
In a cluster:
    every act is refused (``unavailable`` + ``retry_after``) while Redis cannot be
    reached, before anything is stored; once stored and applied here it is announced to
    every node (tilemud/actors/moderation/_news.py). A kick reaches a player on any node.
Sends:
    ``disconnect(player_id, close_code, reason, farewell)`` (the gateway's session keeper,
    handed in by the composition root; never blocks): the player reads the farewell
    ``error`` frame (``banned`` with ``until``, or ``kicked``), then the close. Asks
    storage.
Mailbox:
    ``MAILBOX_SIZE`` messages, ``BLOCK``: a moderator's request waits while another is
    being stored.

Why one module of over 400 lines: the moderators' acts and what other nodes tell are two
ways into the one book this task alone writes; split, its one writer would be spread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final, Literal, assert_never

import attrs
import trio

from tilemud.actors.moderation._book import Kind, Sanction, SanctionBook
from tilemud.actors.moderation._gates import farewell, kick_farewell
from tilemud.actors.moderation._news import SanctionNews
from tilemud.actors.moderation._orders import (
    DecideReport,
    Heard,
    Moderate,
    ModerationClient,
    ModerationMessage,
    ModerationRefused,
    Order,
    Outcome,
    Resync,
)
from tilemud.cluster.link import ClusterUnavailable
from tilemud.mailbox import Mailbox, Overflow, open_mailbox
from tilemud.protocol import CloseCode, ErrorCode
from tilemud.storage import (
    AdminStorage,
    AuditEntry,
    RecordNotFound,
    SanctionRecord,
    StorageUnavailable,
)
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.moderation")

# The words of a sanction in force: ``already_muted``, ``not_banned`` ...
_PAST: Final = {"mute": "muted", "ban": "banned"}

#: Requests waiting for the actor.
MAILBOX_SIZE: Final = 64


def _no_one(player_id: str, code: int, reason: str, farewell: str | None) -> bool:
    return False


class Moderation:
    """The moderation actor (see the module docstring).

    Args:
        storage: where sanctions, reports and the audit log are kept; None keeps the book
            in memory only.
        online: whether a player has a session on this node (unknown players are refused).
        disconnect: closes a player's live connection with a close code, after an encoded
            ``error`` frame (the farewell); False when they had none. Never blocks.
        wall_clock: seconds since the Unix epoch (``until`` is told in it).
        news: the other nodes of the cluster (None: this node alone).
        online_anywhere: whether a player has a session on any node (a kick needs one);
            None: ``online``.
    """

    def __init__(
        self,
        *,
        storage: AdminStorage | None,
        online: Callable[[str], bool],
        disconnect: Callable[[str, int, str, str | None], bool] = _no_one,
        wall_clock: Callable[[], float] = time.time,
        news: SanctionNews | None = None,
        online_anywhere: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self._storage = storage
        self._online = online
        self._disconnect = disconnect
        self._wall = wall_clock
        self._mailbox: Mailbox[ModerationMessage] = open_mailbox(
            "moderation", MAILBOX_SIZE, Overflow.BLOCK
        )
        #: The sanctions in force (read by sessions and the gateway).
        self.book = SanctionBook()
        #: The admin API's door.
        self.client = ModerationClient(self._mailbox.ref)
        self._news = news
        self._online_anywhere = online_anywhere
        if news is not None:
            news.deliver_to(self._mailbox.ref)

    async def run(self, ctx: ChildContext) -> None:
        """Load the sanctions, then serve until cancelled (the child's entry point).

        Raises:
            StorageUnavailable: they could not be loaded (the supervisor retries).
        """
        await self._load()
        log.info("sanctions loaded", extra={"sanctions": len(self.book)})
        ctx.started(self.client)
        async for message in self._mailbox.inbox:
            self.book.prune()
            if isinstance(message, (Heard, Resync)):
                await self._hear(message)
                continue
            try:
                answer = await self._answer(message)
            except ModerationRefused as refused:
                message.reply.send(refused)
            except StorageUnavailable as exc:
                message.reply.send(ModerationRefused(f"storage: {exc}", code=ErrorCode.UNAVAILABLE))
            else:
                message.reply.send(answer)

    async def _load(self) -> None:
        self.book.clear()
        if self._storage is None:
            return
        now, wall = trio.current_time(), self._wall()
        for record in await self._storage.load_sanctions():
            until = None if record.until is None else record.until.timestamp()
            if until is not None and until <= wall:
                continue  # ended while the node was down
            deadline = None if until is None else now + (until - wall)
            self.book.put(
                record.player_id,
                Sanction(kind=record.kind, reason=record.reason, until=until, deadline=deadline),
            )

    async def _answer(self, message: Moderate | DecideReport) -> Outcome:
        if self._news is not None:
            await self._news.check_reachable()
        match message:
            case Moderate(order=order):
                await self._check_player(order.player_id)
                outcome = await self._carry_out(order, report=None)
                reason = order.reason.strip()
            case DecideReport():
                outcome = await self._decide(message)
                reason = message.reason
            case _:
                assert_never(message)
        if self._news is not None and outcome.action != "dismiss":
            await self._news.announce(outcome.action, outcome.player_id, reason, outcome.until)
            if outcome.action in ("ban", "kick") and not outcome.disconnected:
                # Their node closes the connection when it hears the act.
                elsewhere = False
                with contextlib.suppress(ModerationRefused):
                    elsewhere = await self._online_somewhere(outcome.player_id)
                outcome = attrs.evolve(outcome, disconnected=elsewhere)
        return outcome

    async def _hear(self, message: Heard | Resync) -> None:
        """Apply what another node did (it stored it), or reload everything."""
        match message:
            case Resync():
                try:
                    await self._load()
                except StorageUnavailable as exc:
                    log.warning("sanctions not reloaded: %s", exc)
                if self._news is not None:
                    await self._news.announce_reload()
            case Heard(act="mute" | "ban" as kind, player_id=player_id):
                sanction = self._heard_sanction(kind, message)
                if sanction is None:
                    return  # ended already
                self.book.put(player_id, sanction)
                if kind == "ban":
                    self._disconnect(
                        player_id, CloseCode.BANNED, ErrorCode.BANNED, farewell(sanction)
                    )
            case Heard(act="unmute", player_id=player_id):
                self.book.drop(player_id, "mute")
            case Heard(act="unban", player_id=player_id):
                self.book.drop(player_id, "ban")
            case Heard(act="kick", player_id=player_id, reason=reason):
                self._disconnect(
                    player_id, CloseCode.KICKED, ErrorCode.KICKED, kick_farewell(reason)
                )
            case Heard(act="reload"):
                await self._hear(Resync())
            case _:
                raise AssertionError(message)

    def _heard_sanction(self, kind: Kind, heard: Heard) -> Sanction | None:
        if heard.until is None:
            return Sanction(kind=kind, reason=heard.reason, until=None, deadline=None)
        left = heard.until - self._wall()
        if left <= 0:
            return None
        return Sanction(
            kind=kind, reason=heard.reason, until=heard.until, deadline=trio.current_time() + left
        )

    async def _online_somewhere(self, player_id: str) -> bool:
        if self._online(player_id):
            return True
        if self._online_anywhere is None:
            return False
        try:
            return await self._online_anywhere(player_id)
        except ClusterUnavailable as exc:
            raise ModerationRefused(
                "the cluster cannot be reached",
                code=ErrorCode.UNAVAILABLE,
                retry_after=exc.retry_after,
            ) from exc

    async def _check_player(self, player_id: str) -> None:
        # Online on any node counts: their first "last seen" may not be stored yet.
        if await self._online_somewhere(player_id):
            return
        if self._storage is not None and await self._storage.player_exists(player_id):
            return
        raise ModerationRefused(
            f"player {player_id!r} never played here", code=ErrorCode.UNKNOWN_PLAYER
        )

    async def _carry_out(self, order: Order, *, report: str | None) -> Outcome:
        """Decide, store (with the audit record), then apply one act."""
        player_id, action = order.player_id, order.action
        entry = AuditEntry(
            actor=order.actor,
            action=action,
            target=player_id,
            reason=order.reason.strip(),
            detail=_detail(order.duration, report),
        )
        match action:
            case "mute" | "ban":
                kind: Kind = action
                if self.book.in_force(player_id, kind) is not None:
                    raise ModerationRefused(
                        f"player {player_id!r} is {_PAST[kind]} already; lift it first",
                        code=f"already_{_PAST[kind]}",
                    )
                sanction = self._sanction(kind, order)
                if self._storage is not None:
                    await self._storage.impose(self._record(player_id, sanction, order), entry)
                self.book.put(player_id, sanction)
                disconnected = kind == "ban" and self._disconnect(
                    player_id, CloseCode.BANNED, ErrorCode.BANNED, farewell(sanction)
                )
                log.info("%s", kind, extra={"player_id": player_id, "actor": order.actor})
                return Outcome(
                    action=action,
                    player_id=player_id,
                    until=sanction.until,
                    disconnected=disconnected,
                )
            case "unmute" | "unban":
                kind = "mute" if action == "unmute" else "ban"
                if self.book.in_force(player_id, kind) is None:
                    raise ModerationRefused(
                        f"player {player_id!r} is not {_PAST[kind]}", code=f"not_{_PAST[kind]}"
                    )
                if self._storage is not None:
                    await self._storage.lift(player_id, kind, entry)
                self.book.drop(player_id, kind)
                return Outcome(action=action, player_id=player_id, until=None, disconnected=False)
            case "kick":
                if not await self._online_somewhere(player_id):
                    raise ModerationRefused(
                        f"player {player_id!r} has no session here", code=ErrorCode.PLAYER_OFFLINE
                    )
                if self._storage is not None:
                    await self._storage.audit(entry)
                disconnected = self._disconnect(
                    player_id, CloseCode.KICKED, ErrorCode.KICKED, kick_farewell(entry.reason or "")
                )
                return Outcome(
                    action=action, player_id=player_id, until=None, disconnected=disconnected
                )
            case _:
                assert_never(action)

    async def _decide(self, message: DecideReport) -> Outcome:
        storage = self._storage
        if storage is None:
            raise ModerationRefused("reports are not stored here", code=ErrorCode.NOT_FOUND)
        try:
            report = await storage.load_report(message.report_id)
        except RecordNotFound as exc:
            raise ModerationRefused(str(exc), code=ErrorCode.NOT_FOUND) from exc
        if report.state != "open":
            raise ModerationRefused(
                f"report {message.report_id!r} was {report.state} already",
                code="already_decided",
            )
        decision_entry = AuditEntry(
            actor=message.actor,
            action=f"report_{'dismissed' if message.decision == 'dismiss' else 'actioned'}",
            target=message.report_id,
            reason=message.reason,
            detail={"decision": message.decision, "player_id": report.target_id},
        )
        state: Literal["dismissed", "actioned"] = (
            "dismissed" if message.decision == "dismiss" else "actioned"
        )
        if message.decision in ("dismiss", "kick"):
            decided = await storage.decide_report(
                message.report_id,
                state=state,
                decided_by=message.actor,
                decision=message.reason,
                entries=[decision_entry],
            )
            if not decided:
                raise ModerationRefused("decided meanwhile", code="already_decided")
            if message.decision == "dismiss":
                return Outcome(
                    action="dismiss", player_id=report.target_id, until=None, disconnected=False
                )
            order = Order(
                action="kick",
                player_id=report.target_id,
                actor=message.actor,
                reason=message.reason,
            )
            if not await self._online_somewhere(order.player_id):
                return Outcome(
                    action="kick", player_id=order.player_id, until=None, disconnected=False
                )
            return await self._carry_out(order, report=message.report_id)
        kind: Kind = "mute" if message.decision == "mute" else "ban"
        order = Order(
            action=kind,
            player_id=report.target_id,
            actor=message.actor,
            reason=message.reason,
            duration=message.duration,
        )
        if self.book.in_force(order.player_id, kind) is not None:
            raise ModerationRefused(
                f"player {order.player_id!r} is {_PAST[kind]} already",
                code=f"already_{_PAST[kind]}",
            )
        sanction = self._sanction(kind, order)
        sanction_entry = AuditEntry(
            actor=message.actor,
            action=kind,
            target=order.player_id,
            reason=message.reason,
            detail=_detail(order.duration, message.report_id),
        )
        decided = await storage.decide_report(
            message.report_id,
            state=state,
            decided_by=message.actor,
            decision=message.reason,
            entries=[decision_entry, sanction_entry],
            sanction=self._record(order.player_id, sanction, order),
        )
        if not decided:
            raise ModerationRefused("decided meanwhile", code="already_decided")
        self.book.put(order.player_id, sanction)
        disconnected = kind == "ban" and self._disconnect(
            order.player_id, CloseCode.BANNED, ErrorCode.BANNED, farewell(sanction)
        )
        return Outcome(
            action=kind, player_id=order.player_id, until=sanction.until, disconnected=disconnected
        )

    def _sanction(self, kind: Kind, order: Order) -> Sanction:
        if order.duration is None:
            return Sanction(kind=kind, reason=order.reason.strip(), until=None, deadline=None)
        return Sanction(
            kind=kind,
            reason=order.reason.strip(),
            until=self._wall() + order.duration,
            deadline=trio.current_time() + order.duration,
        )

    def _record(self, player_id: str, sanction: Sanction, order: Order) -> SanctionRecord:
        wall = self._wall()
        until = None if sanction.until is None else _utc(sanction.until)
        return SanctionRecord(
            player_id=player_id,
            kind=sanction.kind,
            until=until,
            reason=sanction.reason,
            issued_by=order.actor,
            created=_utc(wall),
        )


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _detail(duration: float | None, report: str | None) -> dict[str, object] | None:
    detail: dict[str, object] = {}
    if duration is not None:
        detail["duration_s"] = duration
    if report is not None:
        detail["report_id"] = report
    return detail or None
