"""The floor every actor stands on: bounded mailboxes, the ``Ref`` that others hold, the
one-shot ``Reply``, overflow policies and the :class:`Doorbell`.

An actor owns its state alone; everyone else talks to it through a ``Ref``. The mailbox is
created once, outside the actor's task, so a ``Ref`` stays valid across restarts: messages
queued while the supervisor restarts the actor wait for the new incarnation.

Every mailbox names its overflow policy (``Overflow``):

- ``BLOCK``: ``send`` waits for room. Used where the sender should feel backpressure, for
  example a player's input, which then stops being read from the socket.
- ``REJECT``: ``send`` raises :class:`MailboxFull` at once. Used where a sender must never
  stall behind a busy actor.

``try_send`` never waits, whatever the policy, and says whether the message went in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final, Generic, Protocol, TypeVar

import attrs
import trio

from tilemud.errors import ActorGone, MailboxFull

M = TypeVar("M")
R = TypeVar("R")


class Overflow(enum.Enum):
    """What happens when a message is sent to a full mailbox."""

    BLOCK = "block"
    REJECT = "reject"


_OPEN: Final = 0
_ANSWERED: Final = 1
_CLOSED: Final = 2


class Reply(Generic[R]):
    """The one-shot reply slot carried inside an ``ask`` message.

    The actor answers with :meth:`send`, which never blocks: the slot holds exactly one
    answer, and an answer to a caller that already gave up is dropped silently. The slot is
    three fields and the waiting task (issue 13: the memory channel pair it used to be was
    ~1.8 KB for every ask in flight, two per join, and most of an ask's CPU).
    """

    __slots__ = ("_state", "_task", "_value")

    def __init__(self) -> None:
        self._state = _OPEN
        self._task: trio.lowlevel.Task | None = None
        self._value: R | None = None

    @property
    def answered(self) -> bool:
        """Whether :meth:`send` gave the answer (and the caller had not given up)."""
        return self._state == _ANSWERED

    @property
    def value(self) -> R:
        """The answer :meth:`send` gave.

        Raises:
            LookupError: no answer was given.
        """
        if self._state != _ANSWERED:
            raise LookupError("no answer was given")
        return self._value  # type: ignore[return-value]

    def send(self, value: R) -> None:
        """Deliver the answer; never blocks, never fails (a second answer is ignored)."""
        if self._state == _OPEN:
            self._state = _ANSWERED
            self._value = value
            self._wake()

    def drop(self) -> None:
        """The request will not be answered: the caller's ask raises ``ActorGone``."""
        if self._state == _OPEN:
            self._state = _CLOSED
            self._wake()

    async def wait(self) -> R:
        """Wait for the answer (one caller: the one that asked).

        Raises:
            ActorGone: the request was dropped unanswered (the message is in the error).
        """
        if self._state == _OPEN:
            self._task = trio.lowlevel.current_task()

            def abort(_: object) -> trio.lowlevel.Abort:
                # Cancelled (the caller's timeout): an answer coming later is dropped.
                self._task = None
                self._state = _CLOSED
                return trio.lowlevel.Abort.SUCCEEDED

            await trio.lowlevel.wait_task_rescheduled(abort)
        else:
            await trio.lowlevel.checkpoint()
        if self._state != _ANSWERED:
            raise ActorGone("the request was dropped unanswered")
        return self._value  # type: ignore[return-value]

    def _wake(self) -> None:
        task = self._task
        if task is not None:
            self._task = None
            trio.lowlevel.reschedule(task)


@attrs.frozen
class Ref(Generic[M]):
    """A handle on an actor's mailbox: the only way other tasks reach an actor."""

    name: str
    overflow: Overflow
    _send_channel: trio.MemorySendChannel[M]
    #: Called with each message once it is in the mailbox (in the sender's task; it must
    #: not block): an actor that waits on a :class:`Doorbell` rather than on its inbox
    #: decides there which messages ring it (see ``open_mailbox``).
    _arrived: Callable[[M], None] | None = None

    async def send(self, message: M) -> None:
        """Send a message, honouring the mailbox's overflow policy.

        Raises:
            MailboxFull: the mailbox is full and its policy is ``REJECT``.
            ActorGone: the actor stopped for good.
        """
        if self.overflow is Overflow.REJECT:
            if not self.try_send(message):
                raise MailboxFull(f"mailbox of {self.name} is full")
            return
        # While there is room, no pass of the scheduler (trio's send takes one): a
        # session's every request goes through here (issue 13). Still cancellable.
        await trio.lowlevel.checkpoint_if_cancelled()
        if self.try_send(message):
            return
        try:
            await self._send_channel.send(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ActorGone(f"{self.name} has stopped") from exc
        if self._arrived is not None:
            self._arrived(message)

    @property
    def has_room(self) -> bool:
        """Whether :meth:`try_send` would take a message now (an open mailbox with room)."""
        # What statistics() says, read from the channel's state: statistics() builds an
        # object of seven figures, and a session asks before every placement the read hub
        # hands its arena (issue 13). tests/actors/test_mailbox.py holds the two equal.
        state = self._send_channel._state
        return state.open_receive_channels > 0 and (
            len(state.data) < state.max_buffer_size or bool(state.receive_tasks)
        )

    def try_send(self, message: M) -> bool:
        """Send without waiting. Returns False when the mailbox is full.

        Raises:
            ActorGone: the actor stopped for good.
        """
        try:
            self._send_channel.send_nowait(message)
        except trio.WouldBlock:
            return False
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise ActorGone(f"{self.name} has stopped") from exc
        if self._arrived is not None:
            self._arrived(message)
        return True

    async def ask(self, make_message: Callable[[Reply[R]], M]) -> R:
        """Send a request and wait for its answer.

        The caller sets the timeout (``with trio.fail_after(...)``); the actor never blocks on
        a slow caller because the reply slot holds exactly one answer.

        Args:
            make_message: builds the request around the reply slot it is given.

        Raises:
            MailboxFull: the mailbox is full and its policy is ``REJECT``.
            ActorGone: the actor stopped, or dropped the request without answering.
        """
        reply: Reply[R] = Reply()
        await self.send(make_message(reply))
        try:
            return await reply.wait()
        except ActorGone as exc:
            raise ActorGone(f"{self.name} dropped the request unanswered") from exc


@attrs.frozen
class Mailbox(Generic[M]):
    """Both ends of an actor's bounded mailbox.

    The supervisor tree creates it; the actor's task reads ``inbox`` and hands out ``ref``.
    """

    ref: Ref[M]
    inbox: trio.MemoryReceiveChannel[M]
    capacity: int

    def close(self) -> None:
        """Close the mailbox for good: later sends raise :class:`ActorGone`."""
        self.ref._send_channel.close()
        self.inbox.close()


def open_mailbox(
    name: str,
    capacity: int,
    overflow: Overflow,
    *,
    arrived: Callable[[M], None] | None = None,
) -> Mailbox[M]:
    """Create a bounded mailbox for the actor called ``name``.

    Args:
        name: the actor's name, used in errors and logs.
        capacity: how many messages may wait; must be at least 1 (never unbounded).
        overflow: what a sender meets when the mailbox is full.
        arrived: called with each message once it is in the mailbox, in the sender's
            task, never blocking: an actor that waits on a :class:`Doorbell` instead of
            its inbox rings it there for the messages that should wake it (the arena:
            not for placements, which wait for the tick's end anyway; issue 13).
    """
    if capacity < 1:
        raise ValueError("a mailbox must hold at least one message")
    send_channel, receive_channel = trio.open_memory_channel[M](capacity)
    return Mailbox(
        ref=Ref(name, overflow, send_channel, arrived), inbox=receive_channel, capacity=capacity
    )


class Bell(Protocol):
    """Anything that can be rung: "something arrived for you"; never blocks."""

    def ring(self) -> None: ...


class Doorbell:
    """Wakes one waiting task; rings while nobody waits are kept until the next wait.

    A spurious wake-up is possible (a ring for something already taken): the waiter must
    look for work again after every wait, never assume it found some.
    """

    def __init__(self) -> None:
        self._event = trio.Event()

    def ring(self) -> None:
        """Something arrived; never blocks."""
        self._event.set()

    async def wait(self) -> None:
        """Wait for the next ring (or return at once if one came since the last wait)."""
        await self._event.wait()
        self._event = trio.Event()
