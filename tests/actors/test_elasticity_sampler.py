"""The process sampler on this (Linux) machine: real CPU and memory figures."""

from __future__ import annotations

import time

from tilemud.actors.elasticity import ProcessSampler


def test_cpu_spent_shows_and_memory_is_a_share_of_what_is_available() -> None:
    sampler = ProcessSampler()
    started, spent = time.monotonic(), time.process_time()
    # Spend 0.1 s of CPU, however long a busy machine makes that take.
    while time.process_time() - spent < 0.1 and time.monotonic() - started < 20:
        pass
    wall = time.monotonic() - started
    sample = sampler.sample()
    # CPU seconds over wall seconds (os.times counts in 10 ms ticks).
    assert (0.1 - 0.02) / wall <= sample.cpu <= (0.1 + 0.03) / wall
    assert 0 < sample.memory < 1
