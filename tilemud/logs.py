"""Structured logging: one JSON object a line, or a readable console format on a terminal.

Fields passed with ``extra={...}`` (``player_id``, ``session_id``, ``supervisor``,
``child`` ...) become keys of the JSON object, so logs can be filtered by them.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

import orjson

from tilemud.config import LogSettings

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


#: The keys a JSON line always has (or may have) with a fixed meaning.
_RESERVED_KEYS = frozenset({"ts", "level", "logger", "msg", "exc", "stack"})


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line.

    The keys ``ts``, ``level``, ``logger``, ``msg`` (and ``exc``, ``stack``) always mean
    what the operations guide says: an ``extra`` field of the same name is kept as
    ``extra_<name>`` instead of replacing them.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in _extra_fields(record).items():
            entry[f"extra_{key}" if key in _RESERVED_KEYS else key] = value
        try:
            return _dumps(entry)
        except TypeError:
            # orjson refuses some values outright (ints beyond 64 bits, tuple dict keys)
            # without asking `default`. A log line must never fail: logging would print a
            # traceback to stderr between the JSON lines. Those values go as their repr.
            return _dumps({k: v if _serialisable(v) else repr(v) for k, v in entry.items()})


def _dumps(value: object) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _serialisable(value: object) -> bool:
    try:
        _dumps(value)
    except TypeError:
        return False
    return True


class ConsoleFormatter(logging.Formatter):
    """A readable line: time, level, logger, message, then key=value extras."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        extras = " ".join(f"{k}={v}" for k, v in _extra_fields(record).items())
        line = f"{stamp}.{int(record.msecs):03d} {record.levelname:<7} {record.name}: "
        line += record.getMessage() + (f"  {extras}" if extras else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def configure_logging(settings: LogSettings, stream: IO[str] | None = None) -> None:
    """Send tilemud's logs to ``stream`` (stderr by default) in the configured format."""
    stream = sys.stderr if stream is None else stream
    use_json = settings.format == "json" or (settings.format == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    # trio-websocket and hypercorn are chatty at DEBUG about every frame.
    for noisy in ("trio-websocket", "hypercorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(settings.level)))
    # Alembic narrates every migration step at INFO; the storage layer logs the outcome.
    quiet = max(logging.WARNING, logging.getLevelName(settings.level))
    logging.getLogger("alembic").setLevel(quiet)
