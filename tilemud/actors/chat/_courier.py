"""Direct message courier: puts stored direct messages on their recipients' streams, once
per session stream, and marks them delivered when the recipient acknowledges them.

Owns:
    per session (weakly: a session that ended and was collected takes its entry along):
    the direct messages put on its stream, with the ``seq`` of the frame that carried each;
    and the ids acknowledged but not yet marked delivered in storage.
Started by:
    the chat supervisor. Restart type ``permanent``: a restart keeps what it owns (it
    belongs to the :class:`DirectCourier` object), and redelivers nothing twice.
Takes (mailbox ``CHAT_MAILBOX`` messages; ``deliver`` waits when it is full):
    ``Deliver`` (a direct message was stored: put it on the recipient's current session, if
    there is one). The calls from a session's task, :meth:`DirectCourier.session_started`
    and :meth:`DirectCourier.acked`, never wait and never lose their news to a full
    mailbox: a fresh session joins the courier's *waiting sessions* (each at most once, so
    no more than the node's sessions; the courier looks their undelivered messages up in
    order, ``BACKLOGS_PER_TURN`` between two mailbox messages) and acknowledged ids join
    the ids to mark. Each only wakes the courier with ``BacklogsWaiting`` / ``MarkAcked``,
    one of each queued at most; a wake-up that finds the mailbox full is not needed, since
    the courier looks at both after every message it takes (issue 11: a connect storm
    dropped ``Connected`` and 29 of 30 players got their messages only a session later).
Sends:
    ``dm`` frames to sessions (synchronous ``publish``, never blocking);
    ``load_undelivered`` and ``mark_delivered`` to storage.
Guarantees:
    a message is put at most once on one session's stream (the session's own resend
    buffer resends it on a resume); a fresh session gets every message not yet marked
    delivered, so one acknowledged is never delivered again, one not acknowledged comes
    again in the next fresh session (after a restart too). When the stream lost frames
    between the delivery and the ack (the resend buffer overflowed), the ack does not mark
    the message: it comes again next session rather than never.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from typing import Protocol, TypeAlias, assert_never

import attrs

from tilemud.actors.chat._store import ChatStore
from tilemud.errors import ActorGone
from tilemud.mailbox import Mailbox, Overflow, Ref, open_mailbox
from tilemud.protocol import UNSTAMPED, DirectMessageFrame, encode_stream_body
from tilemud.storage import DirectMessageRecord, StorageUnavailable
from tilemud.supervisors import ChildContext

log = logging.getLogger("tilemud.chat")

#: Undelivered messages put on a fresh session at most (the rest come next session).
MAX_BACKLOG = 500
#: Waiting sessions whose messages are looked up between two mailbox messages: a connect
#: storm delays new messages' delivery by at most this many lookups.
BACKLOGS_PER_TURN = 8


class StreamPosition(Protocol):
    """The part of a session's stream the courier reads."""

    @property
    def last_seq(self) -> int:
        """The last frame published."""
        ...

    @property
    def dropped(self) -> int:
        """Frames lost for good."""
        ...


class DmSink(Protocol):
    """A session, as the courier sees it (:class:`~tilemud.actors.session.SessionRef` is one)."""

    @property
    def player_id(self) -> str:
        """Whose session."""
        ...

    @property
    def stream(self) -> StreamPosition:
        """Its stream."""
        ...

    def publish(self, body: str) -> bool:
        """Append a stream frame body; never blocks."""
        ...


class SessionFinder(Protocol):
    """Finds a player's current session on this node (the node's presence)."""

    def find(self, player_id: str) -> DmSink | None:
        """The player's session, connected or in its grace; None when there is none."""
        ...


@attrs.frozen(kw_only=True)
class Deliver:
    """A direct message was stored."""

    record: DirectMessageRecord


@attrs.frozen(kw_only=True)
class BacklogsWaiting:
    """Fresh sessions wait for their undelivered messages (a wake-up; they are in the
    courier's waiting sessions)."""


@attrs.frozen(kw_only=True)
class MarkAcked:
    """Acknowledged ids wait to be marked delivered."""


CourierMessage: TypeAlias = Deliver | BacklogsWaiting | MarkAcked


@attrs.define(eq=False)
class _Inbox:
    """What one session's stream carried."""

    #: Ids put on this session's stream.
    delivered: set[str] = attrs.field(factory=set)
    #: (seq, id, stream.dropped when published) not yet acknowledged.
    unacked: list[tuple[int, str, int]] = attrs.field(factory=list)


