"""The chat actors with real sessions: channels, access, blocks, the chat rate limit, text
rules, direct messages and their acknowledgement.

Everything runs under ``autojump_clock`` with the in-memory chat store (no I/O): the chat
subtree runs in the test's nursery, sessions are real :class:`Session` objects reached
through a stand-in presence, and what a player got is read from their session's stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

from tilemud.actors.chat import ChatService
from tilemud.actors.session import PresenceRegistry, Session, SessionIdentity, SessionServices
from tilemud.cluster import InProcessRateLimiter
from tilemud.config import GatewaySettings, LimitSettings, SocialSettings
from tilemud.metrics import ServerMetrics
from tilemud.protocol import (
    Ack,
    Block,
    ChatHistory,
    ChatJoin,
    ChatSend,
    ClientMessage,
    DmSend,
    ServerMessage,
    decode_server,
    encode_server,
)
from tilemud.supervisors import ChildContext

DEADLINE = 600.0
EPOCH = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def wall() -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=trio.current_time())


class Players(PresenceRegistry):
    """The node's presence, and the real sessions behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: dict[str, Session] = {}


class Memberships:
    def __init__(self) -> None:
        self.guilds: dict[str, str] = {}

    async def guild_of(self, player_id: str) -> str | None:
        return self.guilds.get(player_id)

    async def party_of(self, player_id: str) -> str | None:
        return None


class World:
    def __init__(
        self,
        chat: ChatService,
        players: Players,
        services: SessionServices,
        memberships: Memberships,
    ) -> None:
        self.memberships = memberships
        self.chat = chat
        self.players = players
        self.services = services

    def connect(self, player_id: str) -> Session:
        """A fresh session of ``player_id`` (as the session keeper makes one)."""
        session = Session(
            SessionIdentity(player_id=player_id, name=player_id.title(), session_id="s"),
            settings=GatewaySettings(),
            services=self.services,
        )
        self.players.sessions[player_id] = session
        self.players.arrived(session.ref)
        session.stream.attach(0)
        for listener in self.services.listeners:
            listener.session_started(session.ref)
        return session


@asynccontextmanager
async def chat_world(
    social: SocialSettings = SocialSettings(),  # noqa: B008 - frozen settings
) -> AsyncIterator[World]:
    players = Players()
    memberships = Memberships()
    chat = ChatService(
        social,
        LimitSettings(),
        regions=("eu",),
        store=None,
        presence=players,
        memberships=memberships,
        clock=wall,
    )
    services = SessionServices(
        directory=None,  # type: ignore[arg-type]  # chat never asks for an arena
        actions=InProcessRateLimiter(limit=60, window=10.0),
        meter=ServerMetrics(process=False).session,
        routes=(chat.requests,),
        listeners=(chat.requests,),
    )
    world = World(chat, players, services, memberships)
    async with trio.open_nursery() as nursery:
        await nursery.start(_run_chat, chat)
        yield world
        nursery.cancel_scope.cancel()


async def _run_chat(
    chat: ChatService, *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
) -> None:
    await chat.supervisor.run(ChildContext("chat", task_status=task_status))


async def ask(session: Session, message: ClientMessage) -> Any:
    """The decoded answer (Any: each test knows which message it expects)."""
    answer = await session.handle(message)
    assert answer is not None
    return decode_server(answer)


def frames(session: Session) -> list[Any]:
    """Every stream frame handed out since the last call, decoded."""
    got = []
    while (frame := session.stream.next_ready()) is not None:
        got.append(decode_server(text_of(frame)))
    return got


def text_of(frame: bytes) -> str:
    """The text of one server WebSocket frame (header: 2, 4 or 10 bytes, never masked)."""
    length = frame[1] & 0x7F
    offset = 2 if length < 126 else 4 if length == 126 else 10
    return frame[offset:].decode()


async def settle() -> None:
    await trio.sleep(0.1)  # the chat actors run; autojump makes it instant


def code(answer: ServerMessage) -> str | None:
    return getattr(answer, "code", None)


async def test_a_guild_channel_is_for_its_members_and_a_removed_member_leaves_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with chat_world() as world:
            members = world.memberships
            members.guilds.update(ann="g1", bob="g1")
            ann, bob, eve = world.connect("ann"), world.connect("bob"), world.connect("eve")
            assert code(await ask(eve, ChatJoin(rid="1", channel="guild:g1"))) == "forbidden"
            assert code(await ask(eve, ChatJoin(rid="2", channel="guild g1"))) == "unknown_channel"
            assert code(await ask(eve, ChatJoin(rid="3", channel="region:mars"))) == (
                "unknown_channel"
            )
            for s in (ann, bob):
                assert type(await ask(s, ChatJoin(rid="j", channel="guild:g1"))).__name__ == (
                    "ChatJoined"
                )
            await ask(ann, ChatSend(rid="s1", channel="guild:g1", text="hello guild"))
            await settle()
            assert [f.text for f in frames(bob) if f.TYPE == "chat_message"] == ["hello guild"]
            del members.guilds["bob"]
            assert world.chat.client.member_removed("guild:g1", "bob")
            await settle()
            closed = [f for f in frames(bob) if f.TYPE == "chat_closed"]
            assert [(f.channel, f.reason) for f in closed] == [("guild:g1", "removed")]
            await ask(ann, ChatSend(rid="s2", channel="guild:g1", text="bob is out"))
            await settle()
            assert frames(bob) == []
            assert code(await ask(bob, ChatSend(rid="s3", channel="guild:g1", text="hi"))) == (
                "forbidden"
            )
            assert world.chat.client.channel_closed("guild:g1")
            await settle()
            last = frames(ann)[-1]
            assert (last.TYPE, last.channel, last.reason) == ("chat_closed", "guild:g1", "closed")


