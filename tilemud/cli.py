"""The ``tilemud`` command: serve, mint tokens, add admin accounts, migrate, check and write
protocol schemas, load test."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import trio

from tilemud import __version__
from tilemud.config import Settings, ensure_secret, load_settings
from tilemud.errors import ConfigError
from tilemud.loadtest import add_loadtest_arguments, run_loadtest_command
from tilemud.logs import configure_logging
from tilemud.supervisors import SupervisorEscalation

log = logging.getLogger("tilemud.cli")

#: Exit status when the command failed at run time (a port in use, an unwritable data dir).
EXIT_FAILURE = 1
#: Exit status for bad settings or arguments, as argparse uses.
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tilemud`` command line; returns the process exit status.

    Bad arguments exit through argparse (``SystemExit(2)``); bad settings return 2 and an
    unusable environment (an unwritable data dir) 1, each with one line on stderr.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(config_file=args.config, overrides=_overrides(args))
        status: int = args.run(args, settings)
    except ConfigError as exc:
        print(f"tilemud: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"tilemud: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tilemud", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tilemud {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--config", type=Path, help="TOML settings file (or TILEMUD_CONFIG)")
        sub.add_argument("--data-dir", help="where the server keeps its files")
        return sub

    serve = with_config(commands.add_parser("serve", help="run the server"))
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--ws-port", type=int, help="player WebSocket port (default 7350)")
    serve.add_argument("--http-port", type=int, help="HTTP API port (default 7351)")
    serve.add_argument("--log-format", choices=["auto", "json", "console"])
    serve.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    serve.set_defaults(run=_serve)

    token = with_config(commands.add_parser("token", help="mint an access token"))
    token.add_argument("--player-id", required=True)
    token.add_argument("--name", required=True)
    token.add_argument("--role", action="append", default=[], help="repeat for several roles")
    token.set_defaults(run=_mint_token)

    migrate = with_config(commands.add_parser("migrate", help="bring the database schema to head"))
    migrate.add_argument(
        "--database-url", help="database to migrate (default TILEMUD_DATABASE_URL, else SQLite)"
    )
    migrate.set_defaults(run=_migrate)

    admin = commands.add_parser("admin", help="manage admin console accounts")
    admin_commands = admin.add_subparsers(required=True, metavar="ACTION")
    add = with_config(admin_commands.add_parser("add", help="create an admin account"))
    add.add_argument("name", help="the account's sign-in name")
    add.add_argument("--role", required=True, choices=["admin", "moderator"])
    add.add_argument(
        "--database-url", help="database to store it in (default TILEMUD_DATABASE_URL, else SQLite)"
    )
    add.set_defaults(run=_add_admin)

    loadtest = commands.add_parser("loadtest", help="drive a running server with bot players")
    add_loadtest_arguments(loadtest)
    loadtest.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    loadtest.set_defaults(run=lambda args, _: run_loadtest_command(args))

    schemas = commands.add_parser("schemas", help="check or rewrite the protocol's JSON Schemas")
    schemas.add_argument("--write", action="store_true", help="rewrite the committed files")
    schemas.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    schemas.set_defaults(run=_schemas)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    flags = {
        "server": {
            "host": getattr(args, "host", None),
            "ws_port": getattr(args, "ws_port", None),
            "http_port": getattr(args, "http_port", None),
            "data_dir": getattr(args, "data_dir", None),
        },
        "log": {
            "format": getattr(args, "log_format", None),
            "level": getattr(args, "log_level", None),
        },
        "database": {"url": getattr(args, "database_url", None)},
    }
    return {s: {k: v for k, v in f.items() if v is not None} for s, f in flags.items()}


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from tilemud.storage import StorageError

    # From here on every failure is reported through the log, so that a JSON log stays
    # one object a line (no bare traceback or text line in between).
    configure_logging(settings.log)
    try:
        settings = ensure_secret(settings)
        return _run_server(settings)
    except StorageError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    except ConfigError as exc:
        # TokenAuthority rejects keys and algorithms that load_settings cannot judge.
        log.error("invalid settings: %s", exc)
        return EXIT_USAGE
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE


def _run_server(settings: Settings) -> int:
    status = 0
    try:
        trio.run(serve_until_signalled, settings)
    except* SupervisorEscalation as group:
        # The supervisors have logged every crash (with its traceback) already; what the
        # operator needs last is one line saying why the server is down.
        for escalation in _leaves(group):
            assert isinstance(escalation, SupervisorEscalation)
            _report_escalation(escalation, settings)
        status = EXIT_FAILURE
    return status


def _report_escalation(escalation: SupervisorEscalation, settings: Settings) -> None:
    causes = _leaves(escalation.__cause__) if escalation.__cause__ is not None else []
    reason = "; ".join(str(cause) or type(cause).__name__ for cause in causes) or str(escalation)
    server = settings.server
    if any(isinstance(c, OSError) and c.errno == errno.EADDRINUSE for c in causes):
        reason += (
            f" (host {server.host}, ws port {server.ws_port}, http port {server.http_port}:"
            " is another server running?)"
        )
    log.error(
        "server gave up: %r kept failing: %s",
        escalation.child,
        reason,
        extra={"supervisor": escalation.supervisor, "child": escalation.child},
    )


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``, with every exception group flattened away."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


async def serve_until_signalled(settings: Settings) -> None:
    """Run the server until SIGINT or SIGTERM, then stop it within the shutdown grace.

    A second signal during the graceful stop cancels whatever is left at once. The node
    holds the live-arena lock of its database (tilemud/storage/ownership.py) from before
    the schema check until it stopped: a second node on the same database refuses to start
    (:class:`~tilemud.storage.ownership.LiveArenasOwned`, exit 1).
    """
    from tilemud.storage import database_url
    from tilemud.storage.ownership import live_arena_lock

    lock = None
    if settings.database.durable:
        # First of all: a node that does not own the live arenas of its database must not
        # migrate it nor bring those arenas back. Held until the process ends.
        url = database_url(settings)
        # In a cluster on PostgreSQL every arena has a lease of its own in Redis instead
        # (tilemud/cluster/leases.py): many nodes share the database.
        clustered = settings.redis.url is not None and not url.startswith("sqlite")
        lock = None if clustered else live_arena_lock(url, settings.database)
        if lock is not None:
            await trio.to_thread.run_sync(lock.acquire)
    try:
        await _serve_owned(settings)
    finally:
        if lock is not None:
            lock.release()


async def _serve_owned(settings: Settings) -> None:
    from tilemud.server import TilemudServer
    from tilemud.storage import check_schema

    server = TilemudServer(settings)
    if settings.database.durable:
        # Before the tree starts, so that a database behind its schema is one clear line
        # (with the command that fixes it), not a supervisor's restarts.
        await trio.to_thread.run_sync(check_schema, settings)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            # Everything built so far (modules, the tree, settings: ~120,000 objects) lives
            # as long as the process: out of the collector's sight, a full collection
            # stops being a ~90 ms stall of every arena's tick (docs/performance.md).
            gc.collect()
            gc.freeze()
            signum = await anext(signals)
            log.info("stopping", extra={"signal": signal.Signals(signum).name})
            server.stop()
            nursery.cancel_scope.deadline = trio.current_time() + settings.server.shutdown_grace
            nursery.start_soon(_cancel_on_second_signal, signals, nursery.cancel_scope)
            await server.stopped.wait()
            nursery.cancel_scope.cancel()
    log.info("stopped")


async def _cancel_on_second_signal(signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
    await anext(signals)
    log.warning("second signal: cancelling the remaining shutdown")
    scope.cancel()


def _mint_token(args: argparse.Namespace, settings: Settings) -> int:
    from tilemud.auth import TokenAuthority

    tokens = TokenAuthority(ensure_secret(settings).auth)
    print(tokens.mint_access(player_id=args.player_id, name=args.name, roles=args.role))
    return 0


def _add_admin(args: argparse.Namespace, settings: Settings) -> int:
    """``tilemud admin add NAME --role R``: the password is prompted for twice on a
    terminal, or read as one line from stdin (scripts, tests)."""
    import datetime as dt

    from tilemud.auth import MIN_PASSWORD_LENGTH, hash_password
    from tilemud.storage import AdminAccount, Database, StorageError, add_admin, check_schema

    name = args.name.strip()
    if not name or len(name) > 64 or not name.isprintable() or " " in name:
        print("tilemud: an admin name is 1-64 printable characters, no spaces", file=sys.stderr)
        return EXIT_USAGE
    password = _read_password()
    if password is None:
        return EXIT_USAGE
    if len(password) < MIN_PASSWORD_LENGTH:
        print(
            f"tilemud: the password must be at least {MIN_PASSWORD_LENGTH} characters",
            file=sys.stderr,
        )
        return EXIT_USAGE
    account = AdminAccount(
        name=name,
        role=args.role,
        password_hash=hash_password(password),
        created=dt.datetime.now(dt.UTC),
    )
    from tilemud.storage import database_url

    database = None
    try:
        check_schema(settings)  # SQLite is brought to head; PostgreSQL must be migrated
        database = Database(database_url(settings), settings.database)
        database.run(lambda conn: add_admin(conn, account))
    except StorageError as exc:
        print(f"tilemud: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        if database is not None:
            database.dispose()
    print(f"admin account {name!r} ({args.role}) created")
    return 0


def _read_password() -> str | None:
    """The new account's password: prompted twice on a terminal, else stdin's first line."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            print("tilemud: the passwords differ", file=sys.stderr)
            return None
        return first
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from tilemud.storage import StorageError, database_url, migrate, redact

    url = database_url(settings)
    try:
        before = migrate.current(url, settings=settings.database)
        migrate.upgrade(url, settings=settings.database)
    except StorageError as exc:
        print(f"tilemud: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    head = migrate.head()
    change = "already at" if before == head else f"{before or 'empty'} ->"
    print(f"{redact(url)}: schema {change} {head}")
    return 0


def _schemas(args: argparse.Namespace, settings: Settings) -> int:
    from tilemud.protocol import SCHEMA_DIR, check_schemas, write_schemas

    if args.write:
        for path in write_schemas(SCHEMA_DIR):
            print(path)
        return 0
    drift = check_schemas(SCHEMA_DIR)
    for name in drift:
        print(f"drifted: {name}", file=sys.stderr)
    return 1 if drift else 0
