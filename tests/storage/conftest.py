"""Fixtures of the storage tests: one database per backend, and the per-run PostgreSQL one.

PostgreSQL: the server named by ``TILEMUD_TEST_POSTGRES_URL`` (default: the machine's own,
``postgresql://postgres@127.0.0.1:5432/postgres``, trust auth) gets one database per test
run, ``tilemud_test_<random>``, migrated to head once and dropped (``WITH (FORCE)``) at the
end; each test starts with its tables truncated. The shared databases are never touched.
Unreachable, the PostgreSQL tests are skipped with the reason, except under CI (``CI`` set),
where they fail: CI must never pass by skipping them.

Testing policy: repository tests are synchronous and run on both backends. Tests of the
storage actor do real I/O in worker threads, so they run on the real clock (under
``autojump_clock`` a ``fail_after`` around a thread expires at once) with generous absolute
deadlines; only pure logic (the write-behind buffer) uses ``autojump_clock``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from benchmarks.databases import throwaway_database
from tilemud.config import DatabaseSettings
from tilemud.storage import Database, migrate
from tilemud.storage import tables as t

ADMIN_URL = os.environ.get(
    "TILEMUD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def in_ci() -> bool:
    """Whether this run is CI's, where PostgreSQL tests must run."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[0]
        reason = f"PostgreSQL is not reachable at {ADMIN_URL}: {detail}"
        if in_ci():
            pytest.fail(f"{reason} (CI is set: the PostgreSQL tests must run)", pytrace=False)
        pytest.skip(f"{reason} (set TILEMUD_TEST_POSTGRES_URL, or run under CI to fail)")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of this run's own PostgreSQL database, migrated to head."""
    _admin().close()  # skips (or, under CI, fails) when PostgreSQL is not there
    with throwaway_database(ADMIN_URL, prefix="tilemud_test") as url:
        yield url


def truncate_all(url: str) -> None:
    """Empty every table of the PostgreSQL database at ``url``."""
    names = ", ".join(table.name for table in t.metadata.sorted_tables)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database at head: a SQLite file, or the per-run PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/tilemud.sqlite3"
        migrate.upgrade(url)
        return url
    url = str(request.getfixturevalue("postgres_url"))
    truncate_all(url)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A :class:`Database` on :func:`database_url`."""
    database = Database(database_url, DatabaseSettings())
    try:
        yield database
    finally:
        database.dispose()
