"""A session in no arena whose stream overflowed goes on from a ``stream_gap`` frame.

Without an arena there is no snapshot to send after a gap; the stream must not stall
waiting for one. Through the real gateway over in-memory streams, under autojump.
"""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from tests.integration.harness import make_settings, running_server
from tests.world.memory import memory_player
from tilemud.player_client import PlayerClient
from tilemud.protocol import (
    ChatJoin,
    ChatJoined,
    ChatMessage,
    ChatSend,
    ChatSent,
    ServerMessage,
    StreamGap,
)

DEADLINE = 100.0


async def chat_join(client: PlayerClient, channel: str = "global") -> None:
    answer = await client.request(ChatJoin(rid=client.next_rid(), channel=channel))
    assert isinstance(answer, ChatJoined), answer


async def chat_send(client: PlayerClient, text: str, channel: str = "global") -> None:
    answer = await client.request(ChatSend(rid=client.next_rid(), channel=channel, text=text))
    assert isinstance(answer, ChatSent), answer


def said(frames: list[ServerMessage]) -> list[str]:
    return [f.text for f in frames if isinstance(f, ChatMessage)]


async def test_an_overflowed_stream_without_an_arena_resumes_after_a_stream_gap(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    settings = make_settings(tmp_path, durable=False, stream_buffer=8)
    with trio.fail_after(DEADLINE):
        async with running_server(settings) as server, memory_player(server, "p_b") as bob:
            async with memory_player(server, "p_a") as ada:
                await chat_join(ada.client)
                await chat_join(bob.client)
                await chat_send(bob.client, "before")
                await ada.client.receive_until(lambda c: c.stream.last_seq >= 1)
                assert ada.client.welcome is not None
                resume_token = ada.client.welcome.resume_token
                last_seq = ada.client.stream.last_seq
                await ada.drop()
            for n in range(12):  # more than the 8-frame buffer holds
                await chat_send(bob.client, f"while away {n}")
            async with memory_player(
                server, "p_a", resume_token=resume_token, last_seq=last_seq
            ) as again:
                assert again.client.welcome is not None
                assert again.client.welcome.resumed
                await again.client.receive_until(
                    lambda _: any(isinstance(f, StreamGap) for f in again.seen)
                )
                await chat_send(bob.client, "after")
                await again.client.receive_until(
                    lambda _: any(
                        isinstance(f, ChatMessage) and f.text == "after" for f in again.seen
                    )
                )
            # The frames after the gap come in order, without gaps or duplicates.
            assert again.client.stream.gaps == 0
            assert again.client.stream.duplicates == 0
            assert said(again.seen)[-1] == "after"
