"""Alembic's environment, driven by :mod:`tilemud.storage.migrate` (no alembic.ini).

The caller puts an open ``Connection`` in ``config.attributes["connection"]`` (inside a
transaction it commits); this script only configures the context around it. SQLite
migrations run in "batch" mode, which rebuilds a table for each ALTER SQLite lacks.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tilemud.storage.tables import metadata


def run_migrations_online() -> None:
    """Run the migrations on the connection the caller handed over."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through tilemud.storage.migrate, with a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("tilemud migrations run online only")
run_migrations_online()
