"""Migrations on both backends, the start-up schema policy, and ``tilemud migrate``."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tilemud.cli import EXIT_FAILURE, EXIT_USAGE, main
from tilemud.config import DatabaseSettings, ServerSettings, Settings
from tilemud.game import BATTLE_RULES
from tilemud.storage import (
    ParticipantRecord,
    SchemaOutOfDate,
    StorageUnavailable,
    check_schema,
    load_participants,
    migrate,
    record_participants,
    record_rule_config,
)
from tilemud.storage import tables as t
from tilemud.storage.migrate import MIGRATIONS_DIR

TABLES = {table.name for table in t.metadata.sorted_tables}
#: The tables of revision 0001.
ZERO_ONE_TABLES = {
    "players",
    "rule_configs",
    "arenas",
    "board_snapshots",
    "placements",
    "tick_checksums",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables: a new SQLite file, or a new schema of the run's database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.sqlite3"
        return
    base = sa.make_url(str(request.getfixturevalue("postgres_url")))
    schema = f"migrate_{secrets.token_hex(4)}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        scoped = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def drift(url: str) -> list[object]:
    """Differences between the migrated database and ``tables.metadata`` (none wanted)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, t.metadata))
    finally:
        engine.dispose()


def test_upgrade_from_empty_to_head_and_down_to_base(empty_url: str) -> None:
    assert migrate.current(empty_url) is None
    assert not migrate.is_up_to_date(empty_url)
    migrate.upgrade(empty_url)
    assert migrate.current(empty_url) == migrate.head()
    assert migrate.is_up_to_date(empty_url)
    assert table_names(empty_url) == TABLES | {"alembic_version"}
    assert drift(empty_url) == []
    migrate.upgrade(empty_url)  # at head already: nothing to do
    migrate.downgrade(empty_url, "base")
    assert migrate.current(empty_url) is None
    assert table_names(empty_url) <= {"alembic_version"}
    migrate.upgrade(empty_url)
    assert migrate.is_up_to_date(empty_url)


def test_0002_adds_arena_players_to_a_0001_database_and_takes_it_away(empty_url: str) -> None:
    migrate.upgrade(empty_url, "0001")
    assert "arena_players" not in table_names(empty_url)
    at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    engine = sa.create_engine(empty_url)
    try:
        with engine.begin() as conn:
            version = record_rule_config(conn, BATTLE_RULES, at=at)
            # Raw SQL: today's ``arenas`` has columns (rounds, 0006) that 0001 lacks.
            conn.execute(
                sa.text(
                    "INSERT INTO arenas (id, mode, region, rules_version, seed, state, created)"
                    " VALUES ('a1', 'battle', 'eu', :v, 1, 'live', :at)"
                ),
                {"v": version, "at": at},
            )
        migrate.upgrade(empty_url, "0002")
        assert migrate.current(empty_url) == "0002"
        with engine.begin() as conn:
            seed = conn.execute(sa.text("SELECT seed FROM arenas WHERE id = 'a1'")).scalar()
            assert seed == 1  # the rows of 0001 are kept
            record_participants(conn, [ParticipantRecord(arena_id="a1", player_id="p1", joined=at)])
            assert load_participants(conn, "a1") == ("p1",)
        migrate.downgrade(empty_url, "0001")
        assert migrate.current(empty_url) == "0001"
        assert table_names(empty_url) == ZERO_ONE_TABLES | {"alembic_version"}
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT id FROM arenas")).scalar() == "a1"
    finally:
        engine.dispose()


def test_the_migration_scripts_are_in_the_package() -> None:
    # pyproject.toml ships them: versions/ is a package, script.py.mako package data.
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "__init__.py").is_file()
    # Later revisions (0004 guilds ...) come after the chat tables of 0003.
    assert migrate.head() >= "0003"


def settings_for(url: str | None, data_dir: Path) -> Settings:
    return Settings(server=ServerSettings(data_dir=data_dir), database=DatabaseSettings(url=url))


def test_serve_migrates_the_embedded_sqlite_database_itself(tmp_path: Path) -> None:
    settings = settings_for(None, tmp_path / "data")
    check_schema(settings)
    url = f"sqlite:///{tmp_path}/data/tilemud.sqlite3"
    assert migrate.is_up_to_date(url)
    check_schema(settings)  # again: nothing to do


def test_serve_refuses_a_postgres_database_behind_and_names_the_fix(
    postgres_url: str, tmp_path: Path
) -> None:
    scoped = sa.make_url(postgres_url).update_query_dict({"options": "-csearch_path=nowhere"})
    url = scoped.render_as_string(hide_password=False)
    with pytest.raises(SchemaOutOfDate, match="run `tilemud migrate`") as caught:
        check_schema(settings_for(url, tmp_path))
    assert "none (empty)" in str(caught.value)
    assert caught.value.code == "schema_out_of_date"
    check_schema(settings_for(postgres_url, tmp_path))  # the run's database is at head


def test_a_database_ahead_of_this_tilemud_is_refused(empty_url: str, tmp_path: Path) -> None:
    migrate.upgrade(empty_url)
    engine = sa.create_engine(empty_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="9999"):
        check_schema(settings_for(empty_url, tmp_path))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/x"
    with pytest.raises(StorageUnavailable, match="unavailable"):
        migrate.current(url)
    with pytest.raises(StorageUnavailable):
        check_schema(settings_for(url, tmp_path))


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No TILEMUD_* setting of the machine leaks into the command line."""
    for name in list(os.environ):
        if name.startswith("TILEMUD_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_environment")
def test_migrate_command_brings_a_database_to_head(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--database-url", empty_url]) == 0
    head = migrate.head()
    assert capsys.readouterr().out.strip().endswith(f"schema empty -> {head}")
    assert main(["migrate", "--database-url", empty_url]) == 0
    assert capsys.readouterr().out.strip().endswith(f"schema already at {head}")
    assert migrate.is_up_to_date(empty_url)


@pytest.mark.usefixtures("clean_environment")
def test_migrate_command_defaults_to_the_data_dir_and_reads_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--data-dir", str(tmp_path / "d")]) == 0
    assert migrate.is_up_to_date(f"sqlite:///{tmp_path}/d/tilemud.sqlite3")
    monkeypatch.setenv("TILEMUD_DATABASE_URL", f"sqlite:///{tmp_path}/env.sqlite3")
    assert main(["migrate"]) == 0
    assert (tmp_path / "env.sqlite3").is_file()
    capsys.readouterr()


@pytest.mark.usefixtures("clean_environment")
def test_migrate_command_failures(capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = f"postgresql://postgres:secret@127.0.0.1:{closed_port()}/x"
    assert main(["migrate", "--database-url", unreachable]) == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "unavailable" in err
    assert "secret" not in err
    assert main(["migrate", "--database-url", "mysql://x/y"]) == EXIT_USAGE
    assert "unsupported backend" in capsys.readouterr().err
