"""The one frozen settings tree, loaded at the edge and passed down in slices.

Sources, lowest precedence first: built-in defaults, a TOML file (``--config`` or
``TILEMUD_CONFIG``), ``TILEMUD_*`` environment variables, then command-line flags.

Environment names are ``TILEMUD_<SECTION>_<FIELD>`` in upper case (``TILEMUD_AUTH_SECRET``,
``TILEMUD_GATEWAY_HELLO_TIMEOUT``), except the ``server`` section whose fields need no
section prefix (``TILEMUD_HOST``, ``TILEMUD_WS_PORT``, ``TILEMUD_HTTP_PORT``,
``TILEMUD_DATA_DIR``). ``docs/operations.md`` lists them all.

Why one module of over 400 lines: every section of the tree and the one strict loader that
reads them are checked together against docs/operations.md.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from attrs import validators as v

from tilemud.errors import ConfigError

_positive = v.gt(0.0)
_port = v.and_(v.ge(0), v.le(65535))


def _dir(value: str | Path) -> Path:
    return Path(value)


def _optional_path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def _origin_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: "https://a.example,https://b.example"
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(o, str) for o in value):
        raise ValueError(f"expected a list of origins, got {value!r}")
    return tuple(value)


def _check_origins(
    _: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    for origin in value:
        if origin == "*":
            continue
        scheme, sep, rest = origin.partition("://")
        host = rest.rsplit(":", 1)[0] if rest.rsplit(":", 1)[-1].isdigit() else rest
        if (
            scheme not in {"http", "https"}
            or not sep
            or not host
            or any(c in rest for c in "/?#@ ")
            or origin != origin.lower()
        ):
            raise ValueError(
                f"{attribute.name}: {origin!r} is not an origin: scheme://host[:port] in lower"
                ' case, no path or trailing slash (or "*")'
            )


@attrs.frozen(kw_only=True)
class ServerSettings:
    """Where the server listens and keeps its files."""

    host: str = "127.0.0.1"
    ws_port: int = attrs.field(default=7350, validator=_port)
    http_port: int = attrs.field(default=7351, validator=_port)
    data_dir: Path = attrs.field(default=Path("tilemud-data"), converter=_dir)
    #: Seconds the whole tree gets to stop after SIGINT/SIGTERM before it is cancelled.
    shutdown_grace: float = attrs.field(default=10.0, validator=_positive)
    #: Seconds an idle HTTP keep-alive connection stays open.
    http_keep_alive_timeout: float = attrs.field(default=5.0, validator=_positive)
    #: Seconds the database gets to answer a ``GET /readyz`` probe before the node counts
    #: as not ready.
    readiness_timeout: float = attrs.field(default=2.0, validator=_positive)
    #: Web origins (``https://game.example.com``) whose pages may call the HTTP API from a
    #: browser (CORS); ``"*"`` allows any (development only). Empty: same origin only.
    cors_origins: tuple[str, ...] = attrs.field(
        default=(), converter=_origin_list, validator=_check_origins
    )
    #: PEM certificate chain and private key: with both, the HTTP port serves ``https://``
    #: (the player port ``wss://``). Both or neither.
    tls_certfile: Path | None = attrs.field(default=None, converter=_optional_path)
    tls_keyfile: Path | None = attrs.field(default=None, converter=_optional_path)

    @property
    def tls(self) -> bool:
        """Both TLS files are given: the listeners serve ``https://`` and ``wss://``."""
        return self.tls_certfile is not None and self.tls_keyfile is not None


def check_tls_files(server: ServerSettings) -> None:
    """Refuse one TLS file without the other, or files that do not make a TLS server.

    Raises:
        ConfigError: naming the setting at fault.
    """
    if (server.tls_certfile is None) != (server.tls_keyfile is None):
        given, missing = (
            ("tls_certfile", "tls_keyfile")
            if server.tls_keyfile is None
            else ("tls_keyfile", "tls_certfile")
        )
        raise ConfigError(
            f"server.{given} is set but server.{missing} is not: give both or neither"
        )
    if server.tls_certfile is None or server.tls_keyfile is None:
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(server.tls_certfile, server.tls_keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"server.tls_certfile {str(server.tls_certfile)!r} and server.tls_keyfile"
            f" {str(server.tls_keyfile)!r} are not a usable certificate and key: {exc}"
        ) from exc


