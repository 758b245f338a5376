"""Chat over real sockets: direct messages across a reconnect and a restart, blocks, the
chat rate limit.

The whole server runs (durable: SQLite in the test's data dir) on loopback, port 0; the
players are raw WebSocket clients that read JSON frames and acknowledge the stream by
hand. Storage works in threads, so the real clock runs and every test has an absolute
deadline (``trio.fail_after``).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from tests.integration.harness import make_settings, open_client, receive, running_server, send
from tilemud.server import TilemudServer


class ChatPlayer:
    """A raw client: remembers every frame, answers by rid, acks the stream when told."""

    def __init__(self, connection: Any, welcome: dict[str, Any], name: str) -> None:
        self.connection = connection
        self.welcome = welcome
        self.frames: list[dict[str, Any]] = []
        self.answers: dict[str, dict[str, Any]] = {}
        self.last_seq = 0
        self._rids = (f"{name}-{secrets}" for secrets in itertools.count(1))

    def next_rid(self) -> str:
        return next(self._rids)

    async def receive_one(self) -> dict[str, Any]:
        frame = await receive(self.connection)
        if "seq" in frame:
            assert frame["seq"] == self.last_seq + 1, (frame, self.last_seq)
            self.last_seq = frame["seq"]
            self.frames.append(frame)
        elif "rid" in frame:
            self.answers[frame["rid"]] = frame
        return frame

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        await send(self.connection, frame)
        while frame["rid"] not in self.answers:
            await self.receive_one()
        return self.answers[frame["rid"]]

    async def until(self, done: Callable[[ChatPlayer], bool]) -> None:
        while not done(self):
            await self.receive_one()

    async def ack(self) -> None:
        await send(self.connection, {"type": "ack", "seq": self.last_seq})

    def dms(self) -> list[str]:
        return [f["text"] for f in self.frames if f["type"] == "dm"]

    def said(self, channel: str = "global") -> list[tuple[str, str]]:
        return [
            (f["sender_id"], f["text"])
            for f in self.frames
            if f["type"] == "chat_message" and f["channel"] == channel
        ]


@asynccontextmanager
async def chat_player(
    server: TilemudServer,
    player_id: str,
    *,
    resume: ChatPlayer | None = None,
) -> AsyncIterator[ChatPlayer]:
    token = server.tokens.mint_access(player_id=player_id, name=player_id)
    hello: dict[str, Any] = {"type": "hello", "v": 2, "token": token}
    if resume is not None:
        hello["resume_token"] = resume.welcome["resume_token"]
        hello["last_seq"] = resume.last_seq
    async with open_client(server) as connection:
        await send(connection, hello)
        welcome = await receive(connection)
        assert welcome["type"] == "welcome", welcome
        player = ChatPlayer(connection, welcome, player_id)
        if resume is not None:
            player.last_seq = resume.last_seq
            player.frames = list(resume.frames)
            player._rids = resume._rids
        yield player


async def dm(sender: ChatPlayer, to: str, text: str, rid: str | None = None) -> dict[str, Any]:
    rid = rid or sender.next_rid()
    return await sender.request({"type": "dm_send", "rid": rid, "to": to, "text": text})


async def wait_delivered(server: TilemudServer, recipient: str, texts: set[str]) -> None:
    """Until none of ``texts`` to ``recipient`` is still waiting in storage."""
    while True:
        waiting = await server.chat.store.load_undelivered(recipient)
        if not {m.text for m in waiting} & texts:
            return
        await trio.sleep(0.05)


async def test_direct_messages_cross_a_reconnect_and_a_restart_each_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", reconnect_grace=30.0)
    with trio.fail_after(60):
        async with running_server(settings) as server, chat_player(server, "ann") as ann:
            async with chat_player(server, "bob") as bob1:
                assert (await dm(ann, "bob", "one"))["type"] == "dm_sent"
                await bob1.until(lambda p: "one" in p.dms())
                await bob1.ack()
            # bob's connection is gone; his session waits out its grace.
            assert (await dm(ann, "bob", "two"))["type"] == "dm_sent"
            async with chat_player(server, "bob", resume=bob1) as bob2:
                assert bob2.welcome["resumed"] is True
                await bob2.until(lambda p: "two" in p.dms())
                await bob2.ack()
            lost_rid = "ann-lost-answer"
            three = await dm(ann, "bob", "three", rid=lost_rid)
            await wait_delivered(server, "bob", {"one", "two"})
        async with running_server(settings) as server:
            async with chat_player(server, "ann") as ann, chat_player(server, "bob") as bob3:
                assert bob3.welcome["resumed"] is False
                # The answer of "three" was lost: the same rid again stores nothing new.
                again = await dm(ann, "bob", "three", rid=lost_rid)
                assert again["message_id"] == three["message_id"]
                await dm(ann, "bob", "four")
                await bob3.until(lambda p: "four" in p.dms())
                await bob3.ack()
                # bob2's frames were carried into bob3: every message exactly once overall.
                assert bob2.dms() == ["one", "two"]
                assert bob3.dms() == ["three", "four"]
                await wait_delivered(server, "bob", {"three", "four"})


async def test_a_blocked_senders_messages_never_reach_the_blocker(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            chat_player(server, "ann") as ann,
            chat_player(server, "bob") as bob,
            chat_player(server, "carl") as carl,
        ):
            blocked = await ann.request({"type": "block", "rid": "b1", "player_id": "carl"})
            assert blocked == {"type": "block_list", "rid": "b1", "blocked": ["carl"]}
            refused = await dm(carl, "ann", "hello?")
            assert (refused["type"], refused["code"]) == ("error", "blocked")
            for p in (ann, bob, carl):
                joined = await p.request(
                    {"type": "chat_join", "rid": p.next_rid(), "channel": "global"}
                )
                assert joined["type"] == "chat_joined", joined
            sent = await carl.request(
                {"type": "chat_send", "rid": "c1", "channel": "global", "text": "spam"}
            )
            assert sent["type"] == "chat_sent"  # carl is not told
            await bob.request(
                {"type": "chat_send", "rid": "m1", "channel": "global", "text": "marker"}
            )
            await ann.until(lambda p: ("bob", "marker") in p.said())
            await bob.until(lambda p: ("bob", "marker") in p.said())
            assert ann.said() == [("bob", "marker")]
            assert bob.said() == [("carl", "spam"), ("bob", "marker")]
            history = await ann.request({"type": "chat_history", "rid": "h1", "channel": "global"})
            assert [line["text"] for line in history["history"]] == ["marker"]
            unblocked = await ann.request({"type": "unblock", "rid": "b2", "player_id": "carl"})
            assert unblocked["blocked"] == []
            assert (await dm(carl, "ann", "sorry"))["type"] == "dm_sent"
            await ann.until(lambda p: "sorry" in p.dms())


async def test_the_21st_chat_message_in_10_s_is_refused_and_not_delivered(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path / "data")
    with trio.fail_after(60):
        async with (
            running_server(settings) as server,
            chat_player(server, "ann") as ann,
            chat_player(server, "bob") as bob,
        ):
            for p in (ann, bob):
                await p.request({"type": "chat_join", "rid": p.next_rid(), "channel": "global"})
            for n in range(20):
                answer = await ann.request(
                    {"type": "chat_send", "rid": f"s{n}", "channel": "global", "text": f"#{n}"}
                )
                assert answer["type"] == "chat_sent", answer
            refused = await ann.request(
                {"type": "chat_send", "rid": "s20", "channel": "global", "text": "#20"}
            )
            assert refused["type"] == "error"
            assert refused["code"] == "rate_limited"
            assert 0 < refused["retry_after"] <= 10
            await bob.request(
                {"type": "chat_send", "rid": "mark", "channel": "global", "text": "marker"}
            )
            await bob.until(lambda p: ("bob", "marker") in p.said())
            assert [text for sender, text in bob.said() if sender == "ann"] == [
                f"#{n}" for n in range(20)
            ]
