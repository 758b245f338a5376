"""The ``[database]`` settings and how a URL becomes a backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from tilemud.config import DatabaseSettings, Settings, load_settings
from tilemud.errors import ConfigError
from tilemud.storage import Database, database_url, redact, resolve_url


def test_database_settings_from_the_environment_and_a_file(tmp_path: Path) -> None:
    config = tmp_path / "tilemud.toml"
    config.write_text("[database]\nthreads = 8\nflush_interval = 1\n", encoding="utf-8")
    settings = load_settings(
        config_file=config,
        env={
            "TILEMUD_DATABASE_URL": "postgresql://u:pw@db/tilemud",
            "TILEMUD_DATABASE_STATEMENT_TIMEOUT_MS": "750",
        },
    )
    assert settings.database == DatabaseSettings(
        url="postgresql://u:pw@db/tilemud", statement_timeout_ms=750, threads=8, flush_interval=1.0
    )
    assert "pw" not in repr(settings)


@pytest.mark.parametrize("bad", ["threads = 0", "statement_timeout_ms = 0", "url = 5"])
def test_bad_database_settings_are_refused(tmp_path: Path, bad: str) -> None:
    config = tmp_path / "tilemud.toml"
    config.write_text(f"[database]\n{bad}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[database\]"):
        load_settings(config_file=config, env={})


def test_the_default_is_the_sqlite_file_in_the_data_dir() -> None:
    assert database_url(Settings()) == "sqlite:///tilemud-data/tilemud.sqlite3"
    assert resolve_url(None, Path("/var/lib/tilemud")) == (
        "sqlite:////var/lib/tilemud/tilemud.sqlite3"
    )


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://u:p%40ss@db:5432/t",
        "postgres://u:p%40ss@db:5432/t",
        "postgresql+psycopg://u:p%40ss@db:5432/t",
    ],
)
def test_postgres_urls_go_through_psycopg_3(given: str) -> None:
    assert resolve_url(given, Path("unused")) == "postgresql+psycopg://u:p%40ss@db:5432/t"
    assert redact(resolve_url(given, Path("unused"))) == "postgresql+psycopg://u:***@db:5432/t"


@pytest.mark.parametrize("given", ["mysql://u@db/t", "not a url", "postgresql+psycopg2://db/t"])
def test_other_urls_are_refused(given: str) -> None:
    with pytest.raises(ConfigError, match=r"database\.url"):
        resolve_url(given, Path("unused"))


def test_sqlite_gets_its_directory_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/deep/er/t.sqlite3", DatabaseSettings(threads=8))
    try:
        assert db.threads == 1  # one writer at a time, whatever the setting
        pragmas = db.run(
            lambda c: (
                c.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
                c.exec_driver_sql("PRAGMA foreign_keys").scalar_one(),
            )
        )
        assert pragmas == ("wal", 1)
    finally:
        db.dispose()
