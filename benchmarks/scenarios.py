"""The named load scenarios: each one a ``tilemud loadtest`` with fixed options.

Every scenario runs against a freshly started local server (see :mod:`benchmarks.runner`),
with the server's default settings, and spreads its bots over two client processes (this
machine has two cores, shared with the server). Bots acknowledge their stream every 10
frames (about once a second at 10 Hz), as docs/protocol.md asks of clients ("every few
frames or every second"); ``tilemud loadtest`` alone acknowledges every frame by default,
like ``PlayerClient(auto_ack=True)``.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from tilemud.loadtest import LoadConfig


@attrs.frozen(kw_only=True)
class Scenario:
    """A named load test.

    Attributes:
        name: what ``python -m benchmarks run NAME`` calls it.
        summary: one line for ``python -m benchmarks list`` and the docs.
        config: the load test (URLs are filled in with the started server's).
    """

    name: str
    summary: str
    config: LoadConfig


#: What every scenario shares: two client processes, a fixed seed, an ack every 10 frames.
_BASE: Final = LoadConfig(processes=2, seed=7, ack_every=10)


def _config(name: str, **options: Any) -> LoadConfig:
    return attrs.evolve(_BASE, scenario=name, **options)


SCENARIOS: Final = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            name="epic-300",
            summary="300 players in one epic arena, 2 placements/s each; 10 s ramp, then 60 s",
            config=_config(
                "epic-300",
                players=300,
                mode="arena",
                actions_per_second=2.0,
                ramp=10.0,
                duration=70.0,
            ),
        ),
        Scenario(
            name="soak-60",
            summary="epic-300 for 60 minutes (12 rounds of 5 min), reported per 5 minutes",
            config=_config(
                "soak-60",
                players=300,
                mode="arena",
                actions_per_second=2.0,
                ramp=10.0,
                duration=3600.0,
                report_every=300,
            ),
        ),
        Scenario(
            name="battles",
            summary="40 players in battles of 8 (5 at once), 2 placements/s each, 60 s",
            config=_config(
                "battles",
                players=40,
                mode="battle",
                actions_per_second=2.0,
                ramp=2.0,
                duration=60.0,
            ),
        ),
        Scenario(
            name="join-storm",
            summary="300 players joining one epic arena within 1 s, then 20 s of play",
            config=_config(
                "join-storm",
                players=300,
                mode="arena",
                actions_per_second=2.0,
                ramp=1.0,
                duration=21.0,
            ),
        ),
        Scenario(
            name="reconnect-storm",
            summary="300 players in one arena; at 25 s all drop and resume; nothing may be lost",
            config=_config(
                "reconnect-storm",
                players=300,
                mode="arena",
                actions_per_second=2.0,
                ramp=10.0,
                duration=40.0,
                reconnect_at=25.0,
            ),
        ),
    )
}
