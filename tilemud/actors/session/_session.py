"""The session: a player's presence on this server, which outlives its connections.

Owns:
    who the player is (:class:`SessionIdentity`), the player's numbered stream of
    high-volume frames (:class:`SessionStream`), the log of critical requests
    (:class:`RequestLog`: at most once per ``rid``) and the player's seat in an arena.
Owned by:
    the session keeper (:class:`~tilemud.actors.session.SessionKeeper`), which creates it on
    a player's first ``hello``, hands it to each connection of the player in turn and ends
    it ``gateway.reconnect_grace`` seconds after its last connection dropped (it then
    leaves its arena, ``timeout``). A new connection of the same player takes it over.
A passive object, not an actor (docs/architecture.md, "Sessions"):
    it has no task or mailbox of its own. Its requests run in the attached connection's
    reader task (:meth:`Session.handle`, one at a time), so a player's input is
    backpressured at their socket. Every other actor reaches it through exactly one door,
    its :class:`SessionRef` (``session.ref``): synchronous methods that never block, whose
    queues are the session's mailboxes (the stream: ``gateway.stream_buffer`` frames, the
    oldest evicted first, a gap then answered with a snapshot; and the connection's outbox).
Sends:
    ``FindArena``/``ReleaseSeat`` to the arena directory; ``JoinArena``/``LeaveArena``/
    ``PlaceTile``/``Resync`` to its arena (``send`` waits when the arena is saturated: the
    player's input is backpressured). Other rooms' requests go to the routes the
    composition root handed in (:class:`~tilemud.actors.session.RequestRoute`).

Why one module of over 400 lines: everything that touches the stream, the request log and
the seat together (publishing, resync, the client's protocol version, the requests) is here,
so that their order of effects can be read in one place.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, assert_never

import attrs

from tilemud.actors.arena import (
    LeaveArena,
    LeaveReason,
    PlaceTile,
    ReleaseSeat,
    Resync,
)
from tilemud.actors.session._critical import (
    NOT_NOW,
    RETRY_SOON,
    NotNow,
    Refused,
    RequestLog,
    answer_window,
    apply_once,
    apply_once_now,
    is_passing_refusal,
)
from tilemud.actors.session._outbox import Outbox
from tilemud.actors.session._ref import SessionRef
from tilemud.actors.session._seat import Seat, SeatLink, take_seat
from tilemud.actors.session._services import SessionServices
from tilemud.actors.session._stream import InvalidAck, SessionStream
from tilemud.cluster.ratelimit import InProcessRateLimiter, RateLimiter
from tilemud.config import GatewaySettings
from tilemud.errors import ActorGone, MailboxFull
from tilemud.metrics import Action, ActionOutcome
from tilemud.protocol import (
    UNSTAMPED,
    Ack,
    ClientMessage,
    Dialect,
    ErrorCode,
    ErrorFrame,
    Hello,
    Join,
    Joined,
    Leave,
    Left,
    Ping,
    Place,
    Pong,
    RulesSummary,
    StreamGap,
    dialect_for,
    encode_server,
    encode_stream_body,
)

log = logging.getLogger("tilemud.session")


#: Critical answers kept per player for repeats of their rid.
MAX_REMEMBERED_REQUESTS = 4096


@attrs.frozen(kw_only=True)
class SessionIdentity:
    """Who is on the other end of a session, as proven by the handshake."""

    player_id: str
    name: str
    session_id: str
    roles: tuple[str, ...] = ()


#: The message of a ``rate_limited`` refusal of a game action.
_ACTIONS_LIMITED = "too many actions; wait before the next one"


def _action_of(message: Join | Leave | Place) -> Action:
    match message:
        case Join():
            return "join"
        case Leave():
            return "leave"
        case Place():
            return "place"
        case _:
            assert_never(message)


class StreamWriter(Protocol):
    """What a session writes through: its connection (which also is its doorbell)."""

    def ring(self) -> None:
        """Something was queued: write it (never blocks)."""
        ...

    def deliver_now(self, stream: SessionStream[bytes], body: str) -> bool:
        """Publish ``body`` to ``stream`` and write its frame at once, if both can be done
        now (see :meth:`SessionStream.publish_now`); False, nothing done, otherwise."""
        ...

    def answer_now(self, reply: str) -> bool:
        """Write the reply ``reply`` at once, if it would be written alone at once after
        the outbox took it; False, nothing done, otherwise."""
        ...


class Session:
    """A player's session: the stream, the request log and the seat."""

    def __init__(
        self,
        identity: SessionIdentity,
        *,
        settings: GatewaySettings,
        services: SessionServices,
    ) -> None:
        self.identity = identity
        self._services = services
        self.stream = SessionStream(
            capacity=settings.stream_buffer,
            stamp=services.framer,
            slow_after=settings.slow_client_timeout,
            on_dropped=services.meter.stream_dropped.inc,
        )
        # Answers are kept past the grace so that a repeat after a late resume still
        # finds them (answer_window says how long and why).
        self.requests = RequestLog(
            window=answer_window(settings.reconnect_grace), max_entries=MAX_REMEMBERED_REQUESTS
        )
        self.seat: Seat | None = None
        #: The one way in for other actors.
        self.ref = SessionRef(self)
        self._outbox: Outbox | None = None
        self._bell: StreamWriter | None = None
        self._resync_asked = False
        # The protocol version of the client, when older than the newest: every frame is
        # said in it before it is queued (None: the newest, nothing to rewrite).
        self._dialect: Dialect | None = None

    # -- what SessionRef forwards: synchronous, never blocking ---------------------------

    @property
    def player_id(self) -> str:
        """The player's id."""
        return self.identity.player_id

    @property
    def name(self) -> str:
        """The player's display name."""
        return self.identity.name

    def publish(self, body: str, *, ring: bool = True) -> bool:
        """Append a high-volume frame body to the stream; True if that lost a frame.

        With ``ring=False`` the connection is not rung: the caller publishes another frame
        at once, and both go out in one write (an arena's ``player_joined`` and ``tick``
        of one tick end).
        """
        writer = self._bell
        if (
            ring
            and writer is not None
            and self._dialect is None
            and writer.deliver_now(self.stream, body)
        ):
            # The common case, once per player per tick: a connected player who is up to
            # date, on an idle connection, gets the frame in one step (nothing lost, no
            # snapshot owed); what follows is the same, done piece by piece.
            return False
        if self._dialect is not None:
            said = self._dialect.say(body)
            if said is None:
                # No such frame in the client's version (`round_ended` for version 1): what
                # the client has not seen is replaced by a snapshot, which every version has.
                self.stream.invalidate()
                if self._bell is not None:
                    self._ask_resync()
                return False
            body = said
        dropped_before = self.stream.dropped
        self.stream.publish(body)
        if self.stream.needs_snapshot and self._bell is not None:
            self._ask_resync()
        if ring:
            self._ring()
        return self.stream.dropped > dropped_before

    def speak(self, version: int) -> None:
        """The client of the connection taking over speaks protocol ``version``.

        Frames already said in another version are no use to it: a resume then starts from
        a snapshot.
        """
        dialect = dialect_for(version)
        if dialect is not self._dialect:
            self._dialect = dialect
            if self.stream.last_seq:
                self.stream.invalidate()

    def say(self, frame: str) -> str:
        """A reply or a snapshot in the client's protocol version (every version has them)."""
        if self._dialect is None:
            return frame
        said = self._dialect.say(frame)
        if said is None:
            raise ValueError(f"a reply with no equivalent in version {self._dialect.version}")
        return said

    def reset_stream(self, snapshot_body: str) -> None:
        """Replace what is unsent in the stream with a snapshot."""
        self.stream.reset(self.say(snapshot_body))
        self._resync_asked = False
        self._ring()

    def reply(self, rid: str, frame: str) -> None:
        """Answer a critical request; kept for repeats of ``rid`` even if undelivered.

        An error with ``retry_after`` is a passing refusal: it is not kept, so repeating
        the rid later tries again.
        """
        if is_passing_refusal(frame):
            self.requests.abandon(rid)
        else:
            self.requests.finish(rid, frame)
        if self._outbox is not None:
            said = self.say(frame)
            bell = self._bell
            if bell is not None and bell.answer_now(said):
                return  # the common case: an idle connection writes it at once
            # Never blocks: a full outbox drops it, and the player gets it by repeating rid.
            self._outbox.offer(said)
            self._ring()

    def arena_closed(self, arena_id: str) -> None:
        """The battle ended; the arena directory already forgot the arena."""
        if self.seat is not None and self.seat.ticket.arena_id == arena_id:
            self.seat.link.active = False
            self.seat = None
            self._left_arena(arena_id)

    def _left_arena(self, arena_id: str) -> None:
        for listener in self._services.listeners:  # e.g. the arena's channel is not theirs
            listener.left_arena(self.player_id, arena_id)

    # -- connections ----------------------------------------------------------------------

    async def attach(self, outbox: Outbox, bell: StreamWriter, last_seq: int | None) -> None:
        """A connection takes over: resend after ``last_seq``, or a snapshot when too old.

        Without ``last_seq`` the stream resumes after the last ``ack`` (frames received but
        not acknowledged come again: the client drops them by their seq).
        """
        self._outbox = outbox
        self._bell = bell
        resume_after = self.stream.acked if last_seq is None else last_seq
        if not self.stream.attach(resume_after):
            if self.seat is not None:
                self._resync_asked = True
                try:
                    await self.seat.ticket.ref.send(Resync(player_id=self.player_id))
                except ActorGone:
                    self.seat = None
            if self.seat is None:
                self._mark_gap()
        bell.ring()

    def detach(self) -> None:
        """The connection is gone; frames keep arriving in the stream for a resume."""
        self._outbox = None
        self._bell = None
        self.stream.detach()

    async def leave_world(self, reason: LeaveReason) -> None:
        """Give up the seat, if any (explicit leave, or the grace ran out)."""
        seat, self.seat = self.seat, None
        if seat is None:
            return
        seat.link.active = False
        self._left_arena(seat.ticket.arena_id)
        with contextlib.suppress(ActorGone):  # the arena already ended
            await seat.ticket.ref.send(LeaveArena(player_id=self.player_id, reason=reason))
        await self._services.directory.send(
            ReleaseSeat(arena_id=seat.ticket.arena_id, player_id=self.player_id)
        )

    # -- the player's requests ------------------------------------------------------------

    async def handle(self, message: ClientMessage, *, read_at: float | None = None) -> str | None:
        """Answer one request of the player; None when there is nothing to send now.

        Critical requests (``join``, ``leave``, ``place``) are applied at most once per
        ``rid``: a repeat gets the first answer, or nothing while the first is in flight
        (its answer comes once). They count against the actions rate limit; a refused one
        is not remembered, so it may be repeated after ``retry_after`` (judged at ``read_at``,
        when its frame was read). Each is counted in ``tilemud_actions_total``.
        """
        match message:
            case Ping(rid=rid):
                return encode_server(Pong(rid=rid, server_time=time.time()))
            case Ack(seq=seq):
                return self._ack(seq)
            case Join() | Leave() | Place():
                return await self._critical(message, read_at)
            case Hello():
                return encode_server(
                    ErrorFrame(
                        code=ErrorCode.DUPLICATE_HELLO,
                        message="hello is only valid as the first frame of a connection",
                    )
                )
            case _:
                # Another room's request (chat, guilds, parties): its route answers it.
                return await self._routed(message)

    def handle_now(
        self, message: ClientMessage, *, read_at: float | None = None
    ) -> str | NotNow | None:
        """:meth:`handle` for the requests that need no waiting (``ack``, and ``place``
        while the arena's mailbox has room and the action limit is the node's own), or
        :data:`NOT_NOW`, having done nothing: then :meth:`handle` must answer it.

        The read hub calls it for a parked connection (issue 13): the same answers, counts
        and remembered rids as :meth:`handle`, without a task switch or a coroutine.
        """
        match message:
            case Ack(seq=seq):
                return self._ack(seq)
            case Place(rid=rid):
                seat, limiter = self.seat, self._services.actions
                if (
                    seat is None
                    or not isinstance(limiter, InProcessRateLimiter)
                    or not seat.ticket.ref.has_room
                ):
                    return NOT_NOW
                return apply_once_now(
                    self.requests,
                    rid,
                    lambda: self._place_now(seat, message),
                    player_id=self.player_id,
                    limiter=limiter,
                    count=lambda outcome: self._services.meter.action("place", outcome),
                    limited=_ACTIONS_LIMITED,
                    read_at=read_at,
                )
            case _:
                return NOT_NOW

    def _ack(self, seq: int) -> str | None:
        try:
            self.stream.ack(seq)
        except InvalidAck as exc:
            return encode_server(ErrorFrame(code=exc.code, message=exc.message))
        for listener in self._services.listeners:  # e.g. direct messages delivered
            listener.stream_acked(self.ref, seq)
        return None

    async def _routed(self, message: ClientMessage) -> str | None:
        route = self._services.route_for(message)
        if route is None:
            return encode_server(
                ErrorFrame(
                    code=ErrorCode.UNAVAILABLE,
                    message=f"{message.TYPE} is not served here",
                    rid=getattr(message, "rid", None),
                    retry_after=60.0,
                )
            )
        return await route.handle(self, message)

    async def _critical(self, message: Join | Leave | Place, read_at: float | None) -> str | None:
        action = _action_of(message)
        return await self.run_critical(
            message.rid,
            lambda: self._apply(message),
            limiter=self._services.actions,
            count=lambda outcome: self._services.meter.action(action, outcome),
            read_at=read_at,
        )

    async def run_critical(
        self,
        rid: str,
        apply: Callable[[], Awaitable[str | None]],
        *,
        limiter: RateLimiter | None = None,
        count: Callable[[ActionOutcome], None] | None = None,
        limited: str = _ACTIONS_LIMITED,
        read_at: float | None = None,
    ) -> str | None:
        """Apply a critical request at most once per ``rid``, under ``limiter``.

        A repeat of a ``rid`` gets the first answer (or nothing while the first is in
        flight); a request over the limit is refused with ``rate_limited``. ``apply``
        returns the answer frame (None when the answer comes later, through
        :meth:`reply`) or raises :class:`Refused`; a refusal with ``retry_after`` is not
        remembered, so the same ``rid`` may succeed later.

        Args:
            rid: the request id.
            apply: does the request once; its answer is remembered for repeats.
            limiter: the rate limit it counts against; the game actions' when None.
            count: told what became of the request, for the metrics.
            limited: the message of a ``rate_limited`` refusal.
            read_at: when the request's frame was read (the limit judges it then).
        """
        return await apply_once(
            self.requests,
            rid,
            apply,
            player_id=self.player_id,
            limiter=self._services.actions if limiter is None else limiter,
            count=count,
            limited=limited,
            read_at=read_at,
        )

    async def _apply(self, message: Join | Leave | Place) -> str | None:
        match message:
            case Join():
                return await self._join(message)
            case Leave(rid=rid):
                seat = self._require_seat()
                await self.leave_world("left")
                return encode_server(Left(rid=rid, arena_id=seat.ticket.arena_id))
            case Place(rid=rid, x=x, y=y, kind=kind):
                seat = self._require_seat()
                try:
                    await seat.ticket.ref.send(
                        PlaceTile(player_id=self.player_id, rid=rid, x=x, y=y, kind=kind)
                    )
                except (ActorGone, MailboxFull) as exc:
                    raise Refused(
                        ErrorCode.ARENA_UNAVAILABLE, str(exc), retry_after=RETRY_SOON
                    ) from exc
                return None  # the arena answers at the end of its tick, through reply()
            case _:
                assert_never(message)

    def _place_now(self, seat: Seat, place: Place) -> None:
        """Hand a placement to its arena without waiting (the caller saw room for it)."""
        sent = False
        try:
            sent = seat.ticket.ref.try_send(
                PlaceTile(
                    player_id=self.player_id, rid=place.rid, x=place.x, y=place.y, kind=place.kind
                )
            )
        except ActorGone as exc:
            raise Refused(ErrorCode.ARENA_UNAVAILABLE, str(exc), retry_after=RETRY_SOON) from exc
        if not sent:  # (the room it saw was taken meanwhile: never, in one task's step)
            raise Refused(
                ErrorCode.ARENA_UNAVAILABLE, "the arena's mailbox is full", retry_after=RETRY_SOON
            )

    async def _join(self, join: Join) -> str:
        if self.seat is not None:
            raise Refused(
                ErrorCode.ALREADY_IN_ARENA,
                f"already in arena {self.seat.ticket.arena_id}; leave it first",
            )
        # A party leader entering a battle keeps a seat in it for every member.
        parties = self._services.parties
        mates = (
            () if parties is None or join.mode != "battle" else parties.battle_mates(self.player_id)
        )
        # In line first: what a join holds while the directory and the arena work on it
        # (~3 KB) is held by at most so many joins at once, however many players arrive.
        turns = self._services.join_turns
        await turns.take()
        try:
            seat, tick = await take_seat(self._services.directory, self.seat_link(), join, mates)
        finally:
            turns.give_back()
        self.seat = seat
        if mates and parties is not None:
            parties.battle_entered(self.player_id, seat.ticket.arena_id, join.region)
        return encode_server(
            Joined(
                rid=join.rid,
                arena_id=seat.ticket.arena_id,
                mode=join.mode,
                region=join.region,
                tick=tick,
                rules=RulesSummary.from_rules(seat.ticket.rules),
            )
        )

    def seat_link(self) -> SeatLink:
        """A new link for an arena to hold for a seat of this session's.

        The link is the session's own: it forwards to the session itself, not through
        its ref (the fan-out calls it for every player and tick), and the arena reaches
        the player only through it, as through the ref.
        """
        return SeatLink(self)

    def _require_seat(self) -> Seat:
        if self.seat is None:
            raise Refused(ErrorCode.NOT_IN_ARENA, "not in an arena; join one first")
        return self.seat

    def _ask_resync(self) -> None:
        # Called from another actor's task: never wait. If the arena's mailbox is full the
        # request is tried again with the next published frame.
        if self.seat is None:
            self._mark_gap()
            return
        if self._resync_asked:
            return
        try:
            self._resync_asked = self.seat.ticket.ref.try_send(Resync(player_id=self.player_id))
        except ActorGone:
            self.seat = None

    def _mark_gap(self) -> None:
        """No arena can resync this stream: go on from a ``stream_gap`` frame instead."""
        self.reset_stream(encode_stream_body(StreamGap(seq=UNSTAMPED, sent_at=time.time())))

    def _ring(self) -> None:
        if self._bell is not None:
            self._bell.ring()
