"""Fuzz the player port with >= 10,000 generated frames through real connections.

benchmarks/wire_fuzz.py has the strategies and the checks; the benchmark runs the same
with 100,000 frames and more (docs/reliability.md has its figures).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.wire_fuzz import Tally, fuzz, fuzz_server, server_errors

pytestmark = pytest.mark.integration

FRAMES = 10_000


def test_generated_frames_never_break_the_server(tmp_path: Path) -> None:
    tally = Tally()
    with fuzz_server(tmp_path) as target:
        while tally.frames_sent < FRAMES:
            fuzz(target, tally, examples=100)
        errors = server_errors(target)
    assert tally.problems == []
    assert errors == []
    assert tally.frames_sent >= FRAMES
    assert tally.connections >= 100
    # Both outcomes happened: connections that stayed usable and ones closed.
    assert 0 < tally.closed < tally.connections