@attrs.frozen(kw_only=True)
class AuthSettings:
    """How player tokens (JWT) are minted and checked."""

    #: Shared secret for HS* algorithms (or the PEM key for RS*/ES*). When unset, a random
    #: secret is created once in ``<data_dir>/jwt-secret`` so tokens survive a restart.
    secret: str | None = attrs.field(default=None, repr=False)
    #: Public key (PEM) for verifying asymmetric algorithms; defaults to ``secret``.
    public_key: str | None = attrs.field(default=None, repr=False)
    issuer: str = "tilemud"
    audience: str = "tilemud-client"
    algorithm: str = "HS256"
    #: Lifetime of a minted token, in seconds.
    token_lifetime: float = attrs.field(default=24 * 3600.0, validator=_positive)
    #: Seconds of clock skew tolerated on ``exp``/``iat``/``nbf``.
    leeway: float = attrs.field(default=0.0, validator=v.ge(0))
    #: ``POST /v1/auth/guest`` mints tokens for anyone: on for development, off in production.
    guest_login: bool = True


@attrs.frozen(kw_only=True)
class GatewaySettings:
    """The player WebSocket gateway."""

    path: str = "/v1/ws"
    #: Seconds a new connection has to send its ``hello``.
    hello_timeout: float = attrs.field(default=5.0, validator=_positive)
    #: Largest accepted client frame, in bytes; larger closes with 1009.
    max_frame_bytes: int = attrs.field(default=64 * 1024, validator=v.ge(256))
    #: Frames that may wait for a slow client before its queue counts as full.
    outbound_queue: int = attrs.field(default=256, validator=v.ge(1))
    #: Seconds a session's outbound queue may stay full before it is disconnected (4008).
    slow_client_timeout: float = attrs.field(default=10.0, validator=_positive)
    #: Seconds the server waits for a client's close handshake on shutdown.
    close_timeout: float = attrs.field(default=2.0, validator=_positive)
    #: Seconds a graceful stop waits for the answers of the critical requests it has read
    #: (and for them to be written) before it closes every connection with 1001.
    drain_timeout: float = attrs.field(default=3.0, validator=_positive)
    #: Seconds a player may take to come back with its ``resume_token`` after a drop.
    reconnect_grace: float = attrs.field(default=120.0, validator=_positive)
    #: High-volume frames kept per session for resends after a reconnect.
    stream_buffer: int = attrs.field(default=1024, validator=v.ge(8))
    #: Sockets open at once, in any state (before, during and after the upgrade, closing);
    #: a connection beyond gets ``server_full`` and close 1013 (try again later).
    max_connections: int = attrs.field(default=10_000, validator=v.ge(1))
    #: The ``retry_after`` of ``server_full``, in seconds.
    full_retry_after: float = attrs.field(default=30.0, validator=_positive)
    #: Origins a browser may connect from (the ``Origin`` header; a client that sends none
    #: is not a browser and is let in). ``"*"`` allows any origin; others get HTTP 403.
    allowed_origins: tuple[str, ...] = attrs.field(
        default=("*",), converter=_origin_list, validator=_check_origins
    )
    #: Connection attempts one address may make per ``connect_window``; beyond, HTTP 429.
    connect_attempts: int = attrs.field(default=600, validator=v.ge(1))
    #: The connection-attempts window, in seconds (sliding).
    connect_window: float = attrs.field(default=10.0, validator=_positive)
    #: Frames per second a connection may send, sustained (every frame counts).
    frame_rate: float = attrs.field(default=50.0, validator=_positive)
    #: Frames a connection may send at once; also the longest run of refused frames
    #: before the connection is closed with 1008.
    frame_burst: int = attrs.field(default=100, validator=v.ge(1))
    #: The kernel's send buffer per player socket (SO_SNDBUF), in bytes; 0 keeps the
    #: system's default. Small values bound the kernel memory of many slow clients.
    send_buffer_bytes: int = attrs.field(default=0, validator=v.ge(0))
    #: Seconds between the read hub's passes (docs/operations.md); negative: no hub.
    read_hub_pause: float = 0.02
    #: Joins worked on at once; later ones wait in line, refused ``overloaded`` after 5 s
    #: (bounds the memory a burst of joins holds; docs/performance.md).
    joins_at_once: int = attrs.field(default=32, validator=v.ge(1))


