"""Options are checked before a byte is sent: loopback only, bounded, within the rate limit."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from tilemud.errors import ConfigError
from tilemud.loadtest import LoadConfig, TargetRefused
from tilemud.loadtest._config import is_loopback_host

GOOD = LoadConfig(http_url="http://127.0.0.1:7351", ws_url="ws://127.0.0.1:7350/v1/ws")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.2", "8.8.8.8", "example.org", "", None])
def test_other_hosts_are_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)


def test_the_defaults_are_valid() -> None:
    LoadConfig().check()
    GOOD.check()


@pytest.mark.parametrize(
    "change",
    [
        {"http_url": "http://10.1.2.3:7351"},
        {"ws_url": "ws://example.org/v1/ws"},
        {"ws_url": "ws://[2001:db8::1]:7350/v1/ws"},
    ],
)
def test_targets_off_this_machine_are_refused(change: dict[str, Any]) -> None:
    config = attrs.evolve(GOOD, **change)
    with pytest.raises(TargetRefused, match="--allow-remote"):
        config.check()
    attrs.evolve(config, allow_remote=True).check()


def test_a_rate_above_the_servers_limit_is_refused_unless_asked_for() -> None:
    too_fast = attrs.evolve(GOOD, actions_per_second=6.5)
    with pytest.raises(ConfigError, match="rate"):
        too_fast.check()
    attrs.evolve(too_fast, exceed_rate_limit=True).check()
    attrs.evolve(GOOD, actions_per_second=6.0).check()


@pytest.mark.parametrize(
    "change",
    [
        {"players": 0},
        {"players": 100_000},
        {"duration": 0},
        {"duration": 10 * 3600},
        {"ramp": 31.0},
        {"processes": 0},
        {"reconnect_at": 30.0},
        {"ack_every": 0},
        {"mode": "raid"},
        {"ws_url": "wss://127.0.0.1/v1/ws"},
        {"http_url": "ftp://127.0.0.1/"},
    ],
)
def test_unbounded_or_meaningless_runs_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        attrs.evolve(GOOD, **change).check()


def test_a_config_survives_the_trip_to_a_worker() -> None:
    config = attrs.evolve(GOOD, players=300, reconnect_at=12.5, scenario="x")
    assert LoadConfig.from_dict(config.to_dict()) == config
