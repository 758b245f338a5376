"""The ``tilemud`` command line, called in process: tokens, schemas, version, bad input.

The server itself (``tilemud serve``, signals, logs) is tested as a real process in
tests/integration/test_process.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import tilemud.protocol
from tilemud import __version__
from tilemud.auth import TokenAuthority
from tilemud.cli import EXIT_USAGE, main
from tilemud.config import AuthSettings, ensure_secret, load_settings

SECRET = "cli-test-secret-0123456789abcdef-0123456789"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TILEMUD_* setting of the machine leaks in; the working directory is scratch."""
    for name in list(os.environ):
        if name.startswith("TILEMUD_"):
            monkeypatch.delenv(name)
    # A forgotten --data-dir must not leave ./tilemud-data in the repository.
    monkeypatch.chdir(tmp_path)


def test_token_with_a_configured_secret_verifies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TILEMUD_AUTH_SECRET", SECRET)
    status = main(["token", "--player-id", "p_1", "--name", "ada", "--role", "admin"])
    out = capsys.readouterr().out
    assert status == 0
    token = out.strip()
    assert out == token + "\n"
    claims = TokenAuthority(AuthSettings(secret=SECRET)).verify_access(token)
    assert claims.player_id == "p_1"
    assert claims.name == "ada"
    assert claims.roles == ("admin",)


def test_token_with_the_generated_secret_of_the_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    status = main(["token", "--player-id", "p_1", "--name", "ada", "--data-dir", str(data_dir)])
    token = capsys.readouterr().out.strip()
    assert status == 0
    assert (data_dir / "jwt-secret").is_file()
    # The server started on the same data dir would verify it with the same secret.
    settings = ensure_secret(load_settings(env={}, overrides={"server": {"data_dir": data_dir}}))
    claims = TokenAuthority(settings.auth).verify_access(token)
    assert (claims.player_id, claims.name, claims.roles) == ("p_1", "ada", ())


def test_token_with_an_unusable_secret_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TILEMUD_AUTH_SECRET", "short")
    status = main(["token", "--player-id", "p_1", "--name", "ada"])
    captured = capsys.readouterr()
    assert status == EXIT_USAGE
    assert captured.out == ""
    assert captured.err.startswith("tilemud: ")
    assert "Traceback" not in captured.err


def test_token_needs_a_player_id(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["token", "--name", "ada"])
    assert exited.value.code == EXIT_USAGE
    assert "--player-id" in capsys.readouterr().err


def test_schemas_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas"]) == 0
    assert capsys.readouterr().err == ""


def test_schemas_report_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "schemas"
    shutil.copytree(tilemud.protocol.SCHEMA_DIR, copy)
    (copy / "client" / "hello.json").write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(tilemud.protocol, "SCHEMA_DIR", copy)
    assert main(["schemas"]) == 1
    assert capsys.readouterr().err == "drifted: client/hello.json\n"
    assert main(["schemas", "--write"]) == 0
    assert capsys.readouterr().out.strip() == str(copy / "client" / "hello.json")
    assert main(["schemas"]) == 0


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"tilemud {__version__}\n"


@pytest.mark.parametrize("argv", [["launch"], [], ["serve", "--ws-port", "many"]])
def test_bad_command_lines_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == EXIT_USAGE
    assert "usage: tilemud" in capsys.readouterr().err


def test_serve_with_a_bad_setting_exits_2_before_starting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TILEMUD_WS_PORT", "abc")
    assert main(["serve"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("tilemud: ")
    assert "ws_port" in err
    assert "Traceback" not in err