async def test_the_blocker_never_sees_the_blocked_players_chat_live_or_as_history(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with chat_world() as world:
            ann, bob, carl = world.connect("ann"), world.connect("bob"), world.connect("carl")
            for s in (ann, bob, carl):
                await ask(s, ChatJoin(rid="j", channel="global"))
            await ask(carl, ChatSend(rid="c1", channel="global", text="before the block"))
            assert type(await ask(ann, Block(rid="b", player_id="carl"))).__name__ == "BlockList"
            await ask(carl, ChatSend(rid="c2", channel="global", text="after the block"))
            await ask(bob, ChatSend(rid="b1", channel="global", text="bob here"))
            await settle()
            seen_by_ann = [f.text for f in frames(ann) if f.TYPE == "chat_message"]
            assert seen_by_ann == ["before the block", "bob here"]
            seen_by_bob = [f.text for f in frames(bob) if f.TYPE == "chat_message"]
            assert seen_by_bob == ["before the block", "after the block", "bob here"]
            history = await ask(ann, ChatHistory(rid="h", channel="global"))
            assert [line.text for line in history.history] == ["bob here"]
            refused = await ask(carl, DmSend(rid="d", to="ann", text="let me talk"))
            assert code(refused) == "blocked"


async def test_the_21st_chat_message_in_the_window_is_refused_then_allowed_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with chat_world() as world:
            ann, bob = world.connect("ann"), world.connect("bob")
            for s in (ann, bob):
                await ask(s, ChatJoin(rid="j", channel="global"))
            for n in range(20):
                sent = await ask(ann, ChatSend(rid=f"s{n}", channel="global", text=f"#{n}"))
                assert sent.TYPE == "chat_sent"
            refused = await ask(ann, ChatSend(rid="s20", channel="global", text="#20"))
            assert code(refused) == "rate_limited"
            retry_after = refused.retry_after
            assert 0 < retry_after <= 10
            await settle()
            assert len([f for f in frames(bob) if f.TYPE == "chat_message"]) == 20
            await trio.sleep(retry_after)
            # The refusal was not remembered: the same rid goes through now.
            assert (await ask(ann, ChatSend(rid="s20", channel="global", text="#20"))).TYPE == (
                "chat_sent"
            )


async def test_text_rules_refuse_with_typed_errors_and_keep_one_line(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with chat_world(SocialSettings(message_max_chars=10)) as world:
            ann = world.connect("ann")
            await ask(ann, ChatJoin(rid="j", channel="global"))
            cases = {"   ": "empty_message", "x" * 11: "message_too_long", "a\x00b": "invalid_text"}
            for n, (text, expected) in enumerate(cases.items()):
                assert code(await ask(ann, ChatSend(rid=f"t{n}", channel="global", text=text))) == (
                    expected
                )
            await ask(ann, ChatSend(rid="ok", channel="global", text=" two\nlines "))
            await settle()
            assert [f.text for f in frames(ann) if f.TYPE == "chat_message"] == ["two lines"]


async def test_history_shows_only_what_the_retention_keeps(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with chat_world(SocialSettings(retention_global=60.0)) as world:
            ann = world.connect("ann")
            await ask(ann, ChatJoin(rid="j", channel="global"))
            await ask(ann, ChatSend(rid="1", channel="global", text="old"))
            await trio.sleep(30)
            await ask(ann, ChatSend(rid="2", channel="global", text="new"))
            await trio.sleep(30)  # "old" is exactly 60 s old: still kept
            history = await ask(ann, ChatHistory(rid="h1", channel="global"))
            assert [line.text for line in history.history] == ["old", "new"]
            await trio.sleep(0.001)
            history = await ask(ann, ChatHistory(rid="h2", channel="global"))
            assert [line.text for line in history.history] == ["new"]


async def test_a_direct_message_waits_for_its_recipient_and_an_acked_one_never_returns(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        async with chat_world() as world:
            ann = world.connect("ann")
            bob = world.connect("bob")
            del world.players.sessions["bob"]  # bob is gone (his session expired)
            sent = await ask(ann, DmSend(rid="d1", to="bob", text="while you were out"))
            assert sent.TYPE == "dm_sent"
            assert code(await ask(ann, DmSend(rid="d2", to="nobody", text="?"))) == "unknown_player"
            assert code(await ask(ann, DmSend(rid="d3", to="ann", text="me"))) == "invalid_target"
            bob = world.connect("bob")
            await settle()
            got = [f for f in frames(bob) if f.TYPE == "dm"]
            assert [(f.text, f.sender_id) for f in got] == [("while you were out", "ann")]
            # A repeat of the rid is answered as before and delivers nothing new.
            assert encode_server(await ask(ann, DmSend(rid="d1", to="bob", text="x"))) == (
                encode_server(sent)
            )
            await ask(ann, DmSend(rid="d4", to="bob", text="second"))
            await settle()
            second = [f for f in frames(bob) if f.TYPE == "dm"]
            assert [f.text for f in second] == ["second"]
            # bob acks the first only; a fresh session gets the second again, not the first.
            await bob.handle(Ack(seq=got[0].seq))
            await settle()
            bob = world.connect("bob")
            await settle()
            assert [f.text for f in frames(bob) if f.TYPE == "dm"] == ["second"]
