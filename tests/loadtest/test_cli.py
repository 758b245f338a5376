"""``tilemud loadtest`` on the command line: options, and refusals before any traffic."""

from __future__ import annotations

import argparse

import pytest

from tilemud.cli import main
from tilemud.loadtest import LoadConfig, add_loadtest_arguments, config_from_args


def parse(*argv: str) -> LoadConfig:
    parser = argparse.ArgumentParser()
    add_loadtest_arguments(parser)
    return config_from_args(parser.parse_args(argv))


def test_the_options_make_the_config() -> None:
    config = parse(
        "--players", "300", "--mode", "battle", "--region", "us", "--duration", "60",
        "--actions-per-second", "2", "--ramp", "0", "--processes", "2", "--seed", "9",
        "--reconnect-storm", "30", "--ack-every", "5", "--scenario", "epic",
    )  # fmt: skip
    assert (config.players, config.mode, config.region) == (300, "battle", "us")
    assert (config.duration, config.actions_per_second, config.ramp) == (60.0, 2.0, 0.0)
    assert (config.processes, config.seed, config.reconnect_at) == (2, 9, 30.0)
    assert (config.ack_every, config.scenario) == (5, "epic")
    assert not config.allow_remote
    config.check()


def test_defaults_aim_at_the_local_server() -> None:
    config = parse()
    assert config == LoadConfig()


def test_a_remote_target_is_refused_before_any_traffic(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["loadtest", "--ws-url", "ws://192.168.1.20:7350/v1/ws", "--duration", "1"])
    assert status == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_a_rate_above_the_limit_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["loadtest", "--actions-per-second", "10"]) == 2
    assert "--exceed-rate-limit" in capsys.readouterr().err
