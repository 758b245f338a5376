"""Settings: layers, strictness of the file, parsing of the environment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tilemud.config import Settings, ensure_secret, load_settings
from tilemud.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tilemud.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings(env={})
    assert settings == Settings()
    assert (settings.server.host, settings.server.ws_port, settings.server.http_port) == (
        "127.0.0.1",
        7350,
        7351,
    )
    assert settings.server.data_dir == Path("tilemud-data")


def test_layers_file_then_env_then_flags(tmp_path: Path) -> None:
    config = write(tmp_path, "[server]\nws_port = 8000\nhttp_port = 8001\nhost = '0.0.0.0'\n")
    settings = load_settings(
        config_file=config,
        env={"TILEMUD_HTTP_PORT": "9001", "TILEMUD_WS_PORT": "9000"},
        overrides={"server": {"ws_port": 10000}},
    )
    assert settings.server.host == "0.0.0.0"
    assert settings.server.http_port == 9001
    assert settings.server.ws_port == 10000


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = write(tmp_path, "[gateway]\nhello_timeout = 3\n")
    settings = load_settings(env={"TILEMUD_CONFIG": str(config)})
    assert settings.gateway.hello_timeout == 3.0


def test_environment_values_are_parsed() -> None:
    settings = load_settings(
        env={
            "TILEMUD_AUTH_GUEST_LOGIN": "off",
            "TILEMUD_GATEWAY_SLOW_CLIENT_TIMEOUT": "2.5",
            "TILEMUD_DATA_DIR": "/tmp/x",
            "TILEMUD_LOG_FORMAT": "json",
        }
    )
    assert settings.auth.guest_login is False
    assert settings.gateway.slow_client_timeout == 2.5
    assert settings.server.data_dir == Path("/tmp/x")
    assert settings.log.format == "json"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[server]\nhttp_port = "8000"\n', "http_port"),
        ("[server]\nws_port = true\n", "ws_port"),
        ("[server]\nnope = 1\n", "nope"),
        ("[elsewhere]\nx = 1\n", "elsewhere"),
        ("[server]\nhttp_port = 99999\n", "65535"),
        ("[gateway]\nhello_timeout = 0\n", "hello_timeout"),
        ('[log]\nlevel = "LOUD"\n', "level"),
        ("not toml at all [", "cannot read"),
    ],
)
def test_bad_files_are_refused_with_the_setting_named(
    tmp_path: Path, text: str, complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        load_settings(config_file=write(tmp_path, text), env={})


@pytest.mark.parametrize(
    "env",
    [{"TILEMUD_WS_PORT": "abc"}, {"TILEMUD_AUTH_GUEST_LOGIN": "maybe"}],
)
def test_bad_environment_values_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        load_settings(env=env)


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(config_file=tmp_path / "absent.toml", env={})


def test_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings(env={"TILEMUD_DATA_DIR": str(tmp_path / "data")})
    first = ensure_secret(settings)
    second = ensure_secret(settings)
    assert first.auth.secret
    assert first.auth.secret == second.auth.secret
    mode = os.stat(tmp_path / "data" / "jwt-secret").st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_configured_secret_is_used_as_is(tmp_path: Path) -> None:
    settings = load_settings(
        env={"TILEMUD_AUTH_SECRET": "s" * 40, "TILEMUD_DATA_DIR": str(tmp_path)}
    )
    assert ensure_secret(settings).auth.secret == "s" * 40
    assert not (tmp_path / "jwt-secret").exists()


def test_regions_from_file_and_environment(tmp_path: Path) -> None:
    config = write(tmp_path, '[world]\nregions = ["eu-west", "us2"]\n')
    assert load_settings(config_file=config, env={}).world.regions == ("eu-west", "us2")
    assert load_settings(env={"TILEMUD_WORLD_REGIONS": "eu, asia"}).world.regions == (
        "eu",
        "asia",
    )


@pytest.mark.parametrize(
    "text",
    ['[world]\nregions = "eu"\n', '[world]\nregions = ["EU"]\n', "[world]\nregions = []\n"],
)
def test_bad_regions_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"region"):
        load_settings(config_file=write(tmp_path, text), env={})
