"""A connect storm over real sockets: every player gets their stored direct messages in the
session they just opened (issue 11, item 5).

200 clients say hello at once to a real server whose chat mailboxes hold 8 messages (the
report needed 3,000 clients against the default 1,024; a small mailbox makes 200 enough).
Every tenth has two direct messages stored before it connects; each of those must see
both on the stream of this very session. Loopback, real clock, one absolute deadline.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import trio

from tests.integration.harness import make_settings, open_client, running_server
from tilemud.actors.chat import _service as chat_service
from tilemud.player_client import PlayerClient
from tilemud.protocol import DirectMessageFrame, ServerMessage
from tilemud.server import TilemudServer
from tilemud.storage import DirectMessageRecord

pytestmark = pytest.mark.integration

CLIENTS = 200
MAILBOX = 8


async def connect_and_read_mail(
    server: TilemudServer, player_id: str, expected: int, got: dict[str, list[str]]
) -> None:
    """Say hello, then read until ``expected`` direct messages came on this stream."""
    token = server.tokens.mint_access(player_id=player_id, name=player_id)
    seen: list[ServerMessage] = []
    async with open_client(server, max_message_size=16 * 1024 * 1024) as connection:
        client = PlayerClient(connection, on_frame=seen.append)
        await client.hello(token)
        texts = got.setdefault(player_id, [])
        while len(texts) < expected:
            frame = await client.receive()
            if isinstance(frame, DirectMessageFrame):
                texts.append(frame.text)


async def test_every_player_of_a_connect_storm_gets_their_direct_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(chat_service, "CHAT_MAILBOX", MAILBOX)
    players = [f"p_{i:03d}" for i in range(CLIENTS)]
    with_mail = players[::10]
    sent_at = dt.datetime.now(dt.UTC)
    got: dict[str, list[str]] = {}
    with trio.fail_after(60):
        async with running_server(make_settings(tmp_path, hello_timeout=30.0)) as server:
            assert server.storage is not None
            storage = server.storage.client
            for n, player in enumerate(with_mail):
                for k in range(2):
                    await storage.chat.record_direct_message(
                        DirectMessageRecord(
                            message_id=f"dm-{n}-{k}",
                            sender_id="p_sender",
                            sender_name="Sender",
                            recipient_id=player,
                            text=f"{k} for {player}",
                            sent_at=sent_at + dt.timedelta(milliseconds=k),
                        )
                    )
            async with trio.open_nursery() as storm:
                for player in players:
                    expected = 2 if player in with_mail else 0
                    storm.start_soon(connect_and_read_mail, server, player, expected, got)
    for player in with_mail:
        assert got[player] == [f"0 for {player}", f"1 for {player}"], player
    assert len(got) == CLIENTS
    saturated = [r for r in caplog.records if "saturated" in r.getMessage()]
    assert saturated == []
