"""The log's hot INSERTs (``append_placements``, ``record_tick_checksums``: SQL fixed once,
rows handed to the driver) store exactly what SQLAlchemy Core's ``insert()`` constructs
stored before them, on SQLite and on PostgreSQL (the ``db`` fixture's two params).

Each case writes the same batches twice, into two arenas: once through the repository
functions, once through the reference (the construct the repositories used to build), and
compares the outcomes: the rows stored, or the error raised.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import attrs
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.storage.test_repositories import new_arena
from tilemud.storage import (
    Database,
    PlacementRecord,
    RecordRejected,
    TickChecksum,
    append_placements,
    load_placements,
    load_tick_checksums,
    record_tick_checksums,
)
from tilemud.storage import tables as t
from tilemud.storage._log_insert import LogInsert
from tilemud.storage._sql import insert

LogRow: TypeAlias = PlacementRecord | TickChecksum
#: What writing a case gave: the rows stored (arena ids left out), or the error's type.
Outcome: TypeAlias = tuple[tuple[Any, ...], ...] | type[BaseException]


def reference_insert(conn: Connection, table: sa.Table, rows: Sequence[LogRow]) -> int:
    """How the repositories wrote the log before issue 13."""
    if not rows:
        return 0
    stmt = insert(conn, table).on_conflict_do_nothing(index_elements=list(table.primary_key))
    conn.execute(stmt, [attrs.asdict(row) for row in rows])
    return len(rows)


def placement(tick: int, ordinal: int, **changes: Any) -> PlacementRecord:
    row = PlacementRecord(
        arena_id="",
        tick=tick,
        ordinal=ordinal,
        player_id=f"p{ordinal}",
        x=ordinal,
        y=tick % 7,
        kind="stone",
        rid=f"r{tick}.{ordinal}",
    )
    return attrs.evolve(row, **changes)


def stored(db: Database, arena_id: str) -> tuple[tuple[Any, ...], ...]:
    with db.transaction() as conn:
        placements = load_placements(conn, arena_id)
        checksums = load_tick_checksums(conn, arena_id)
    rows: list[LogRow] = [*placements, *checksums]
    return tuple(attrs.astuple(attrs.evolve(row, arena_id="")) for row in rows)


def outcome(
    db: Database,
    arena_id: str,
    batches: Sequence[Sequence[LogRow]],
    write: Callable[[Sequence[LogRow], Connection], None],
) -> Outcome:
    """Write each batch in a transaction of its own, into ``arena_id``."""
    new_arena(db, arena_id)
    for batch in batches:
        rows = [attrs.evolve(row, arena_id=arena_id) for row in batch]
        try:
            db.run(functools.partial(write, rows))
        except Exception as exc:
            return type(exc)
    return stored(db, arena_id)


def through_repositories(rows: Sequence[LogRow], conn: Connection) -> None:
    append_placements(conn, [r for r in rows if isinstance(r, PlacementRecord)])
    record_tick_checksums(conn, [r for r in rows if isinstance(r, TickChecksum)])


def through_constructs(rows: Sequence[LogRow], conn: Connection) -> None:
    reference_insert(conn, t.placements, [r for r in rows if isinstance(r, PlacementRecord)])
    reference_insert(conn, t.tick_checksums, [r for r in rows if isinstance(r, TickChecksum)])


def checksum(tick: int, value: str) -> TickChecksum:
    return TickChecksum(arena_id="", tick=tick, checksum=value)


CASES: dict[str, list[list[LogRow]]] = {
    "a batch of epic-300's shape": [
        [*(placement(1, i) for i in range(60)), checksum(1, "c1")],
        [*(placement(2, i) for i in range(60)), checksum(2, "c2")],
    ],
    "a batch written again adds nothing": [
        [placement(1, 0), placement(1, 1), checksum(1, "c1")],
        [placement(1, 0), placement(1, 1), checksum(1, "c1")],
    ],
    "a conflicting row keeps the first": [
        [placement(3, 0), checksum(3, "first")],
        [placement(3, 0, player_id="intruder", x=9, kind="wood"), checksum(3, "second")],
    ],
    "within one batch the earlier row of a key wins": [
        [placement(4, 0), placement(4, 0, player_id="later", rid=None), placement(4, 1)],
        [checksum(4, "early"), checksum(4, "late")],
    ],
    "no rid, unicode and quotes round-trip": [
        [placement(5, 0, rid=None, player_id="joueur-é✓", kind='it\'s "stone"\\')],
    ],
    "the largest tick BIGINT holds": [[placement(2**63 - 1, 0), checksum(2**63 - 1, "max")]],
    "empty batches": [[], []],
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_log_stores_what_the_insert_constructs_stored(db: Database, case: str) -> None:
    batches = CASES[case]
    expected = outcome(db, "by-constructs", batches, through_constructs)
    assert outcome(db, "by-driver", batches, through_repositories) == expected
    assert isinstance(expected, tuple)


def test_the_first_row_of_a_key_is_kept_whatever_comes_later(db: Database) -> None:
    new_arena(db, "a1")
    first = placement(1, 0, arena_id="a1")
    with db.transaction() as conn:
        assert append_placements(conn, [first, attrs.evolve(first, x=5)]) == 2
        assert record_tick_checksums(conn, [TickChecksum(arena_id="a1", tick=1, checksum="c")]) == 1
    with db.transaction() as conn:
        append_placements(
            conn, [attrs.evolve(first, player_id="p9"), placement(1, 1, arena_id="a1")]
        )
        record_tick_checksums(conn, [TickChecksum(arena_id="a1", tick=1, checksum="other")])
    with db.transaction() as conn:
        assert load_placements(conn, "a1") == (first, placement(1, 1, arena_id="a1"))
        assert [c.checksum for c in load_tick_checksums(conn, "a1")] == ["c"]


REFUSED: dict[str, list[list[LogRow]]] = {
    "a tick beyond BIGINT": [[placement(2**63, 0)]],
    "a checksum's tick beyond 64 bits": [[checksum(2**64, "huge")]],
    "a rid longer than its column": [[placement(1, 0, rid="r" * 200)]],
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_value_that_does_not_fit_is_refused_as_before(db: Database, case: str) -> None:
    batches = REFUSED[case]
    expected = outcome(db, "by-constructs", batches, through_constructs)
    got = outcome(db, "by-driver", batches, through_repositories)
    if db.backend == "postgresql":
        # Typed as the storage actor counts it: rejected, not a crash.
        assert (expected, got) == (RecordRejected, RecordRejected)
    else:
        # SQLite keeps long text (no length check) and the driver itself refuses an integer
        # beyond 64 bits (OverflowError): the same either way.
        assert got == expected


def test_rows_of_an_unknown_arena_are_rejected(db: Database) -> None:
    with pytest.raises(RecordRejected):
        db.run(lambda conn: append_placements(conn, [placement(1, 0, arena_id="nowhere")]))
    with pytest.raises(RecordRejected):
        db.run(lambda conn: record_tick_checksums(conn, [checksum(1, "c")]))


def test_only_string_and_integer_columns_are_taken() -> None:
    with pytest.raises(TypeError, match="only string and integer"):
        LogInsert.of(t.arena_players, _Participant)
    with pytest.raises(TypeError, match="no attribute"):
        LogInsert.of(t.tick_checksums, _Participant)


@attrs.frozen
class _Participant:
    arena_id: str
    player_id: str
    joined: dt.datetime
