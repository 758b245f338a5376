"""The critical tier's memory of request ids: at most once per rid, the same answer to repeats.

One :class:`RequestLog` belongs to each player's session state, which outlives connections,
so a client that resends a request after a reconnect gets the first answer instead of a
second application. The session calls :meth:`RequestLog.begin` before applying a request
and then exactly one of :meth:`~RequestLog.finish` (the request was applied; cache the
answer) or :meth:`~RequestLog.abandon` (it was refused before being applied, e.g. rate
limited; a retry may succeed), typically from a ``try``/``finally``.

Answers are kept ``window`` seconds of Trio time after ``finish`` (:func:`answer_window`:
the reconnect grace and :data:`ANSWER_MARGIN`) and pruned lazily from the oldest, which
costs amortised O(1) per call and needs no background task. Pending entries never expire by
time: the request is still being applied (the storage actor may be committing it), and
forgetting it would let a repeat apply it a second time. Their lifetime is bounded by the
operation itself, which must end in ``finish`` or ``abandon`` (when the applying task is
cancelled, abandon only if the request certainly was not applied; otherwise leave it
pending until its answer arrives). A leaked pending entry is not silent: it keeps the rid
answering ``Pending`` and holds a slot.

The log is bounded by ``max_entries`` (pending and answered together); when it is full, the
oldest answers are evicted first (counted in ``evicted``), and a log full of pending
requests refuses new ones with :class:`TooManyPending`.

Compact (issue 13): an active player places twice a second and every answer is kept for the
grace and a margin (150 s by default), ~300 answers. At 240 s, as strings in dicts, they
took ~148 KiB per player; they are now packed
(:class:`~tilemud.actors.session._answers.PackedAnswers`), ~14 bytes per answer, and rebuilt
to the very same text on a repeat. An idle player's log is one small object (slots): its
answers are made with its first request, and its set of pending rids exists only while a
request is pending. CPU per request: ``benchmarks/request_log.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeAlias, TypeVar

import attrs
import orjson
import trio

from tilemud.actors.session._answers import PackedAnswers
from tilemud.cluster.ratelimit import InProcessRateLimiter, RateLimiter
from tilemud.errors import ActorGone, MailboxFull, TilemudError
from tilemud.metrics import ActionOutcome
from tilemud.protocol import ErrorCode, ErrorFrame, encode_server
from tilemud.storage import StorageUnavailable

T = TypeVar("T")

#: Seconds a client should wait before retrying a request refused for a passing reason.
RETRY_SOON = 1.0

#: Seconds a critical answer is kept beyond the reconnect grace (:func:`answer_window`).
ANSWER_MARGIN = 30.0


def answer_window(reconnect_grace: float) -> float:
    """How long a player's request log keeps a critical answer: ``reconnect_grace`` plus
    :data:`ANSWER_MARGIN` seconds after the answer was made.

    What the promise needs (docs/protocol.md, "Delivery tiers"): a client that lost an
    answer repeats its rid after reconnecting, and a client reconnects within the grace
    of losing its connection (later, its session and its log are gone anyway). An
    answer made while the player was away (its request waited in an arena or for a
    commit) was made after the loss: the repeat comes within the grace of it. An answer
    made before the loss was in flight when the connection died: the repeat comes within
    the grace of the moment the client saw it die, which is later than the answer by
    the time the client took to notice (a client that heard nothing for 20 s counts its
    connection lost; docs/protocol.md), then the new handshake and the repeat's wait in
    the session (a few seconds under load). The margin covers those; how long the
    request itself waited before being answered does not count: a request being applied
    stays pending, without expiry, until its answer is made. Twice the grace (240 s),
    the earlier window, held 60 % more answers for a delay no client needs
    (docs/performance.md, issue 13).
    """
    return reconnect_grace + ANSWER_MARGIN


class Refused(TilemudError):
    """A request refused with an error frame; ``retry_after`` marks a passing reason;
    ``until`` (seconds since the Unix epoch) says when a sanction ends."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retry_after: float | None = None,
        until: float | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after
        self.until = until


async def answer_within(pending: Awaitable[T], *, seconds: float, what: str) -> T:
    """Await what a request needs from another actor (or from storage), within ``seconds``.

    A timeout, an actor gone or saturated, or the database down become a passing refusal:
    ``unavailable`` with ``retry_after``, nothing applied, so the same rid may be repeated.

    Args:
        pending: the ask (or storage call) not awaited yet.
        seconds: how long to wait for it.
        what: who is asked, for the refusal's message ("chat", "guilds", "storage").
    """
    try:
        with trio.fail_after(seconds):
            return await pending
    except (trio.TooSlowError, ActorGone, MailboxFull, StorageUnavailable) as exc:
        raise Refused(
            ErrorCode.UNAVAILABLE, f"{what} did not answer in time: {exc}", retry_after=RETRY_SOON
        ) from exc