class DirectCourier:
    """The direct message courier; see the module docstring.

    Args:
        store: where messages are read and marked delivered.
        sessions: finds a player's current session.
        mailbox_size: the mailbox's capacity.
        wall_time: Unix seconds now, for ``sent_at``.
    """

    def __init__(
        self,
        store: ChatStore,
        sessions: SessionFinder,
        *,
        mailbox_size: int,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._wall_time = wall_time
        self._mailbox: Mailbox[CourierMessage] = open_mailbox(
            "dm-courier", mailbox_size, Overflow.BLOCK
        )
        self._inboxes: weakref.WeakKeyDictionary[DmSink, _Inbox] = weakref.WeakKeyDictionary()
        self._to_mark: list[str] = []
        self._mark_asked = False
        # Fresh sessions whose undelivered messages are still to be looked up, in the order
        # they began (a dict as an ordered set: one entry per session).
        self._waiting: dict[DmSink, None] = {}
        self._backlog_asked = False
        self._looking_up = 0

    @property
    def ref(self) -> Ref[CourierMessage]:
        """The courier's mailbox (valid across restarts)."""
        return self._mailbox.ref

    async def deliver(self, record: DirectMessageRecord) -> None:
        """A direct message was stored: deliver it now if its recipient is here."""
        await self.ref.send(Deliver(record=record))

    @property
    def waiting_sessions(self) -> int:
        """Fresh sessions whose undelivered messages are not on their stream yet."""
        return len(self._waiting) + self._looking_up

    def session_started(self, session: DmSink) -> None:
        """A fresh session began (from the session keeper; never blocks, never drops it)."""
        self._waiting[session] = None
        if not self._backlog_asked:
            self._backlog_asked = self._wake(BacklogsWaiting())

    def acked(self, session: DmSink, seq: int) -> None:
        """The session's client acknowledged every frame up to ``seq`` (never blocks)."""
        inbox = self._inboxes.get(session)
        if inbox is None or not inbox.unacked or inbox.unacked[0][0] > seq:
            return
        dropped_now = session.stream.dropped
        keep: list[tuple[int, str, int]] = []
        for entry in inbox.unacked:
            entry_seq, message_id, dropped_then = entry
            if entry_seq > seq:
                keep.append(entry)
            elif dropped_then == dropped_now:
                self._to_mark.append(message_id)
            # else: frames were lost meanwhile; it may have been one: next session again.
        inbox.unacked = keep
        if self._to_mark and not self._mark_asked:
            self._mark_asked = self._wake(MarkAcked())

    async def run(self, ctx: ChildContext) -> None:
        """Deliver until cancelled (the child's entry point)."""
        ctx.started(self.ref)
        # What a crashed incarnation left (its wake-ups may have gone with it).
        self._backlog_asked = self._mark_asked = False
        await self._catch_up()
        async for message in self._mailbox.inbox:
            match message:
                case Deliver(record=record):
                    session = self._sessions.find(record.recipient_id)
                    if session is not None:
                        self._put(session, record)
                case BacklogsWaiting():
                    self._backlog_asked = False
                case MarkAcked():
                    self._mark_asked = False
                case _:
                    assert_never(message)
            await self._catch_up()

    async def _catch_up(self) -> None:
        """Mark what was acknowledged, and look up a turn's worth of waiting sessions."""
        if self._to_mark:
            await self._mark()
        for _ in range(BACKLOGS_PER_TURN):
            if not self._waiting:
                return
            session = next(iter(self._waiting))
            # Taken before the lookup: a bug in it costs that session's lookup (its
            # messages come next session), not a crash loop of the courier.
            del self._waiting[session]
            self._looking_up = 1
            try:
                await self._deliver_backlog(session)
            finally:
                self._looking_up = 0
        if self._waiting and not self._backlog_asked:
            # More next turn, after the messages queued meanwhile; a full mailbox needs no
            # wake-up (the next message taken brings the courier back here).
            self._backlog_asked = self._wake(BacklogsWaiting())

    async def _deliver_backlog(self, session: DmSink) -> None:
        # No inbox until a message is put (_put makes it): most sessions never get one,
        # and an empty inbox was ~460 bytes per idle player (issue 13).
        try:
            waiting = await self._store.load_undelivered(session.player_id, limit=MAX_BACKLOG)
        except StorageUnavailable as exc:
            log.warning(
                "direct messages of %s not loaded (next session): %s", session.player_id, exc
            )
            return
        for record in waiting:
            self._put(session, record)

    def _put(self, session: DmSink, record: DirectMessageRecord) -> None:
        inbox = self._inboxes.setdefault(session, _Inbox())
        if record.message_id in inbox.delivered:
            return
        body = encode_stream_body(
            DirectMessageFrame(
                seq=UNSTAMPED,
                sent_at=self._wall_time(),
                message_id=record.message_id,
                sender_id=record.sender_id,
                sender_name=record.sender_name,
                text=record.text,
                written_at=record.sent_at.timestamp(),
            )
        )
        session.publish(body)
        inbox.delivered.add(record.message_id)
        inbox.unacked.append((session.stream.last_seq, record.message_id, session.stream.dropped))

    async def _mark(self) -> None:
        ids, self._to_mark = self._to_mark, []
        if not ids:
            return
        try:
            await self._store.mark_delivered(ids)
        except StorageUnavailable as exc:
            # Not marked: delivered again next session, which the client drops by its id.
            log.warning("%d direct messages not marked delivered: %s", len(ids), exc)

    def _wake(self, message: BacklogsWaiting | MarkAcked) -> bool:
        """Queue a wake-up; False when none was queued (what it is about is kept anyway)."""
        try:
            return self.ref.try_send(message)
        except ActorGone:
            return False  # stopped: its next incarnation catches up when it starts