def _regions(value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: "eu,us,asia"
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(r, str) for r in value):
        raise ValueError(f"regions must be a list of names, got {value!r}")
    return tuple(value)


def _name_list(value: object, _: object) -> tuple[str, ...]:
    """A TOML list of names; a bare string is refused rather than split."""
    if isinstance(value, str):
        raise ValueError(f"expected a list of names, got the string {value!r}")
    return _regions(value)


def _check_regions(
    _: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if not value:
        raise ValueError("at least one region is needed")
    for region in value:
        if (
            not region
            or len(region) > 32
            or not all(c.islower() or c.isdigit() or c == "-" for c in region)
        ):
            raise ValueError(f"region {region!r}: 1-32 lowercase letters, digits and '-'")


@attrs.frozen(kw_only=True)
class WorldSettings:
    """Arenas, battles and matchmaking."""

    #: Regions players may ask for; matchmaking goes Mode -> Region -> Load.
    regions: tuple[str, ...] = attrs.field(
        default=("eu", "us", "asia"), converter=_regions, validator=_check_regions
    )
    #: Messages that may wait in one arena's mailbox before senders wait (backpressure).
    arena_mailbox: int = attrs.field(default=1024, validator=v.ge(1))
    #: Arenas and battles that may run at once on this node.
    max_arenas: int = attrs.field(default=1000, validator=v.ge(1))
    #: Ticks per round of an epic arena (its rule config's ``round_ticks``; 3000 is 5 min
    #: at 10 Hz); 0 plays one endless round, as before rounds existed.
    arena_round_ticks: int = attrs.field(default=3000, validator=v.ge(0))
    #: NPCs an epic arena runs at most (its rule config's ``npc_cap``); 0 runs none.
    arena_npc_cap: int = attrs.field(default=100, validator=v.and_(v.ge(0), v.le(10_000)))


@attrs.frozen(kw_only=True)
class LimitSettings:
    """Rate limits: over a limit a request is refused, the connection stays.

    Per player (actions, chat) and per client address (guest logins).
    """

    #: Game actions (join, leave, place) per window.
    actions: int = attrs.field(default=60, validator=v.ge(1))
    #: The actions window, in seconds (sliding).
    actions_window: float = attrs.field(default=10.0, validator=_positive)
    #: Chat messages (channel messages and direct messages) per window.
    chat: int = attrs.field(default=20, validator=v.ge(1))
    #: The chat window, in seconds (sliding).
    chat_window: float = attrs.field(default=10.0, validator=_positive)
    #: ``POST /v1/auth/guest`` requests per client address (IPv6: per /64) per window;
    #: more answer 429 ``rate_limited``. 0 switches the limit off (load tests only).
    guest_logins: int = attrs.field(default=20, validator=v.ge(0))
    #: The guest login window, in seconds (sliding).
    guest_logins_window: float = attrs.field(default=60.0, validator=_positive)
    #: Player ``report`` requests per player per window; more answer ``rate_limited``.
    reports: int = attrs.field(default=5, validator=v.ge(1))
    #: The report window, in seconds (sliding).
    reports_window: float = attrs.field(default=600.0, validator=_positive)
    #: ``POST /v1/admin/sign-in`` attempts per client address (IPv6: per /64) per window;
    #: more answer 429 ``rate_limited``. argon2 is slow on purpose: this bounds the CPU a
    #: guesser can take, and the guesses.
    admin_sign_ins: int = attrs.field(default=10, validator=v.ge(1))
    #: The admin sign-in window, in seconds (sliding).
    admin_sign_ins_window: float = attrs.field(default=60.0, validator=_positive)
    #: In a cluster: whether the game actions limit is counted in Redis (shared by every
    #: node) or by each node alone, the default: a placement happens only on its arena's
    #: node, whose window outlives the player's moves, and a shared check costs ~0.25 ms
    #: of a core (docs/performance.md). Chat, reports, guest logins and admin sign-ins
    #: are always shared in a cluster.
    shared_actions: bool = False


@attrs.frozen(kw_only=True)
class LogSettings:
    """Structured logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: ``json``: one object a line; ``console``: readable; ``auto``: console on a terminal.
    format: Literal["auto", "json", "console"] = "auto"


@attrs.frozen(kw_only=True)
class DatabaseSettings:
    """The durable store and the storage actor that owns it (``tilemud.storage``)."""

    #: SQLAlchemy URL: ``postgresql+psycopg://user:pass@host/db``. Unset: the embedded
    #: SQLite file ``<data_dir>/tilemud.sqlite3``.
    url: str | None = attrs.field(default=None, repr=False)
    #: Longest one statement may run on PostgreSQL (``SET LOCAL statement_timeout``), in ms.
    statement_timeout_ms: int = attrs.field(default=5000, validator=v.ge(1))
    #: Seconds to wait for a new database connection before it counts as unavailable.
    connect_timeout: float = attrs.field(default=5.0, validator=_positive)
    #: Database threads (and pooled connections) at once on PostgreSQL; SQLite uses one.
    threads: int = attrs.field(default=4, validator=v.and_(v.ge(1), v.le(64)))
    #: Requests that may wait in the storage actor's mailbox before callers wait.
    mailbox: int = attrs.field(default=256, validator=v.ge(1))
    #: Seconds buffered placements and checksums may wait before they are written.
    flush_interval: float = attrs.field(default=0.2, validator=_positive)
    #: Buffered rows that trigger a write at once; also the most rows one batch writes.
    flush_rows: int = attrs.field(default=1000, validator=v.ge(1))
    #: Most rows the write-behind buffer holds; beyond, new rows are refused and counted.
    buffer_rows: int = attrs.field(default=100_000, validator=v.ge(1))
    #: Longest pause, in seconds, between retries of a write while the database is down.
    retry_max: float = attrs.field(default=5.0, validator=_positive)
    #: False runs without a database: nothing is stored or recovered (benchmarks, tests).
    durable: bool = True
    #: Ticks between two board snapshots of an arena (recovery replays the log after one).
    snapshot_ticks: int = attrs.field(default=600, validator=v.ge(1))
    #: Seconds an ended arena's replay is kept before it is purged (default 7 days).
    replay_retention: float = attrs.field(default=7 * 24 * 3600.0, validator=_positive)
    #: Seconds between two runs of the replay purge.
    purge_interval: float = attrs.field(default=3600.0, validator=_positive)


@attrs.frozen(kw_only=True)
class SocialSettings:
    """Guilds, parties and chat (docs/social.md)."""

    #: Most members a guild may have (leader included).
    guild_member_cap: int = attrs.field(default=50, validator=v.ge(2))
    #: Most members a party may have (leader included).
    party_cap: int = attrs.field(default=8, validator=v.and_(v.ge(2), v.le(64)))
    #: Longest chat or direct message, in characters (after trimming).
    message_max_chars: int = attrs.field(default=500, validator=v.and_(v.ge(1), v.le(4000)))
    #: Messages a player gets as history when joining a channel (or asking for it).
    history_messages: int = attrs.field(default=50, validator=v.and_(v.ge(0), v.le(500)))
    #: Seconds messages of each channel type are kept.
    retention_global: float = attrs.field(default=24 * 3600.0, validator=_positive)
    retention_region: float = attrs.field(default=24 * 3600.0, validator=_positive)
    retention_arena: float = attrs.field(default=24 * 3600.0, validator=_positive)
    retention_party: float = attrs.field(default=24 * 3600.0, validator=_positive)
    retention_guild: float = attrs.field(default=30 * 24 * 3600.0, validator=_positive)
    retention_direct: float = attrs.field(default=30 * 24 * 3600.0, validator=_positive)
    #: Seconds between two runs of the chat purge.
    purge_interval: float = attrs.field(default=3600.0, validator=_positive)


@attrs.frozen(kw_only=True)
class NpcSettings:
    """NPCs (computer players) and the elasticity supervisor that sheds them (docs/game.md)."""

    #: False runs no NPC in any arena (whatever the rules' ``npc_cap``).
    enabled: bool = True
    #: Placements one NPC may make per window (its own budget, not the players' limits).
    actions: int = attrs.field(default=4, validator=v.ge(1))
    #: The NPC budget's window, in seconds of arena ticks (sliding).
    actions_window: float = attrs.field(default=1.0, validator=_positive)
    #: Seconds of one elasticity window (CPU and memory are sampled once per window).
    window: float = attrs.field(default=10.0, validator=_positive)
    #: CPU share (of one core, 0..1) over which a window counts as over.
    cpu_over: float = attrs.field(default=0.75, validator=v.and_(v.gt(0.0), v.le(1.0)))
    #: Memory share (RSS / memory available, 0..1) over which a window counts as over.
    memory_over: float = attrs.field(default=0.70, validator=v.and_(v.gt(0.0), v.le(1.0)))
    #: A window counts as under when CPU is below this share and memory below ``memory_under``.
    cpu_under: float = attrs.field(default=0.50, validator=v.and_(v.ge(0.0), v.le(1.0)))
    #: See ``cpu_under``.
    memory_under: float = attrs.field(default=0.55, validator=v.and_(v.ge(0.0), v.le(1.0)))
    #: Consecutive windows over that shed one step of NPC capacity.
    windows_over: int = attrs.field(default=3, validator=v.ge(1))
    #: Consecutive windows under that restore one step.
    windows_under: int = attrs.field(default=6, validator=v.ge(1))
    #: One step, in per cent of each arena's static NPC cap.
    step_percent: int = attrs.field(default=25, validator=v.and_(v.ge(1), v.le(100)))


@attrs.frozen(kw_only=True)
class RedisSettings:
    """The Redis server the nodes of a cluster share (``tilemud.cluster``, docs/operations.md).

    Unset ``url``: one node, everything in process (the embedded default).
    """

    #: ``redis://host:port/db`` (``rediss://`` for TLS). Set: this node joins the cluster of
    #: every node with the same URL and ``key_prefix``.
    url: str | None = attrs.field(default=None, repr=False)
    #: Every key and pub/sub channel this cluster uses starts with ``<key_prefix>:``, so that
    #: several clusters (or test runs) can share one Redis.
    key_prefix: str = attrs.field(default="tilemud", validator=v.min_len(1))
    #: Seconds to wait for a connection to Redis before it counts as unavailable.
    connect_timeout: float = attrs.field(default=2.0, validator=_positive)
    #: Seconds one Redis command may take before it counts as unavailable.
    command_timeout: float = attrs.field(default=2.0, validator=_positive)
    #: Seconds a client is told to wait (``retry_after``) when a request needs Redis and
    #: Redis is unavailable.
    retry_after: float = attrs.field(default=5.0, validator=_positive)


@attrs.frozen(kw_only=True)
class ClusterSettings:
    """This node's place in a cluster (used only when ``redis.url`` is set)."""

    #: This node's name in the cluster; empty: ``<hostname>-<pid>-<random>`` at start.
    node_id: str = ""
    #: Seconds between two heartbeats of this node (and renewals of its arenas' leases).
    heartbeat_interval: float = attrs.field(default=2.0, validator=_positive)
    #: Seconds without a heartbeat after which a node (and its arenas' leases) counts as dead.
    node_ttl: float = attrs.field(default=10.0, validator=_positive)
    #: The players' WebSocket URL of this node as other nodes tell it (discovery,
    #: ``elsewhere``); empty: the bound address (``ws://<server.host>:<port><path>``).
    public_ws_url: str = ""
    #: The base URL of this node's HTTP API as discovery tells it; empty: the bound address.
    public_http_url: str = ""
    #: Seconds a drain may take to hand its arenas over before the node stops anyway.
    drain_timeout: float = attrs.field(default=30.0, validator=_positive)


@attrs.frozen(kw_only=True)
class Settings:
    """The whole settings tree."""

    server: ServerSettings = ServerSettings()
    auth: AuthSettings = AuthSettings()
    gateway: GatewaySettings = GatewaySettings()
    world: WorldSettings = WorldSettings()
    limits: LimitSettings = LimitSettings()
    log: LogSettings = LogSettings()
    database: DatabaseSettings = DatabaseSettings()
    social: SocialSettings = SocialSettings()
    npcs: NpcSettings = NpcSettings()
    redis: RedisSettings = RedisSettings()
    cluster: ClusterSettings = ClusterSettings()


_SECTIONS: dict[str, type[Any]] = {
    "server": ServerSettings,
    "auth": AuthSettings,
    "gateway": GatewaySettings,
    "world": WorldSettings,
    "limits": LimitSettings,
    "log": LogSettings,
    "database": DatabaseSettings,
    "social": SocialSettings,
    "npcs": NpcSettings,
    "redis": RedisSettings,
    "cluster": ClusterSettings,
}

_T = TypeVar("_T")


def env_name(section: str, field: str) -> str:
    """The environment variable that sets ``section.field``."""
    if section == "server":
        return f"TILEMUD_{field}".upper()
    return f"TILEMUD_{section}_{field}".upper()


def _env_values(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for section, cls in _SECTIONS.items():
        for field in attrs.fields(cls):
            name = env_name(section, field.name)
            if name in env:
                found.setdefault(section, {})[field.name] = env[name]
    return found


def _text_converter() -> cattrs.Converter:
    """Structures strings from the environment or flags: "7350" -> 7350, "false" -> False."""
    conv = cattrs.Converter(forbid_extra_keys=True)

    def to_bool(value: object, _: type) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"not a boolean: {value!r}")

    conv.register_structure_hook(bool, to_bool)
    conv.register_structure_hook(Path, lambda value, _: Path(value))
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], lambda v, _: _regions(v))
    return conv