def is_passing_refusal(frame: str) -> bool:
    """Whether an answer frame is a refusal with ``retry_after`` (not kept for repeats)."""
    # Only error frames are parsed; a placement result is answered without a second look.
    if not frame.startswith('{"type":"error"'):
        return False
    return "retry_after" in orjson.loads(frame)


class TooManyPending(TilemudError):
    """Every slot of a player's request log holds a request still being applied."""

    code = "overloaded"


@attrs.frozen(kw_only=True)
class Fresh:
    """The rid was never seen (or was forgotten): it is now pending; apply the request."""


@attrs.frozen(kw_only=True)
class Pending:
    """The rid is being applied right now: do not apply it again; its answer will follow."""


@attrs.frozen(kw_only=True)
class Answered:
    """The rid was applied already: send ``frame`` again, do not apply it again."""

    frame: str


Seen: TypeAlias = Fresh | Pending | Answered

# Neither has fields: one of each serves every begin() (one object less per request).
_FRESH: Final = Fresh()
_PENDING: Final = Pending()


class RequestLog:
    """Remembers a player's critical request ids and their answers.

    Args:
        window: seconds of Trio time an answer is kept after :meth:`finish` (positive).
        max_entries: how many rids are remembered at most, pending ones included (1+).

    Raises:
        ValueError: an argument is out of range.
    """

    __slots__ = ("_answers", "_evicted", "_max_entries", "_pending", "_window")

    def __init__(self, *, window: float, max_entries: int) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._window = window
        self._max_entries = max_entries
        # Made when a request is pending and dropped when none is: an empty set is 216
        # bytes, and an active player's has nothing in it most of the time.
        self._pending: set[str] | None = None
        # Answers in finish order, which is also expiry order (every answer lives
        # `window`).
        self._answers = PackedAnswers()
        self._evicted = 0

    @property
    def pending(self) -> int:
        """Requests begun and neither finished nor abandoned."""
        return 0 if self._pending is None else len(self._pending)

    @property
    def answered(self) -> int:
        """Answers currently remembered (expired ones may linger until the next call)."""
        return len(self._answers)

    @property
    def answers_nbytes(self) -> int:
        """The bytes the remembered answers hold (:attr:`PackedAnswers.nbytes`)."""
        return self._answers.nbytes

    @property
    def evicted(self) -> int:
        """Answers forgotten before their window ran out because the log was full."""
        return self._evicted

    def begin(self, rid: str) -> Seen:
        """Look ``rid`` up and, when it is new, mark it pending.

        Args:
            rid: the client's request id.

        Returns:
            ``Fresh()`` when the request must be applied (it is pending from now on),
            ``Pending()`` while a first copy is being applied, ``Answered(frame=...)`` when
            it was applied already.

        Raises:
            TooManyPending: the rid is new and the log is full of pending requests.
        """
        answers = self._answers
        if answers.next_expiry <= (now := trio.current_time()):
            answers.forget_expired(now)
        pending = self._pending
        if pending is not None and rid in pending:
            return _PENDING
        answer = answers.find(rid)
        if answer is not None:
            return Answered(frame=answer)
        held = len(answers) if pending is None else len(pending) + len(answers)
        if held >= self._max_entries and not self._make_room():
            raise TooManyPending(f"{self.pending} requests are still being applied; retry later")
        if pending is None:
            self._pending = pending = set()
        pending.add(rid)
        return _FRESH

    def finish(self, rid: str, frame: str) -> None:
        """Cache the answer of a request for ``window`` seconds.

        Normally ``rid`` is pending (:meth:`begin` said ``Fresh``). The answer may come from
        another actor (an arena's reply), so this never raises: a rid already answered
        keeps its first answer, and an unknown rid (applied without :meth:`begin`, or
        after :meth:`abandon`) is recorded like any other answer, unless the log is full
        of pending requests.

        Args:
            rid: the request id.
            frame: the encoded answer, sent again to every repeat of ``rid``.
        """
        answers = self._answers
        if answers.next_expiry <= (now := trio.current_time()):
            answers.forget_expired(now)
        pending = self._pending
        if pending is not None and rid in pending:
            pending.remove(rid)
            if not pending:
                self._pending = None
        elif answers.find(rid) is not None or not self._make_room():
            return
        answers.add(rid, frame, now + self._window)

    def abandon(self, rid: str) -> None:
        """Forget a pending request that was refused before it was applied.

        A rid that is not pending (already finished or abandoned) is left alone, so this is
        safe in a ``finally`` clause.

        Args:
            rid: the request id.
        """
        if self._pending is not None:
            self._pending.discard(rid)
            if not self._pending:
                self._pending = None

    def _make_room(self) -> bool:
        """Evict the oldest answers until one more entry fits; False if none can go."""
        while self.pending + len(self._answers) >= self._max_entries:
            if not len(self._answers):
                return False
            self._answers.forget_oldest()
            self._evicted += 1
        return True


