"""Structured logging: JSON lines, the console format, and how the format is picked."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tilemud.config import LogSettings
from tilemud.logs import ConsoleFormatter, JsonFormatter, configure_logging


def record(
    msg: str = "player %s joined",
    args: tuple[Any, ...] = ("ada",),
    *,
    level: int = logging.INFO,
    extra: dict[str, Any] | None = None,
    exc: bool = False,
) -> logging.LogRecord:
    """A record as ``logger.log(level, msg, *args, extra=extra)`` would make it."""
    exc_info = None
    if exc:
        try:
            raise ValueError("the board is on fire")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.getLogger("tilemud.test").makeRecord(
        "tilemud.test", level, __file__, 1, msg, args, exc_info, extra=extra
    )


def as_json(line: str) -> dict[str, Any]:
    assert "\n" not in line
    decoded = orjson.loads(line)
    assert isinstance(decoded, dict)
    return decoded


def test_json_line_has_the_documented_keys() -> None:
    entry = as_json(JsonFormatter().format(record(level=logging.WARNING)))
    assert set(entry) == {"ts", "level", "logger", "msg"}
    assert entry["level"] == "warning"
    assert entry["logger"] == "tilemud.test"
    assert entry["msg"] == "player ada joined"
    assert isinstance(entry["ts"], float)


def test_json_extras_become_keys() -> None:
    extra = {"player_id": "p_1", "session_id": "s_2", "close_code": 1001, "path": Path("/x")}
    entry = as_json(JsonFormatter().format(record(extra=extra)))
    assert entry["player_id"] == "p_1"
    assert entry["session_id"] == "s_2"
    assert entry["close_code"] == 1001
    assert entry["path"] == "/x"  # not JSON by itself: written as its text


def test_json_exception_is_one_line_with_the_traceback_under_exc() -> None:
    line = JsonFormatter().format(record(level=logging.ERROR, exc=True))
    entry = as_json(line)
    assert entry["level"] == "error"
    assert "Traceback" in entry["exc"]
    assert "ValueError: the board is on fire" in entry["exc"]


def test_json_multiline_message_stays_on_one_line() -> None:
    entry = as_json(JsonFormatter().format(record("two\nlines", ())))
    assert entry["msg"] == "two\nlines"


def test_json_extras_cannot_replace_the_documented_keys() -> None:
    entry = as_json(JsonFormatter().format(record(extra={"level": 7, "ts": "never"})))
    assert entry["level"] == "info"
    assert isinstance(entry["ts"], float)
    assert entry["extra_level"] == 7
    assert entry["extra_ts"] == "never"


def test_json_values_orjson_refuses_still_make_a_line() -> None:
    extra = {"huge": 2**70, "pairs": {(1, 2): "a"}, "fine": "ok"}
    entry = as_json(JsonFormatter().format(record(extra=extra)))
    assert entry["huge"] == str(2**70)
    assert entry["pairs"] == repr({(1, 2): "a"})
    assert entry["fine"] == "ok"
    assert entry["msg"] == "player ada joined"


def test_console_is_readable_with_key_value_extras() -> None:
    line = ConsoleFormatter().format(record(extra={"player_id": "p_1", "close_code": 1001}))
    assert "INFO" in line
    assert "tilemud.test: player ada joined" in line
    assert line.endswith("player_id=p_1 close_code=1001")
    assert "\n" not in line


def test_console_without_extras_ends_with_the_message() -> None:
    assert ConsoleFormatter().format(record()).endswith("tilemud.test: player ada joined")


def test_console_exception_follows_the_line() -> None:
    first, *rest = ConsoleFormatter().format(record(level=logging.ERROR, exc=True)).splitlines()
    assert "ERROR" in first
    assert "player ada joined" in first
    assert rest[0].startswith("Traceback")
    assert rest[-1] == "ValueError: the board is on fire"


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Put the process-wide logging configuration back after the test changed it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {name: logging.getLogger(name).level for name in ("trio-websocket", "hypercorn.access")}
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        for name, noisy_level in noisy.items():
            logging.getLogger(name).setLevel(noisy_level)


def emit_one(settings: LogSettings, stream: io.StringIO) -> str:
    configure_logging(settings, stream)
    logging.getLogger("tilemud.test").warning("hello", extra={"player_id": "p_1"})
    return stream.getvalue()


@pytest.mark.usefixtures("root_logging")
def test_auto_is_json_when_not_a_terminal() -> None:
    out = emit_one(LogSettings(format="auto"), io.StringIO())
    entry = as_json(out.rstrip("\n"))
    assert (entry["msg"], entry["player_id"]) == ("hello", "p_1")


@pytest.mark.usefixtures("root_logging")
def test_auto_is_console_on_a_terminal() -> None:
    out = emit_one(LogSettings(format="auto"), FakeTerminal())
    assert not out.startswith("{")
    assert "tilemud.test: hello  player_id=p_1" in out


@pytest.mark.usefixtures("root_logging")
@pytest.mark.parametrize(
    ("fmt", "stream", "is_json"),
    [
        ("json", FakeTerminal, True),
        ("console", io.StringIO, False),
    ],
)
def test_an_explicit_format_wins_over_the_stream(
    fmt: Any, stream: type[io.StringIO], is_json: bool
) -> None:
    out = emit_one(LogSettings(format=fmt), stream())
    assert out.startswith("{") is is_json


@pytest.mark.usefixtures("root_logging")
def test_level_filters_and_only_one_handler_remains() -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(format="json", level="WARNING"), io.StringIO())
    configure_logging(LogSettings(format="json", level="WARNING"), stream)
    logger = logging.getLogger("tilemud.test")
    logger.info("not shown")
    logger.warning("shown")
    lines = stream.getvalue().splitlines()
    assert [as_json(line)["msg"] for line in lines] == ["shown"]
    assert len(logging.getLogger().handlers) == 1


@pytest.mark.usefixtures("root_logging")
def test_trio_websocket_frames_stay_quiet_at_debug() -> None:
    stream = io.StringIO()
    configure_logging(LogSettings(format="json", level="DEBUG"), stream)
    logging.getLogger("trio-websocket").debug("frame bytes")
    logging.getLogger("tilemud.test").debug("ours")
    assert [as_json(line)["msg"] for line in stream.getvalue().splitlines()] == ["ours"]
