"""The hot INSERTs of an arena's log, with their SQL fixed once and run by the driver.

The write-behind commits about ten batches a second at epic-300, each 60 placements and a
tick checksum. Built as SQLAlchemy ``insert()`` constructs, every batch paid for the
construct, its cache key, a dict per row and SQLAlchemy's per-row parameter processing:
more of the server's CPU than the database's own work (benchmarks/write_behind_batch.py).
Here each statement's SQL is made when the module loads, rows become tuples in C
(``operator.attrgetter``), and they go through ``Connection.exec_driver_sql``, which
keeps SQLAlchemy's error wrapping (``Database.run`` still turns a refused row into
``RecordRejected``) and its transaction.

- SQLite: one INSERT per row through sqlite3's ``executemany`` (a loop in C).
- PostgreSQL: psycopg's ``executemany`` spends ~18 µs of Python per row, so the batch goes
  as one JSON array (serialised by orjson, in C) into one statement that unpacks it with
  ``json_array_elements``: one round trip, one fixed text psycopg prepares.

Both skip a row whose primary key is already stored (``ON CONFLICT (key) DO NOTHING``), and
within one batch the earlier of two rows with the same key is the one kept, as the
row-by-row inserts before did (``json_array_elements`` yields the rows in array order).
Only string and integer columns are supported: their values pass unconverted on both
drivers, exactly as SQLAlchemy passed them (its types have no bind processing for them).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tilemud.storage._errors import RecordRejected


@attrs.frozen
class LogInsert:
    """An INSERT of log rows that ignores rows already stored, for one table.

    Attributes:
        table: the table's name.
        sqlite_sql: the SQLite statement, one row of ``?`` parameters.
        postgresql_sql: the PostgreSQL statement, one ``%s`` parameter: the rows as JSON.
        row_values: a record's values in the statement's column order.
    """

    table: str
    sqlite_sql: str
    postgresql_sql: str
    row_values: Callable[[Any], tuple[Any, ...]]

    @classmethod
    def of(cls, table: sa.Table, record: type) -> LogInsert:
        """The statement for ``table``, whose rows are ``record`` objects (attrs classes
        with an attribute per column, of the same name).

        Raises:
            TypeError: ``record`` lacks a column's attribute, or a column is neither a
                string nor an integer.
        """
        columns = list(table.columns)
        fields = attrs.fields_dict(record)
        missing = [c.name for c in columns if c.name not in fields]
        if missing:
            raise TypeError(f"{record.__name__} has no attribute for {table.name}.{missing}")
        values = [_from_json_text(column, f"r->>{i}") for i, column in enumerate(columns)]
        names = ", ".join(c.name for c in columns)
        key = ", ".join(c.name for c in table.primary_key.columns)
        ignore_repeats = f"ON CONFLICT ({key}) DO NOTHING"
        placeholders = ", ".join("?" for _ in columns)
        return cls(
            table=table.name,
            sqlite_sql=f"INSERT INTO {table.name} ({names}) VALUES ({placeholders}) "
            + ignore_repeats,
            postgresql_sql=f"INSERT INTO {table.name} ({names}) SELECT {', '.join(values)}"
            f" FROM json_array_elements(%s::json) AS r {ignore_repeats}",
            row_values=_getter([c.name for c in columns]),
        )

    def run(self, conn: Connection, rows: Sequence[Any]) -> int:
        """Insert ``rows`` in the connection's transaction, skipping stored keys.

        Returns:
            How many rows were given.

        Raises:
            RecordRejected: a value cannot be stored (PostgreSQL: an integer JSON cannot
                carry; the database's own refusals come through ``Database.run``).
        """
        if not rows:
            return 0
        values = list(map(self.row_values, rows))
        if conn.dialect.name == "postgresql":
            try:
                batch = orjson.dumps(values).decode()
            except orjson.JSONEncodeError as exc:
                raise RecordRejected(f"a row of {self.table} cannot be stored: {exc}") from exc
            conn.exec_driver_sql(self.postgresql_sql, (batch,))
        else:
            conn.exec_driver_sql(self.sqlite_sql, values)
        return len(rows)


def _from_json_text(column: sa.Column[Any], text: str) -> str:
    """The SQL of ``column``'s value out of ``text``, a JSON element's text (``->>``).

    Strings are left as text: a cast to ``varchar(n)`` would cut a long value where the
    column's own assignment refuses it (``RecordRejected``, as before).
    """
    if isinstance(column.type, sa.String):
        return text
    if isinstance(column.type, sa.BigInteger):
        return f"({text})::bigint"
    if isinstance(column.type, sa.Integer):
        return f"({text})::integer"
    raise TypeError(f"{column.table.name}.{column.name}: only string and integer columns")


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A record's attributes ``names`` as a tuple (``attrgetter`` of one name returns the
    bare value, so that case is wrapped)."""
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda record: (one(record),)
    return operator.attrgetter(*names)
