"""What one load test does: the frozen options, checked before a single byte is sent.

A :class:`LoadConfig` round-trips through a JSON-friendly dict (``to_dict`` /
``from_dict``): the coordinator hands it to its worker processes that way.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final, Literal, TypeAlias
from urllib.parse import urlsplit

import attrs

from tilemud.errors import ConfigError

Mode: TypeAlias = Literal["battle", "arena"]

#: The server's default action limit (``limits.actions`` per ``limits.actions_window``):
#: 60 per 10 s. A bot above it mostly measures ``rate_limited`` refusals.
SERVER_ACTION_RATE: Final = 6.0
#: The most bots one load test may run (the run stays bounded in connections).
MAX_PLAYERS: Final = 5000
#: The longest run, in seconds (the run stays bounded in time).
MAX_DURATION: Final = 3600.0


class TargetRefused(ConfigError):
    """A URL is not on this machine and ``--allow-remote`` was not given."""


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address literal (no DNS lookup)."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_url(name: str, url: str, schemes: tuple[str, ...], allow_remote: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ConfigError(f"{name} must be a {' or '.join(schemes)} URL, not {url!r}")
    if not parts.hostname:
        raise ConfigError(f"{name} has no host: {url!r}")
    if not allow_remote and not is_loopback_host(parts.hostname):
        raise TargetRefused(
            f"{name} {url!r} is not a loopback address (127.0.0.0/8, ::1, localhost);"
            " pass --allow-remote to load a server elsewhere"
        )


@attrs.frozen(kw_only=True)
class LoadConfig:
    """One load test.

    Attributes:
        http_url: the server's HTTP API, for the guest login and ``/metrics``.
        ws_url: the player gateway (``ws://host:port/v1/ws``).
        players: bots to run.
        mode: ``arena`` (the region's epic arena) or ``battle`` (small instances).
        region: the region every bot joins.
        duration: seconds from the first bot's start until every bot stops placing.
        actions_per_second: placements per second per bot.
        ramp: seconds over which the bots' starts are spread (0: all at once).
        processes: client processes the bots are spread over (1: this process).
        seed: makes the bots' choices (cells, phases) repeatable.
        reconnect_at: seconds after the start at which every bot drops its connection and
            resumes its session; None for no reconnect storm.
        ack_every: a bot acknowledges its stream after this many frames (1: every frame)
            and at least once a second.
        drain: seconds the bots wait, after ``duration``, for answers still in flight.
        strict_decode: decode ``tick`` frames with the strict decoder too (costs the
            clients about 15 times the CPU per tick frame; see ``_client``).
        allow_remote: permit URLs that are not on this machine.
        exceed_rate_limit: permit ``actions_per_second`` above the server's default limit.
        scenario: a name for the report (the benchmark scenario, or ``custom``).
        report_every: cut the report into windows of this many seconds (acceptance,
            broadcast p95, tick p99, server RSS, rounds per window); None: no windows.
        discover: a cluster: each bot asks ``GET /v1/discovery`` on ``http_url`` which
            node to connect to (``ws_url`` is then unused), and asks again after a
            ``join`` answered ``elsewhere`` or a lost connection.
    """

    http_url: str = "http://127.0.0.1:7351"
    ws_url: str = "ws://127.0.0.1:7350/v1/ws"
    players: int = 20
    mode: Mode = "arena"
    region: str = "eu"
    duration: float = 30.0
    actions_per_second: float = 2.0
    ramp: float = 0.0
    processes: int = 1
    seed: int = 1
    reconnect_at: float | None = None
    ack_every: int = 1
    drain: float = 3.0
    strict_decode: bool = False
    allow_remote: bool = False
    exceed_rate_limit: bool = False
    scenario: str = "custom"
    report_every: int | None = None
    discover: bool = False

    def check(self) -> None:
        """Refuse options that would make a meaningless, unbounded or misdirected run.

        Raises:
            TargetRefused: a URL is not on this machine and ``allow_remote`` is false.
            ConfigError: any other bad option.
        """
        _check_url("--http-url", self.http_url, ("http", "https"), self.allow_remote)
        _check_url("--ws-url", self.ws_url, ("ws",), self.allow_remote)
        if not 1 <= self.players <= MAX_PLAYERS:
            raise ConfigError(f"--players must be 1..{MAX_PLAYERS}, not {self.players}")
        if self.mode not in ("battle", "arena"):
            raise ConfigError(f"--mode must be battle or arena, not {self.mode!r}")
        if not 0 < self.duration <= MAX_DURATION:
            raise ConfigError(f"--duration must be in (0, {MAX_DURATION:g}] seconds")
        if not 0 <= self.actions_per_second <= 1000:
            raise ConfigError("--actions-per-second must be 0..1000")
        if self.actions_per_second > SERVER_ACTION_RATE and not self.exceed_rate_limit:
            raise ConfigError(
                f"--actions-per-second {self.actions_per_second:g} is above the server's"
                f" default limit ({SERVER_ACTION_RATE:g}/s: 60 actions per 10 s); most"
                " placements would be refused with rate_limited. Pass --exceed-rate-limit"
                " to measure that on purpose"
            )
        if not 0 <= self.ramp <= self.duration:
            raise ConfigError("--ramp must be between 0 and --duration")
        if not 1 <= self.processes <= 64:
            raise ConfigError("--processes must be 1..64")
        if self.reconnect_at is not None and not 0 < self.reconnect_at < self.duration:
            raise ConfigError("--reconnect-storm must be within (0, --duration) seconds")
        if self.ack_every < 1:
            raise ConfigError("--ack-every must be at least 1")
        if not 0 <= self.drain <= 60:
            raise ConfigError("--drain must be 0..60 seconds")
        if self.report_every is not None and not 5 <= self.report_every <= 3600:
            raise ConfigError("--report-every must be 5..3600 seconds")

    @property
    def hard_limit(self) -> float:
        """Seconds after the start by which every bot is gone, whatever happens."""
        return self.duration + self.drain + 30.0

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON-friendly values."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadConfig:
        """The inverse of :meth:`to_dict`."""
        return cls(**data)
