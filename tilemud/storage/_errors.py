"""The storage layer's typed errors: what callers of the storage actor may catch."""

from __future__ import annotations

from typing import Final

from tilemud.errors import TilemudError


class StorageError(TilemudError):
    """Base of every error the storage layer raises on purpose."""

    code = "storage_error"


class StorageUnavailable(StorageError):
    """The database cannot be reached, or did not answer in time: try again later.

    Attributes:
        retry_after: seconds after which a retry is worth it (the storage actor's current
            backoff while the database is down).
    """

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StatementTimeout(StorageUnavailable):
    """A statement ran longer than ``database.statement_timeout_ms`` and was cancelled."""


#: ``RecordNotFound.code`` for an epic arena's own id, whose rounds are its replays.
PLAYED_IN_ROUNDS: Final = "played_in_rounds"


class RecordNotFound(StorageError):
    """The arena, rule config or replay asked for is not stored (or was purged)."""

    code = "not_found"


class RecordRejected(StorageError):
    """The database refused the rows: a constraint failed (an unknown arena or rule config,
    an arena id already used with other values) or a value does not fit its column."""

    code = "rejected"


class SchemaOutOfDate(StorageError):
    """The database's schema is not the one this tilemud needs; the message says the fix."""

    code = "schema_out_of_date"


class RecordConflict(StorageError):
    """A change that contradicts what is stored; ``code`` says how: the rules are a version
    of the mode already (``duplicate_rules``), the version is in force already
    (``already_active``), nothing to roll back to (``nothing_to_roll_back``), the replay's
    arena still runs (``replay_live``)."""

    code = "conflict"