def _file_converter() -> cattrs.Converter:
    """Structures TOML: unknown keys and wrong types are errors, not silently coerced."""
    conv = cattrs.Converter(forbid_extra_keys=True)

    def exact(kind: type[_T]) -> Any:
        def check(value: object, _: type) -> _T:
            # bool is an int in Python; a TOML `true` must not pass as a port number.
            if isinstance(value, bool) and kind is not bool:
                raise ValueError(f"expected {kind.__name__}, got a boolean")
            if kind is float and isinstance(value, int):
                return float(value)  # type: ignore[return-value]
            if not isinstance(value, kind):
                raise ValueError(f"expected {kind.__name__}, got {type(value).__name__}")
            return value

        return check

    for kind in (bool, int, float, str):
        conv.register_structure_hook(kind, exact(kind))
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _name_list)
    conv.register_structure_hook(Path, lambda value, _: Path(exact(str)(value, str)))
    return conv


def load_settings(
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Build the settings tree from its sources.

    Args:
        config_file: a TOML file with ``[server]``, ``[auth]``, ``[gateway]``, ``[log]``
            tables; when None, ``TILEMUD_CONFIG`` in ``env`` names one, if set.
        env: the environment to read ``TILEMUD_*`` from (defaults to ``os.environ``).
        overrides: values from command-line flags, by section and field.

    Raises:
        ConfigError: a source is unreadable, names an unknown setting, or a value is invalid.
    """
    env = os.environ if env is None else env
    if config_file is None and env.get("TILEMUD_CONFIG"):
        config_file = Path(env["TILEMUD_CONFIG"])

    file_layer: dict[str, Any] = {}
    if config_file is not None:
        try:
            file_layer = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
        unknown = set(file_layer) - set(_SECTIONS)
        if unknown:
            raise ConfigError(f"{config_file}: unknown sections {sorted(unknown)}")

    text_layer: dict[str, dict[str, str]] = _env_values(env)
    for section, values in (overrides or {}).items():
        text_layer.setdefault(section, {}).update({k: str(x) for k, x in values.items()})

    sections: dict[str, Any] = {}
    file_conv, text_conv = _file_converter(), _text_converter()
    for name, cls in _SECTIONS.items():
        # Each layer is checked with its own strictness, then the checked values are merged.
        from_text = text_layer.get(name, {})
        try:
            checked_file = file_conv.structure(file_layer.get(name, {}), cls)
            checked_text = text_conv.structure(from_text, cls)
        except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
            raise ConfigError(f"invalid [{name}] settings: {_describe(exc)}") from exc
        merged = attrs.asdict(checked_file, recurse=False)
        merged.update({k: getattr(checked_text, k) for k in from_text})
        sections[name] = cls(**merged)
    # Checked once the layers are merged: the two files may come from different sources.
    check_tls_files(sections["server"])
    return Settings(**sections)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        leaves = [e for e in _leaves(exc) if not isinstance(e, KeyError)]
        return "; ".join(cattrs.transform_error(exc) + [str(e) for e in leaves if str(e)])
    return str(exc)


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def ensure_secret(settings: Settings) -> Settings:
    """Return settings whose auth secret is set, creating ``<data_dir>/jwt-secret`` if needed.

    A development server on defaults then keeps its players' tokens valid across restarts
    without anyone choosing a secret. Production sets ``TILEMUD_AUTH_SECRET``.
    """
    if settings.auth.secret is not None:
        return settings
    path = settings.server.data_dir / "jwt-secret"
    try:
        secret = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        # Create with 0600 so no other local user can read the signing key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secret + "\n")
    return attrs.evolve(settings, auth=attrs.evolve(settings.auth, secret=secret))
