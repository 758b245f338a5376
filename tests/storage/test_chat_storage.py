"""Chat storage on both backends: blocks, channel history, direct messages, the purge.

The repository tests run synchronously on a :class:`Database`. The purge test runs a real
storage actor and the chat purge under ``autojump_clock`` (as tests/storage/test_janitor.py
does, and under the same rules: no ``fail_after`` around database work, waits on the
purge's own runs, reads by blocking the Trio thread).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import trio
import trio.testing

from tilemud.actors.chat._purge import ChatJanitor
from tilemud.config import SocialSettings
from tilemud.social.chat_retention import RetentionPolicy
from tilemud.storage import (
    ChatMessageRecord,
    Database,
    DirectMessageRecord,
    StorageActor,
    is_blocked,
)
from tilemud.storage import _repo_chat as repo
from tilemud.supervisors import ChildContext

from .actor_support import FAST, running
from .test_janitor import look

EPOCH = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
HOUR = 3600.0
DAY = 24 * HOUR


def at(seconds: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)


def wall() -> dt.datetime:
    return at(trio.current_time())


def chat(
    message_id: str, channel: str, sent_at: dt.datetime, text: str = "hi"
) -> ChatMessageRecord:
    kind = channel.partition(":")[0]
    return ChatMessageRecord(
        message_id=message_id,
        channel=channel,
        channel_type=kind,
        sender_id="p1",
        sender_name="Ann",
        text=text,
        sent_at=sent_at,
    )


def direct(message_id: str, sent_at: dt.datetime, to: str = "p2") -> DirectMessageRecord:
    return DirectMessageRecord(
        message_id=message_id,
        sender_id="p1",
        sender_name="Ann",
        recipient_id=to,
        text=f"text of {message_id}",
        sent_at=sent_at,
    )


def test_blocks_are_kept_once_and_lifted(db: Database) -> None:
    assert db.run(lambda c: repo.block(c, blocker_id="a", blocked_id="b", at=EPOCH)) is True
    assert db.run(lambda c: repo.block(c, blocker_id="a", blocked_id="b", at=at(5))) is False
    db.run(lambda c: repo.block(c, blocker_id="a", blocked_id="c", at=EPOCH))
    assert db.run(lambda c: is_blocked(c, blocker_id="a", blocked_id="b")) is True
    assert db.run(lambda c: is_blocked(c, blocker_id="b", blocked_id="a")) is False
    assert db.run(lambda c: repo.load_blocked(c, "a")) == ("b", "c")
    assert db.run(lambda c: repo.unblock(c, blocker_id="a", blocked_id="b")) is True
    assert db.run(lambda c: repo.unblock(c, blocker_id="a", blocked_id="b")) is False
    assert db.run(lambda c: repo.load_blocked(c, "a")) == ("c",)


def test_history_is_the_last_messages_since_a_time_oldest_first(db: Database) -> None:
    rows = [chat(f"m{n}", "global", at(n)) for n in range(5)] + [chat("x", "region:eu", at(9))]
    assert db.run(lambda c: repo.record_chat_messages(c, rows)) == 6
    assert db.run(lambda c: repo.record_chat_messages(c, rows[:2])) == 0  # known ids skipped
    found = db.run(lambda c: repo.load_chat_history(c, "global", since=at(1), limit=3))
    assert [m.message_id for m in found] == ["m2", "m3", "m4"]
    found = db.run(lambda c: repo.load_chat_history(c, "global", since=at(3), limit=10))
    assert found == rows[3:5]


def test_a_direct_message_is_stored_once_and_delivered_once(db: Database) -> None:
    first = direct("d1", at(1))
    assert db.run(lambda c: repo.record_direct_message(c, first)) == first
    again = attrs.evolve(first, text="changed", sent_at=at(2))
    assert db.run(lambda c: repo.record_direct_message(c, again)) == first
    db.run(lambda c: repo.record_direct_message(c, direct("d2", at(3))))
    db.run(lambda c: repo.record_direct_message(c, direct("other", at(3), to="p3")))
    waiting = db.run(lambda c: repo.load_undelivered(c, "p2", limit=10))
    assert [m.message_id for m in waiting] == ["d1", "d2"]
    assert db.run(lambda c: repo.mark_delivered(c, ["d1"], at=at(4))) == 1
    assert db.run(lambda c: repo.mark_delivered(c, ["d1", "d2"], at=at(5))) == 1
    assert db.run(lambda c: repo.load_undelivered(c, "p2", limit=10)) == []


async def _run(
    janitor: ChatJanitor,
    stopping: trio.Event,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    await janitor.run(ChildContext("chat-purge", task_status=task_status, stopping=stopping))


async def test_the_purge_deletes_each_type_past_its_retention_boundary_kept(
    database_url: str, autojump_clock: trio.testing.MockClock
) -> None:
    t0 = trio.current_time()
    social = SocialSettings(
        retention_global=DAY, retention_guild=3 * DAY, retention_direct=2 * DAY, purge_interval=HOUR
    )
    retention = RetentionPolicy.from_settings(social)
    settings = attrs.evolve(FAST, url=database_url)
    async with running(StorageActor(settings, data_dir=Path("unused"), clock=wall)) as storage:
        # Runs fall at t0 + 1 h, + 2 h ...: at the first, the global cut-off is t0 + 1 h - 1 day.
        first_run = t0 + HOUR
        global_cut = at(first_run - DAY)
        await storage.chat.record_chat_messages(
            [
                chat("g-old", "global", global_cut - dt.timedelta(microseconds=1)),
                chat("g-exact", "global", global_cut),
                chat("guild-2d", "guild:g1", at(first_run - 2 * DAY)),
                chat("guild-3d+", "guild:g1", at(first_run - 3 * DAY - 1)),
            ]
        )
        direct_cut = at(first_run - 2 * DAY)
        await storage.chat.record_direct_message(
            direct("d-old", direct_cut - dt.timedelta(seconds=1))
        )
        await storage.chat.record_direct_message(direct("d-exact", direct_cut))

        janitor = ChatJanitor(storage.chat, retention, interval=social.purge_interval, clock=wall)
        async with trio.open_nursery() as nursery:
            stopping = trio.Event()
            await nursery.start(_run, janitor, stopping)
            await janitor.wait_for_runs(1)
            stats = janitor.stats()
            assert (stats.chat_messages, stats.direct_messages) == (2, 1)
            global_left = look(
                database_url,
                lambda c: repo.load_chat_history(c, "global", since=at(-9 * DAY), limit=9),
            )
            assert [m.message_id for m in global_left] == ["g-exact"]
            guild_left = look(
                database_url,
                lambda c: repo.load_chat_history(c, "guild:g1", since=at(-9 * DAY), limit=9),
            )
            assert [m.message_id for m in guild_left] == ["guild-2d"]
            waiting = look(database_url, lambda c: repo.load_undelivered(c, "p2", limit=9))
            assert [m.message_id for m in waiting] == ["d-exact"]
            # One run later "g-exact" is older than the global retention too.
            await janitor.wait_for_runs(2)
            assert janitor.stats().chat_messages == 3
            stopping.set()
