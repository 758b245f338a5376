"""The direct message courier in a connect storm: a full mailbox delays, never skips (issue 11).

Sessions begin far faster than the courier looks their messages up, with a mailbox of 2:
every session still gets its stored messages on its own stream, once, while new messages
keep being delivered in between. Under autojump; the store answers after a little Trio
time, as a database would.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import orjson
import trio
import trio.testing

from tilemud.actors.chat import MemoryChatStore
from tilemud.actors.chat._courier import BACKLOGS_PER_TURN, DirectCourier
from tilemud.storage import DirectMessageRecord
from tilemud.supervisors import ChildContext

DEADLINE = 600.0
EPOCH = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
LOOKUP_SECONDS = 0.01


@attrs.define
class Stream:
    last_seq: int = 0
    dropped: int = 0


@attrs.define(eq=False)
class Sink:
    """A session as the courier sees it: a stream it appends to."""

    player_id: str
    stream: Stream = attrs.field(factory=Stream)
    bodies: list[dict[str, Any]] = attrs.field(factory=list)

    def publish(self, body: str) -> bool:
        self.stream.last_seq += 1
        self.bodies.append(orjson.loads(body))
        return False

    def texts(self) -> list[str]:
        return [b["text"] for b in self.bodies if b["type"] == "dm"]


class SlowStore(MemoryChatStore):
    """Answers each lookup after ``LOOKUP_SECONDS`` of Trio time, and counts them."""

    def __init__(self) -> None:
        super().__init__(clock=lambda: EPOCH)
        self.lookups = 0

    async def load_undelivered(
        self, recipient_id: str, *, limit: int = 500
    ) -> list[DirectMessageRecord]:
        self.lookups += 1
        await trio.sleep(LOOKUP_SECONDS)
        return await super().load_undelivered(recipient_id, limit=limit)


class Sessions:
    def __init__(self) -> None:
        self.by_player: dict[str, Sink] = {}

    def find(self, player_id: str) -> Sink | None:
        return self.by_player.get(player_id)


def message(n: int, to: str, text: str) -> DirectMessageRecord:
    return DirectMessageRecord(
        message_id=f"m{n}",
        sender_id="p_sender",
        sender_name="Sender",
        recipient_id=to,
        text=text,
        sent_at=EPOCH + dt.timedelta(seconds=n),
    )


async def run_courier(
    courier: DirectCourier, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
) -> None:
    await courier.run(ChildContext("dm", task_status=task_status))


async def test_every_session_of_a_connect_storm_gets_its_stored_messages(
    autojump_clock: trio.testing.MockClock,
) -> None:
    players = [f"p_{i}" for i in range(300)]
    with_mail = players[::10]  # 30 of them have stored messages, as in the report
    store = SlowStore()
    for n, player in enumerate(with_mail):
        await store.record_direct_message(message(2 * n, player, f"first for {player}"))
        await store.record_direct_message(message(2 * n + 1, player, f"second for {player}"))
    sessions = Sessions()
    courier = DirectCourier(store, sessions, mailbox_size=2)
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_courier, courier)
            # The storm: every session begins before the courier runs once more, some twice.
            for player in players:
                sink = Sink(player)
                sessions.by_player[player] = sink
                courier.session_started(sink)
            for player in with_mail[:5]:
                courier.session_started(sessions.by_player[player])
            assert courier.waiting_sessions == len(players)  # each session once: bounded
            # New messages keep coming meanwhile; they are not held behind the whole storm.
            started = trio.current_time()
            await courier.deliver(message(1000, "p_1", "live"))
            await courier.deliver(message(1001, "p_2", "live"))
            while "live" not in sessions.by_player["p_2"].texts():  # noqa: ASYNC110
                await trio.sleep(LOOKUP_SECONDS)
            live_after = trio.current_time() - started
            assert live_after <= (BACKLOGS_PER_TURN * 2 + 2) * LOOKUP_SECONDS
            while courier.waiting_sessions:  # noqa: ASYNC110
                await trio.sleep(LOOKUP_SECONDS)
            nursery.cancel_scope.cancel()

    for player in players:
        texts = sessions.by_player[player].texts()
        expected = [f"first for {player}", f"second for {player}"] if player in with_mail else []
        if player in ("p_1", "p_2"):
            expected = [*expected, "live"]
            assert sorted(texts) == sorted(expected), (player, texts)
        else:
            assert texts == expected, (player, texts)
    assert store.lookups == len(players)  # one lookup per session, the repeats coalesced


async def test_a_restarted_courier_looks_up_the_sessions_its_predecessor_left(
    autojump_clock: trio.testing.MockClock,
) -> None:
    store = SlowStore()
    await store.record_direct_message(message(1, "p_a", "hello a"))
    await store.record_direct_message(message(2, "p_b", "hello b"))
    sessions = Sessions()
    courier = DirectCourier(store, sessions, mailbox_size=1)
    for player in ("p_a", "p_b"):
        sessions.by_player[player] = Sink(player)
        # Not running: the wake-up may not even be queued; the session is kept all the same.
        courier.session_started(sessions.by_player[player])
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_courier, courier)
            while courier.waiting_sessions:  # noqa: ASYNC110
                await trio.sleep(LOOKUP_SECONDS)
            nursery.cancel_scope.cancel()
    assert sessions.by_player["p_a"].texts() == ["hello a"]
    assert sessions.by_player["p_b"].texts() == ["hello b"]
