"""The accept loop of a listening socket, with a bounded back-off when the node is out of
file descriptors.

``accept()`` fails with EMFILE / ENFILE (and ENOBUFS / ENOMEM) while the process or the
system has no descriptor or buffer left for the next connection. Retrying at once spins;
``trio.serve_listeners`` retries every 0.1 s and logs every attempt, which floods the log
exactly when the node is in trouble. Here the pause doubles from ``backoff_min`` up to
``backoff_max`` and goes back to the minimum after the first success; the condition is
logged once when it starts, then at most once per ``log_every`` seconds with the number of
failed attempts since the last line, and once when accepting works again.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

import trio

log = logging.getLogger("tilemud.gateway")

#: accept() errors that mean "no resources for one more connection right now".
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


async def accept_connections(
    listener: trio.SocketListener,
    on_connection: Callable[[trio.SocketStream], None],
    *,
    backoff_min: float = 0.05,
    backoff_max: float = 1.0,
    log_every: float = 10.0,
) -> None:
    """Accept connections on ``listener`` until cancelled; each goes to ``on_connection``.

    Args:
        listener: the listening socket (closed on the way out).
        on_connection: takes the accepted stream; must not block (start a task).
        backoff_min: first pause after an out-of-resources failure, in seconds.
        backoff_max: longest pause.
        log_every: seconds between two log lines while failures go on.
    """
    pause = backoff_min
    failed_since_log = 0
    failing = False
    logged_at = 0.0
    async with listener:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in OUT_OF_RESOURCES:
                    raise
                failed_since_log += 1
                now = trio.current_time()
                if not failing or now - logged_at >= log_every:
                    log.warning(
                        "cannot accept connections: out of resources; backing off",
                        extra={
                            "errno": errno.errorcode.get(exc.errno or 0, str(exc.errno)),
                            "failures": failed_since_log,
                            "pause": pause,
                        },
                    )
                    logged_at, failed_since_log = now, 0
                failing = True
                await trio.sleep(pause)
                pause = min(backoff_max, pause * 2)
                continue
            if failing:
                log.warning(
                    "accepting connections again",
                    extra={"failures": failed_since_log},
                )
                failing, failed_since_log, pause = False, 0, backoff_min
            on_connection(stream)