class NotNow:
    """A sync request handler's answer when it cannot go on without waiting: the request
    is left untouched (nothing counted, nothing remembered) for the connection's task."""

    def __repr__(self) -> str:
        return "NOT_NOW"


NOT_NOW: Final = NotNow()


async def apply_once(
    log: RequestLog,
    rid: str,
    apply: Callable[[], Awaitable[str | None]],
    *,
    player_id: str,
    limiter: RateLimiter,
    count: Callable[[ActionOutcome], None] | None,
    limited: str,
    read_at: float | None = None,
) -> str | None:
    """Apply a critical request at most once per ``rid`` of ``log``, under ``limiter``.

    See :meth:`Session.run_critical <tilemud.actors.session.Session.run_critical>`, which
    is how requests get here.
    """
    started = _start(log, rid, count)
    if not isinstance(started, Fresh):
        return started
    retry_after = await limiter.acquire(player_id, at=read_at)
    try:
        if retry_after is not None:
            raise Refused(ErrorCode.RATE_LIMITED, limited, retry_after=round(retry_after, 3))
        answer = await apply()
    except Refused as refused:
        return _refused(log, rid, refused, count)
    return _accepted(log, rid, answer, count)


def apply_once_now(
    log: RequestLog,
    rid: str,
    apply: Callable[[], str | None],
    *,
    player_id: str,
    limiter: InProcessRateLimiter,
    count: Callable[[ActionOutcome], None] | None,
    limited: str,
    read_at: float | None = None,
) -> str | None:
    """:func:`apply_once` for a request that needs no waiting: the caller checked that
    ``apply`` will not have to wait, and the limiter is the node's own (issue 13: the read
    hub answers ``place`` without a task of its own). The same answers, counts and log."""
    started = _start(log, rid, count)
    if not isinstance(started, Fresh):
        return started
    retry_after = limiter.acquire_now(player_id, at=read_at)
    try:
        if retry_after is not None:
            raise Refused(ErrorCode.RATE_LIMITED, limited, retry_after=round(retry_after, 3))
        answer = apply()
    except Refused as refused:
        return _refused(log, rid, refused, count)
    return _accepted(log, rid, answer, count)


def _start(
    log: RequestLog, rid: str, count: Callable[[ActionOutcome], None] | None
) -> str | Fresh | None:
    """The answer to a repeat (or an overload), or ``Fresh()`` when ``rid`` must be
    applied (it is pending from now on)."""
    try:
        seen = log.begin(rid)
    except TooManyPending as exc:
        if count is not None:
            count("overloaded")
        return encode_server(
            ErrorFrame(code=exc.code, message=exc.message, rid=rid, retry_after=RETRY_SOON)
        )
    if isinstance(seen, Answered | Pending):
        if count is not None:
            count("repeated")
        return seen.frame if isinstance(seen, Answered) else None
    return seen


def _refused(
    log: RequestLog, rid: str, refused: Refused, count: Callable[[ActionOutcome], None] | None
) -> str:
    if count is not None:
        count("rate_limited" if refused.code == ErrorCode.RATE_LIMITED else "refused")
    frame = encode_server(
        ErrorFrame(
            code=refused.code,
            message=refused.message,
            rid=rid,
            retry_after=refused.retry_after,
            until=refused.until,
        )
    )
    if refused.retry_after is not None:
        log.abandon(rid)  # a passing refusal: the same rid may succeed later
    else:
        log.finish(rid, frame)
    return frame


def _accepted(
    log: RequestLog, rid: str, answer: str | None, count: Callable[[ActionOutcome], None] | None
) -> str | None:
    # A placement is accepted into its arena's tick here; the tick's outcome is
    # counted by the arena (``tilemud_placements_total``).
    if count is not None:
        count("accepted")
    if answer is not None:
        log.finish(rid, answer)
    return answer
