"""Small helpers the repositories share: dialect-specific inserts, seeds, row mapping."""

from __future__ import annotations

from typing import Any, Final, TypeAlias

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from tilemud.storage._records import ArenaRecord

Insert: TypeAlias = postgresql.Insert | sqlite.Insert

_SEED_BITS: Final = 64
_SEED_SPAN: Final = 1 << _SEED_BITS
_SIGNED_MAX: Final = 1 << (_SEED_BITS - 1)


def insert(conn: Connection, table: sa.Table) -> Insert:
    """An INSERT that can say ``ON CONFLICT``: the same SQL on SQLite and PostgreSQL."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def seed_to_db(seed: int) -> int:
    """Store an unsigned 64-bit seed in a signed BIGINT (same bits).

    Raises:
        ValueError: ``seed`` is not in ``[0, 2**64)``.
    """
    if type(seed) is not int or not 0 <= seed < _SEED_SPAN:
        raise ValueError(f"a seed must be an integer in [0, 2**64), not {seed!r}")
    return seed - _SEED_SPAN if seed >= _SIGNED_MAX else seed


def seed_from_db(value: int) -> int:
    """Inverse of :func:`seed_to_db`."""
    return value + _SEED_SPAN if value < 0 else value


def arena_from_row(row: sa.Row[Any]) -> ArenaRecord:
    """An ``arenas`` row as a record."""
    return ArenaRecord(
        arena_id=row.id,
        mode=row.mode,
        region=row.region,
        rules_version=row.rules_version,
        seed=seed_from_db(row.seed),
        state=row.state,
        created=row.created,
        ended=row.ended,
        result=row.result,
        purged=row.purged,
        parent_id=row.parent_id,
        round=row.round,
        first_tick=row.first_tick,
    )
