"""The process sampler on this (Linux) machine: real CPU and memory figures."""

from __future__ import annotations

import time

from tilemud.actors.elasticity import ProcessSampler


def test_busy_cpu_shows_and_memory_is_a_share_of_what_is_available() -> None:
    sampler = ProcessSampler()
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # keep this process's one thread busy
        pass
    sample = sampler.sample()
    # Busy the whole window, but the machine's other work may take part of the core.
    assert 0.05 < sample.cpu < 1.5
    assert 0 < sample.memory < 1
