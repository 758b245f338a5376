"""Every close the server starts carries the reason docs/protocol.md lists for its code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import trio

from tests.integration.harness import guest_login, make_settings, running_server
from tests.integration.raw_ws import ServerFrame, client_frame, greeted, open_raw, text

pytestmark = pytest.mark.integration

DOC = Path(__file__).parents[2] / "docs" / "protocol.md"


def documented_reasons() -> dict[int, set[str]]:
    """The table "close | reason" of docs/protocol.md: the reasons each code may carry."""
    section = DOC.read_text(encoding="utf-8").split("carries an error code as its reason")[1]
    reasons: dict[int, set[str]] = {}
    for line in section.splitlines()[3:]:
        if not line.startswith("|"):
            break
        code_cell, reason_cell = (cell.strip() for cell in line.strip("|").split("|"))
        codes = [int(c) for c in re.findall(r"\d{4}", code_cell)]
        if len(codes) == 2:
            codes = list(range(codes[0], codes[1] + 1))
        for code in codes:
            reasons.setdefault(code, set()).update(re.findall(r"`([a-z_]+)`", reason_cell))
    return reasons


def last_close(frames: list[ServerFrame]) -> tuple[int | None, str]:
    return frames[-1].close_code, frames[-1].close_reason


async def test_close_reasons_are_the_documented_ones(tmp_path: Path) -> None:
    documented = documented_reasons()
    settings = make_settings(
        tmp_path, durable=False, max_frame_bytes=1024, frame_rate=1.0, frame_burst=3
    )
    seen: list[tuple[int | None, str]] = []
    with trio.fail_after(30):
        async with running_server(settings) as server:
            port = server.addresses.ws_port
            token, _ = await guest_login(server, "ada")
            # 1009: a frame over max_frame_bytes.
            async with await greeted(port, token) as client:
                await client.send(client_frame(0x1, b"x" * 2048))
                seen.append(last_close(await client.frames_until_eof()))
            # 4009: the same player connects again.
            async with await greeted(port, token) as first:
                async with await greeted(port, token):
                    seen.append(last_close(await first.frames_until_eof()))
            # 4000: a first frame that is not a hello.
            async with await open_raw(port) as client:
                await client.send(text({"type": "ping", "rid": "1"}))
                seen.append(last_close(await client.frames_until_eof()))
            # 1008: a flood that ignores retry_after.
            async with await greeted(port, token) as client:
                for _ in range(10):
                    await client.send(text({"type": "ping", "rid": "f"}))
                seen.append(last_close(await client.frames_until_eof()))
            # 1001: the server stops.
            async with await greeted(port, token) as client:
                server.stop()
                seen.append(last_close(await client.frames_until_eof()))
    assert [code for code, _ in seen] == [1009, 4009, 4000, 1008, 1001]
    for code, reason in seen:
        assert code is not None
        assert reason in documented[code], (code, reason)
